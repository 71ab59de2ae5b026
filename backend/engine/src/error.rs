//! The engine's error type.

use crate::kernels::KernelError;

/// Anything an engine call can fail with; a CUDA or shape error fails the job, not the process.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// libtorch refused an operation (shape, dtype, device, out of memory).
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// A run-time compiled kernel could not be built, loaded or launched.
    #[error(transparent)]
    Kernel(#[from] KernelError),
    /// An op was called with an argument it cannot take.
    #[error("{op}: invalid argument `{arg}`: {reason}")]
    InvalidArgument {
        /// The op's name.
        op: &'static str,
        /// The argument's name.
        arg: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}
