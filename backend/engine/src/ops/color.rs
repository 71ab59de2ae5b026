//! sRGB ↔ linear colour conversion (IEC 61966-2-1), used on photos before losses are computed.
//!
//! No autograd: inputs are data, not parameters. On CUDA the conversion is one elementwise kernel
//! (one read, one write) instead of the five tensor passes the tch formula takes.

use cudarc::driver::{LaunchConfig, PushKernelArg};
use tch::{Device, Kind, Tensor};

use super::launch::{f32_cuda_ptr, numel_u64};
use crate::EngineError;
use crate::kernels::{KernelError, KernelRegistry};

const OP: &str = "srgb_to_linear";

/// Converts sRGB-encoded values in [0, 1] to linear light; returns float32 on the input's device.
pub fn srgb_to_linear(srgb: &Tensor) -> Result<Tensor, EngineError> {
    let input = srgb.f_to_kind(Kind::Float)?.f_contiguous()?;
    match input.device() {
        Device::Cuda(_) => {
            let out = input.f_empty_like()?;
            srgb_to_linear_out(&input, &out)?;
            Ok(out)
        }
        _ => Ok(srgb_to_linear_reference(&input)?),
    }
}

/// The same conversion written as tch ops, in the input's kind; the CPU path and the reference
/// the CUDA kernel is tested against.
pub fn srgb_to_linear_reference(srgb: &Tensor) -> Result<Tensor, tch::TchError> {
    let low = srgb.f_div_scalar(12.92)?;
    let high = srgb.f_add_scalar(0.055)?.f_div_scalar(1.055)?.f_pow_tensor_scalar(2.4)?;
    low.f_where_self(&srgb.f_le(0.04045)?, &high)
}

/// Writes the conversion of the float32 CUDA tensor `srgb` into `out` (same shape) with the
/// `srgb_to_linear_f32` kernel; tests pass a poisoned `out` to catch unwritten elements.
pub fn srgb_to_linear_out(srgb: &Tensor, out: &Tensor) -> Result<(), EngineError> {
    let input_ptr = f32_cuda_ptr(OP, "srgb", srgb)?;
    let out_ptr = f32_cuda_ptr(OP, "out", out)?;
    if srgb.size() != out.size() || srgb.device() != out.device() {
        return Err(EngineError::InvalidArgument {
            op: OP,
            arg: "out",
            reason: format!(
                "shape/device {:?}/{:?} differs from input {:?}/{:?}",
                out.size(),
                out.device(),
                srgb.size(),
                srgb.device()
            ),
        });
    }
    let Device::Cuda(ordinal) = srgb.device() else { unreachable!("checked by f32_cuda_ptr") };
    let n = numel_u64(srgb);
    if n == 0 {
        return Ok(());
    }
    let registry = KernelRegistry::for_device(ordinal)?;
    let function = registry.function("srgb_to_linear_f32")?;
    let stream = registry.stream();
    // Grid-stride loop: cap the grid, every thread handles several elements for large images.
    let blocks = n.div_ceil(256).min(65_535) as u32;
    let config =
        LaunchConfig { grid_dim: (blocks, 1, 1), block_dim: (256, 1, 1), shared_mem_bytes: 0 };
    let mut launch = stream.launch_builder(function);
    launch.arg(&out_ptr).arg(&input_ptr).arg(&n);
    // SAFETY: both pointers are live contiguous float32 buffers of `n` elements on this device
    // (checked above) and stay alive until the stream reaches the kernel, since `srgb` and `out`
    // are borrowed for the call and libtorch's allocator orders frees on the same stream.
    unsafe { launch.launch(config) }
        .map_err(|e| KernelError::driver("launch srgb_to_linear_f32", e))?;
    Ok(())
}

/// Linear light to sRGB encoding of one channel, clamped to [0, 1] (vertex colours, previews).
pub fn linear_to_srgb_scalar(x: f32) -> f32 {
    let x = x.clamp(0.0, 1.0);
    if x <= 0.003_130_8 { 12.92 * x } else { 1.055 * x.powf(1.0 / 2.4) - 0.055 }
}

/// Linear light to sRGB encoding as differentiable tch ops (losses and PSNR compare in sRGB).
/// Values are clamped to [0, 1] first; the power branch never sees values where its derivative
/// is unbounded.
pub fn linear_to_srgb(linear: &Tensor) -> Result<Tensor, tch::TchError> {
    let x = linear.f_clamp(0.0, 1.0)?;
    let low = x.f_mul_scalar(12.92)?;
    let high = x
        .f_clamp_min(0.0031308)?
        .f_pow_tensor_scalar(1.0 / 2.4)?
        .f_mul_scalar(1.055)?
        .f_sub_scalar(0.055)?;
    low.f_where_self(&x.f_le(0.0031308)?, &high)
}
