//! The CUDA float32 path of barycentrics, interpolate and antialias: one kernel per pass instead
//! of dozens of per-pixel tensor ops, each output connected to autograd with its kernel backward
//! through [`crate::autograd::attach_backward`]. The tensor-op paths stay the reference (float64
//! on the CPU) these kernels are tested against, and serve CPU, float64 and screen-space
//! derivatives.

pub(super) mod antialias;
pub(super) mod barycentric;
pub(super) mod interpolate;

use tch::{Device, Kind, Tensor};

/// The GPU ordinal when `t` is a float32 CUDA tensor, i.e. when the fused path applies.
pub(super) fn fused_device(t: &Tensor) -> Option<usize> {
    match t.device() {
        Device::Cuda(ordinal) if t.kind() == Kind::Float => Some(ordinal),
        _ => None,
    }
}
