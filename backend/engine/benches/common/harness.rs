//! What the ReconViaGen benchmarks share: command-line flags, full-size random weights of the
//! right scale, and median GPU-synchronized timings.
#![allow(dead_code)] // each benchmark uses what it needs

use std::time::Instant;

use tch::Device;
use tch::nn::VarStore;

pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.windows(2).find(|w| w[0] == name).map(|w| w[1].clone())
}

/// Random weights of the right scale: N(0, 1/fan_in) for matrices and filters, 1 for norm
/// weights, small values for biases, LayerScale and tokens.
pub fn randomize(vs: &VarStore) {
    tch::no_grad(|| {
        for (name, mut t) in vs.variables() {
            let size = t.size();
            if name.ends_with("norm1.weight")
                || name.ends_with("norm2.weight")
                || name.ends_with("norm.weight")
            {
                let _ = t.fill_(1.0);
            } else if size.len() >= 2 && !name.contains("token") && !name.contains("pos_embed") {
                let fan_in: i64 = size[1..].iter().product();
                let _ = t.normal_(0.0, 1.0 / (fan_in as f64).sqrt());
            } else {
                let _ = t.normal_(0.0, 0.02);
            }
        }
    });
}

pub fn synchronize(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

/// Median wall seconds of `runs` calls of `f` after two warm-up calls.
pub fn time(device: Device, runs: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..2 {
        f();
    }
    synchronize(device);
    let mut seconds: Vec<f64> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            f();
            synchronize(device);
            started.elapsed().as_secs_f64()
        })
        .collect();
    seconds.sort_by(f64::total_cmp);
    seconds[seconds.len() / 2]
}
