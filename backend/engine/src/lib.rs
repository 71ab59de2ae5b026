//! meshcast's reconstruction engine: tensor ops on libtorch (`tch`), CUDA kernels compiled at run
//! time with NVRTC, and the reconstruction models built on them.
//!
//! The engine knows nothing of HTTP, tokio or the browser: callers get a synchronous API and a
//! progress callback. Every op runs on CPU and CUDA with one test body for both.

pub mod autograd;
pub mod camera;
pub mod dataset;
pub mod device;
pub mod error;
pub mod export;
pub mod geometry;
pub mod kernels;
pub mod nn;
pub mod nvdiffrec;
pub mod ops;
pub mod reconviagen;
pub mod render;
pub mod weights;

/// The tch version the engine is built on, for callers that pass devices and tensors in.
pub use tch;

pub use device::{DeviceReport, device_label, probe_devices};
pub use error::EngineError;
