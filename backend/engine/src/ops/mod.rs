//! Tensor ops with a CPU path (tch ops or multi-threaded Rust) and a CUDA path (NVRTC kernels).

pub mod color;
pub mod cubemap;
pub mod gather;
pub(crate) mod launch;
mod mip;
pub mod raster;
pub mod texture;
