//! Custom backward functions for tensors computed by our kernels.
//!
//! tch exposes no custom autograd `Function`, so a small C++ shim (`cpp/autograd_shim.cpp`,
//! built by `build.rs`) creates an autograd node whose backward calls back into Rust. A fused
//! kernel computes its outputs without autograd, then [`attach_backward`] connects them to the
//! inputs with the kernel's own backward. This is how the CUDA raster ops avoid building their
//! results from dozens of per-pixel tensor ops.

use std::ffi::{CString, c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;

use tch::Tensor;
use torch_sys::C_tensor;

use crate::EngineError;

/// A backward: the gradients of the outputs (`None` where an output's gradient is undefined, i.e.
/// zero) in, one gradient per input out (`None` = no gradient).
pub type Backward =
    dyn Fn(&[Option<Tensor>]) -> Result<Vec<Option<Tensor>>, EngineError> + Send + 'static;

struct Context {
    name: &'static str,
    inputs: usize,
    /// Behind a mutex: libtorch may run a retained graph's node from two backward calls at once.
    backward: Mutex<Box<Backward>>,
}

unsafe extern "C" {
    fn meshcast_attach_backward(
        name: *const c_char,
        inputs: *mut *mut C_tensor,
        n_inputs: i64,
        outputs: *mut *mut C_tensor,
        n_outputs: i64,
        ctx: *mut c_void,
        backward: BackwardFn,
        drop: DropFn,
        free_message: FreeMessageFn,
        error: *mut c_char,
        error_len: usize,
    ) -> i32;
}

type BackwardFn = unsafe extern "C" fn(
    *mut c_void,
    *mut *mut C_tensor,
    i64,
    *mut *mut C_tensor,
    i64,
) -> *mut c_char;
type DropFn = unsafe extern "C" fn(*mut c_void);
type FreeMessageFn = unsafe extern "C" fn(*mut c_char);

/// Makes `outputs` differentiable with respect to `inputs` through `backward`.
///
/// `outputs` must be fresh tensors that do not require gradients (computed under no-grad or by a
/// kernel). When grad mode is off or no input requires a gradient, nothing is attached. The
/// closure is called with one entry per output and must return one entry per input, each with
/// its input's shape, dtype and device (libtorch checks this).
pub fn attach_backward(
    name: &'static str,
    inputs: &[&Tensor],
    outputs: &[&Tensor],
    backward: Box<Backward>,
) -> Result<(), EngineError> {
    let c_name = CString::new(name).map_err(|_| invalid(name, "name contains a NUL byte"))?;
    if let Some(output) = outputs.iter().find(|t| t.requires_grad()) {
        return Err(invalid(name, &format!("output {output:?} already requires grad")));
    }
    let mut input_ptrs: Vec<*mut C_tensor> = inputs.iter().map(|t| t.as_ptr().cast_mut()).collect();
    let mut output_ptrs: Vec<*mut C_tensor> =
        outputs.iter().map(|t| t.as_ptr().cast_mut()).collect();
    let ctx = Box::into_raw(Box::new(Context {
        name,
        inputs: inputs.len(),
        backward: Mutex::new(backward),
    }));
    let mut error = [0u8; 512];
    // SAFETY: the pointers are live tch tensors for the call; the shim copies (not takes) them.
    // On 1 the node owns `ctx` and frees it through `drop_context`; otherwise we still own it.
    let status = unsafe {
        meshcast_attach_backward(
            c_name.as_ptr(),
            input_ptrs.as_mut_ptr(),
            input_ptrs.len() as i64,
            output_ptrs.as_mut_ptr(),
            output_ptrs.len() as i64,
            ctx.cast(),
            call_backward,
            drop_context,
            free_message,
            error.as_mut_ptr().cast(),
            error.len(),
        )
    };
    if status == 1 {
        return Ok(());
    }
    // SAFETY: the shim did not adopt `ctx` (see above).
    drop(unsafe { Box::from_raw(ctx) });
    if status == 0 {
        return Ok(());
    }
    let message = std::ffi::CStr::from_bytes_until_nul(&error)
        .map_or_else(|_| "unknown error".into(), |m| m.to_string_lossy());
    Err(invalid(name, &message))
}

fn invalid(op: &'static str, reason: &str) -> EngineError {
    EngineError::InvalidArgument { op, arg: "autograd", reason: reason.to_owned() }
}

/// A message for the shim, which hands it back to [`free_message`].
fn c_message(text: &str) -> *mut c_char {
    CString::new(text.replace('\0', " ")).unwrap_or_default().into_raw()
}

unsafe extern "C" fn free_message(message: *mut c_char) {
    // SAFETY: created by `CString::into_raw` in `message`.
    drop(unsafe { CString::from_raw(message) });
}

unsafe extern "C" fn drop_context(ctx: *mut c_void) {
    // SAFETY: `ctx` came from `Box::into_raw` in `attach_backward`; the node drops it once.
    drop(unsafe { Box::from_raw(ctx.cast::<Context>()) });
}

/// Called by the node's `apply`: wraps the gradients, runs the closure, hands the results back.
unsafe extern "C" fn call_backward(
    ctx: *mut c_void,
    grads: *mut *mut C_tensor,
    n_grads: i64,
    out: *mut *mut C_tensor,
    n_out: i64,
) -> *mut c_char {
    // SAFETY: the node passes its live context and arrays of the stated lengths; each non-null
    // gradient is a heap tensor whose ownership passes to us.
    let (ctx, grads, out) = unsafe {
        let ctx = &*ctx.cast::<Context>();
        let grads: Vec<Option<Tensor>> = std::slice::from_raw_parts(grads, n_grads as usize)
            .iter()
            .map(|&p| (!p.is_null()).then(|| Tensor::from_ptr(p)))
            .collect();
        (ctx, grads, std::slice::from_raw_parts_mut(out, n_out as usize))
    };
    let result = catch_unwind(AssertUnwindSafe(|| {
        let backward =
            ctx.backward.lock().map_err(|_| "a previous backward panicked".to_owned())?;
        backward(&grads).map_err(|e| e.to_string())
    }));
    let gradients = match result {
        Ok(Ok(g)) => g,
        Ok(Err(message)) => return c_message(&message),
        Err(_) => return c_message("panicked"),
    };
    if gradients.len() != ctx.inputs || out.len() != ctx.inputs {
        return c_message(&format!(
            "{}: backward returned {} gradients for {} inputs",
            ctx.name,
            gradients.len(),
            ctx.inputs
        ));
    }
    for (slot, gradient) in out.iter_mut().zip(gradients) {
        if let Some(mut g) = gradient {
            *slot = g.as_mut_ptr();
            // The shim now owns the C++ tensor and deletes it after moving it out.
            std::mem::forget(g);
        }
    }
    std::ptr::null_mut()
}
