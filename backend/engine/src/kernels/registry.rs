//! Per-device registry of compiled kernels, built once per process and device.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::driver::{CudaContext, CudaFunction, CudaStream};
use cudarc::nvrtc::Ptx;

use super::{KernelError, SOURCES, compile_cubin};

/// The embedded kernels, compiled for one GPU and loaded into its primary context (the one
/// libtorch uses, so kernels can work on tch tensors' device pointers).
pub struct KernelRegistry {
    ctx: Arc<CudaContext>,
    arch: String,
    functions: HashMap<&'static str, CudaFunction>,
}

impl std::fmt::Debug for KernelRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernelRegistry")
            .field("ordinal", &self.ctx.ordinal())
            .field("arch", &self.arch)
            .field("functions", &self.functions.len())
            .finish()
    }
}

type Cache = Mutex<HashMap<usize, Result<Arc<KernelRegistry>, KernelError>>>;

/// Retains the primary context of GPU `ordinal`.
pub fn cuda_context(ordinal: usize) -> Result<Arc<CudaContext>, KernelError> {
    // SAFETY: only tries to dlopen libcuda by its candidate names.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Err(KernelError::DriverMissing);
    }
    CudaContext::new(ordinal).map_err(|e| KernelError::driver(format!("open device {ordinal}"), e))
}

impl KernelRegistry {
    /// The registry of GPU `ordinal`, compiled on first use; a failure is remembered too, so a
    /// broken kernel is reported the same way on every call without recompiling.
    pub fn for_device(ordinal: usize) -> Result<Arc<KernelRegistry>, KernelError> {
        static CACHE: OnceLock<Cache> = OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        let mut guard = cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.entry(ordinal).or_insert_with(|| Self::load(ordinal).map(Arc::new)).clone()
    }

    /// Compiles and loads every embedded source for GPU `ordinal`.
    pub fn load(ordinal: usize) -> Result<Self, KernelError> {
        let ctx = cuda_context(ordinal)?;
        let (major, minor) = ctx
            .compute_capability()
            .map_err(|e| KernelError::driver("query compute capability", e))?;
        let arch = format!("sm_{major}{minor}");
        let started = std::time::Instant::now();
        let mut functions = HashMap::new();
        for source in SOURCES {
            let cubin = compile_cubin(source.name, source.code, &arch, source.options)?;
            let module = ctx
                .load_module(Ptx::from_binary(cubin))
                .map_err(|e| KernelError::driver(format!("load module {}", source.name), e))?;
            for &name in source.functions {
                let function = module
                    .load_function(name)
                    .map_err(|e| KernelError::driver(format!("find function {name}"), e))?;
                functions.insert(name, function);
            }
        }
        tracing::info!(ordinal, %arch, kernels = functions.len(), elapsed_ms = started.elapsed().as_millis() as u64, "compiled CUDA kernels");
        Ok(Self { ctx, arch, functions })
    }

    /// The architecture the kernels were compiled for, e.g. `sm_90`.
    pub fn arch(&self) -> &str {
        &self.arch
    }

    /// A loaded kernel by its `extern "C"` name.
    pub fn function(&self, name: &str) -> Result<&CudaFunction, KernelError> {
        self.functions.get(name).ok_or_else(|| KernelError::UnknownFunction(name.to_owned()))
    }

    /// The legacy default stream, which is libtorch's default stream too, so launches are ordered
    /// with the tch ops around them.
    pub fn stream(&self) -> Arc<CudaStream> {
        self.ctx.default_stream()
    }
}
