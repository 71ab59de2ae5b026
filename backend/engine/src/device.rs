//! What the engine can compute on: the CPU and every CUDA device libtorch sees.

use crate::kernels::KernelRegistry;

/// One compute device as the engine sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceReport {
    /// The tch device (`Cpu` or `Cuda(i)`).
    pub device: tch::Device,
    /// Human name.
    pub name: String,
    /// Total memory in bytes, for GPUs.
    pub memory_bytes: Option<u64>,
    /// Compute capability for GPUs.
    pub compute_capability: Option<(i32, i32)>,
    /// For GPUs: `Ok` when the embedded kernels compiled and loaded, else the error text.
    pub kernels: Option<Result<(), String>>,
}

/// Lists the CPU and every CUDA device, compiling the kernel registry for each GPU.
///
/// Compiling happens once per device per process (the registry is cached), so calling this again
/// is cheap.
pub fn probe_devices() -> Vec<DeviceReport> {
    let mut devices = vec![DeviceReport {
        device: tch::Device::Cpu,
        name: format!("CPU ({} threads)", tch::get_num_threads()),
        memory_bytes: None,
        compute_capability: None,
        kernels: None,
    }];
    let count = if tch::Cuda::is_available() { tch::Cuda::device_count() } else { 0 };
    for ordinal in 0..usize::try_from(count).unwrap_or(0) {
        devices.push(probe_cuda(ordinal));
    }
    devices
}

fn probe_cuda(ordinal: usize) -> DeviceReport {
    let mut report = DeviceReport {
        device: tch::Device::Cuda(ordinal),
        name: format!("CUDA device {ordinal}"),
        memory_bytes: None,
        compute_capability: None,
        kernels: None,
    };
    match crate::kernels::cuda_context(ordinal) {
        Ok(ctx) => {
            report.name = ctx.name().unwrap_or(report.name);
            report.memory_bytes = ctx.total_mem().ok().map(|m| m as u64);
            report.compute_capability = ctx.compute_capability().ok();
        }
        Err(e) => report.kernels = Some(Err(e.to_string())),
    }
    if report.kernels.is_none() {
        report.kernels =
            Some(KernelRegistry::for_device(ordinal).map(|_| ()).map_err(|e| e.to_string()));
    }
    if let Some(Err(error)) = &report.kernels {
        tracing::error!(ordinal, %error, "CUDA kernels unavailable on this device");
    }
    report
}

/// A device as people read it, e.g. `cpu` or `cuda:0 (NVIDIA H200)`.
pub fn device_label(device: tch::Device) -> String {
    match device {
        tch::Device::Cuda(i) => {
            match crate::kernels::cuda_context(i).ok().and_then(|c| c.name().ok()) {
                Some(name) => format!("cuda:{i} ({name})"),
                None => format!("cuda:{i}"),
            }
        }
        _ => "cpu".to_owned(),
    }
}
