//! Peak GPU memory for the benchmarks: device-wide memory in use, sampled on a thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tch::Device;

/// Samples device-wide GPU memory in use every `every_ms` until `stop`; returns the peak in
/// bytes (0 on the CPU).
pub fn sampler(
    device: Device,
    stop: Arc<AtomicBool>,
    every_ms: u64,
) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let Device::Cuda(ordinal) = device else { return 0 };
        let Ok(ctx) = meshcast_engine::kernels::cuda_context(ordinal) else { return 0 };
        if ctx.bind_to_thread().is_err() {
            return 0;
        }
        let peak = AtomicUsize::new(0);
        while !stop.load(Ordering::Relaxed) {
            if let Ok((free, total)) = cudarc::driver::result::mem_get_info() {
                peak.fetch_max(total - free, Ordering::Relaxed);
            }
            #[allow(clippy::disallowed_methods)] // a sampling thread outside any async runtime
            std::thread::sleep(std::time::Duration::from_millis(every_ms));
        }
        peak.load(Ordering::Relaxed)
    })
}

/// Device-wide GPU memory in use now, in GiB (0 on the CPU): after a step, what libtorch has
/// reserved so far (its cache keeps freed blocks), so the step where it jumps holds the peak.
#[allow(dead_code)] // not every benchmark reports it
pub fn in_use_gib(device: Device) -> f64 {
    let Device::Cuda(ordinal) = device else { return 0.0 };
    let Ok(ctx) = meshcast_engine::kernels::cuda_context(ordinal) else { return 0.0 };
    if ctx.bind_to_thread().is_err() {
        return 0.0;
    }
    cudarc::driver::result::mem_get_info()
        .map_or(0.0, |(free, total)| (total - free) as f64 / f64::from(1u32 << 30))
}
