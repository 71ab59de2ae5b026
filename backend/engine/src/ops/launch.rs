//! Helpers for launching registry kernels on tch tensors.

use cudarc::driver::{LaunchConfig, PushKernelArg};
use tch::{Kind, Tensor};

use crate::EngineError;
use crate::kernels::{KernelError, KernelRegistry};

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

/// One scalar argument of a kernel launch, by the C type the kernel declares.
#[derive(Debug, Clone, Copy)]
pub(crate) enum KernelArg {
    /// A device pointer.
    Ptr(u64),
    /// `int`.
    I32(i32),
    /// `long long`.
    I64(i64),
}

impl KernelArg {
    /// The data pointer of a tensor (which the caller keeps alive and contiguous).
    pub(crate) fn tensor(t: &Tensor) -> Self {
        Self::Ptr(t.data_ptr() as u64)
    }

    /// A size the kernel takes as `int`.
    pub(crate) fn size(op: &'static str, n: i64) -> Result<Self, EngineError> {
        i32::try_from(n).map(Self::I32).map_err(|_| EngineError::InvalidArgument {
            op,
            arg: "sizes",
            reason: format!("{n} exceeds the kernels' int32 sizes"),
        })
    }
}

/// Launches kernel `name` on GPU `ordinal` with one thread per element of `n` (blocks of 256).
///
/// # Safety
/// Every pointer in `args` must address a live buffer on that GPU, sized as the kernel indexes
/// it for `n` elements, until the default stream reaches the kernel.
pub(crate) unsafe fn launch_per_element(
    ordinal: usize,
    name: &'static str,
    n: i64,
    args: &[KernelArg],
) -> Result<(), EngineError> {
    if n <= 0 {
        return Ok(());
    }
    let blocks = u32::try_from((n + 255) / 256).map_err(|_| EngineError::InvalidArgument {
        op: name,
        arg: "sizes",
        reason: format!("{n} elements exceed one launch"),
    })?;
    let registry = KernelRegistry::for_device(ordinal)?;
    let function = registry.function(name)?;
    let stream = registry.stream();
    let mut launch = stream.launch_builder(function);
    for arg in args {
        match arg {
            KernelArg::Ptr(p) => launch.arg(p),
            KernelArg::I32(v) => launch.arg(v),
            KernelArg::I64(v) => launch.arg(v),
        };
    }
    let config =
        LaunchConfig { grid_dim: (blocks, 1, 1), block_dim: (256, 1, 1), shared_mem_bytes: 0 };
    // SAFETY: the caller vouches for the pointers (see above).
    unsafe { launch.launch(config) }
        .map_err(|e| KernelError::driver(format!("launch {name}"), e))?;
    Ok(())
}
