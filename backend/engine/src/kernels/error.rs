//! Errors of compiling, loading and launching run-time kernels.

/// Why a kernel could not be compiled, loaded or launched.
#[derive(Debug, Clone, thiserror::Error)]
pub enum KernelError {
    /// libnvrtc could not be loaded.
    #[error(
        "NVRTC (libnvrtc.so) not found: put the CUDA toolkit's or the torch venv's nvidia/cu13/lib on LD_LIBRARY_PATH"
    )]
    NvrtcMissing,
    /// libcuda could not be loaded: no NVIDIA driver.
    #[error("CUDA driver (libcuda.so) not found")]
    DriverMissing,
    /// NVRTC rejected a source; `log` is the compiler's output.
    #[error("kernel `{kernel}` failed to compile for {arch}:\n{log}")]
    Compile {
        /// The source's name.
        kernel: String,
        /// Target architecture, e.g. `sm_90`.
        arch: String,
        /// NVRTC's program log.
        log: String,
    },
    /// An NVRTC call other than compilation failed.
    #[error("kernel `{kernel}`: NVRTC {step} failed: {message}")]
    Nvrtc {
        /// The source's name.
        kernel: String,
        /// Which call failed.
        step: &'static str,
        /// NVRTC's message.
        message: String,
    },
    /// A CUDA driver call failed.
    #[error("CUDA driver: {step} failed: {message}")]
    Driver {
        /// What was being done (e.g. `load module color`).
        step: String,
        /// The driver's message.
        message: String,
    },
    /// A kernel was asked for that no source defines.
    #[error("no kernel named `{0}` in the registry")]
    UnknownFunction(String),
}

impl KernelError {
    pub(crate) fn driver(step: impl Into<String>, err: cudarc::driver::DriverError) -> Self {
        KernelError::Driver { step: step.into(), message: err.to_string() }
    }
}
