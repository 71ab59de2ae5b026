//! NVRTC: CUDA C++ source → CUBIN bytes for one architecture.

use std::ffi::{CStr, CString, c_char};

use cudarc::nvrtc::{result, sys};

use super::KernelError;

/// True when libnvrtc can be loaded in this process.
pub fn nvrtc_available() -> bool {
    // SAFETY: only tries to dlopen the library by its candidate names.
    unsafe { sys::is_culib_present() }
}

/// Compiles `code` (named `name` in errors) to a CUBIN for `arch` (e.g. `sm_90`).
///
/// Needs libnvrtc but no GPU, so CI compiles every embedded kernel too.
pub fn compile_cubin(
    name: &str,
    code: &str,
    arch: &str,
    extra_options: &[&str],
) -> Result<Vec<u8>, KernelError> {
    if !nvrtc_available() {
        return Err(KernelError::NvrtcMissing);
    }
    let nvrtc_err = |step: &'static str| {
        move |e: result::NvrtcError| KernelError::Nvrtc {
            kernel: name.to_owned(),
            step,
            message: format!("{e:?}"),
        }
    };
    let src = CString::new(code).map_err(|_| KernelError::Nvrtc {
        kernel: name.to_owned(),
        step: "read source",
        message: "source contains a NUL byte".into(),
    })?;
    let file = CString::new(format!("{name}.cu")).map_err(|_| KernelError::Nvrtc {
        kernel: name.to_owned(),
        step: "name program",
        message: "name contains a NUL byte".into(),
    })?;
    let program = Program(result::create_program(&src, Some(&file)).map_err(nvrtc_err("create"))?);
    let mut options = vec![format!("--gpu-architecture={arch}"), "--std=c++17".to_owned()];
    options.extend(extra_options.iter().map(|o| (*o).to_owned()));
    // SAFETY: `program.0` is a live program created above; options are valid C strings.
    if unsafe { result::compile_program(program.0, &options) }.is_err() {
        return Err(KernelError::Compile {
            kernel: name.to_owned(),
            arch: arch.to_owned(),
            log: program.log(),
        });
    }
    let mut size = 0usize;
    // SAFETY: the program compiled; NVRTC writes the CUBIN size into `size`.
    unsafe { sys::nvrtcGetCUBINSize(program.0, &mut size) }
        .result()
        .map_err(nvrtc_err("get CUBIN size"))?;
    let mut cubin = vec![0u8; size];
    // SAFETY: `cubin` has exactly the size NVRTC reported.
    unsafe { sys::nvrtcGetCUBIN(program.0, cubin.as_mut_ptr().cast::<c_char>()) }
        .result()
        .map_err(nvrtc_err("get CUBIN"))?;
    Ok(cubin)
}

/// Owns an NVRTC program and destroys it on every exit path.
struct Program(sys::nvrtcProgram);

impl Program {
    fn log(&self) -> String {
        // SAFETY: `self.0` is a live program.
        match unsafe { result::get_program_log(self.0) } {
            // SAFETY: NVRTC returns a NUL-terminated log.
            Ok(raw) => unsafe { CStr::from_ptr(raw.as_ptr()) }.to_string_lossy().into_owned(),
            Err(e) => format!("(no log: {e:?})"),
        }
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        // SAFETY: created by nvrtcCreateProgram and destroyed exactly once.
        let _ = unsafe { result::destroy_program(self.0) };
    }
}
