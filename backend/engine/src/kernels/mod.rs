//! CUDA kernels: `.cu` sources embedded in the binary and compiled by NVRTC at run time, straight
//! to CUBIN for the device's architecture (never PTX left for the driver to JIT, which fails on
//! drivers older than the toolkit). No build step needs a CUDA toolkit.

mod compile;
mod error;
mod registry;
mod source;

pub use compile::{compile_cubin, nvrtc_available};
pub use error::KernelError;
pub use registry::{KernelRegistry, cuda_context};
pub use source::{KernelSource, SOURCES};
