//! Helpers for launching registry kernels on tch tensors.

use tch::{Kind, Tensor};

use crate::EngineError;

/// Checks that `t` is a contiguous float32 CUDA tensor and returns its device pointer.
pub(crate) fn f32_cuda_ptr(
    op: &'static str,
    arg: &'static str,
    t: &Tensor,
) -> Result<u64, EngineError> {
    if t.kind() != Kind::Float {
        return Err(EngineError::InvalidArgument {
            op,
            arg,
            reason: format!("expected float32, got {:?}", t.kind()),
        });
    }
    if !t.device().is_cuda() {
        return Err(EngineError::InvalidArgument {
            op,
            arg,
            reason: format!("expected a CUDA tensor, got {:?}", t.device()),
        });
    }
    if !t.is_contiguous() {
        return Err(EngineError::InvalidArgument {
            op,
            arg,
            reason: "expected a contiguous tensor".into(),
        });
    }
    Ok(t.data_ptr() as u64)
}

/// Number of elements as the u64 kernels take.
pub(crate) fn numel_u64(t: &Tensor) -> u64 {
    t.numel() as u64
}
