//! Fused interpolation: `interpolate_forward` / `interpolate_backward` of
//! `kernels/interpolate.cu`.

use tch::{Kind, Tensor};

use crate::EngineError;
use crate::autograd::attach_backward;
use crate::ops::launch::{KernelArg, launch_per_element};

const OP: &str = "interpolate";

/// `[B, H, W, C]` for float32 CUDA `attr` (`[A, V, C]`, A = 1 or B) over `rast` `[B, H, W, 4]`
/// (ids already checked against `tris`); differentiable in `attr` and `rast`.
pub(in crate::ops::raster) fn interpolate(
    attr: &Tensor,
    rast: &Tensor,
    tris: &Tensor,
    ordinal: usize,
) -> Result<Tensor, EngineError> {
    let &[b, h, w, _] = rast.size().as_slice() else { unreachable!("checked by the caller") };
    let &[a, v, c] = attr.size().as_slice() else { unreachable!("checked by the caller") };
    let attr_stride = if a == 1 { 0 } else { v * c };
    let saved_attr = attr.f_detach()?.f_contiguous()?;
    let saved_rast = rast.f_detach()?.f_to_kind(Kind::Float)?.f_contiguous()?;
    let tris = tris.f_contiguous()?;
    let out = Tensor::f_empty([b, h, w, c], (Kind::Float, attr.device()))?;
    let n = b * h * w;
    let sizes = [
        KernelArg::size(OP, b)?,
        KernelArg::size(OP, h)?,
        KernelArg::size(OP, w)?,
        KernelArg::size(OP, c)?,
        KernelArg::I64(attr_stride),
    ];
    let mut args = vec![
        KernelArg::tensor(&saved_attr),
        KernelArg::tensor(&saved_rast),
        KernelArg::tensor(&tris),
    ];
    args.extend(sizes);
    args.push(KernelArg::tensor(&out));
    // SAFETY: contiguous float32 [A, V, C], [B, H, W, 4] with ids ≤ T, int32 [T, 3] with
    // indices < V (checked by the caller) and a [B, H, W, C] output, all held here.
    unsafe { launch_per_element(ordinal, "interpolate_forward", n, &args) }?;
    attach_backward(
        OP,
        &[attr, rast],
        &[&out],
        Box::new(move |grads| {
            let Some(grad) = &grads[0] else { return Ok(vec![None, None]) };
            let grad = grad.f_to_kind(Kind::Float)?.f_contiguous()?;
            let device = saved_attr.device();
            let grad_attr = Tensor::f_zeros([a, v, c], (Kind::Float, device))?;
            let grad_rast = Tensor::f_empty([b, h, w, 4], (Kind::Float, device))?;
            let mut args = vec![
                KernelArg::tensor(&saved_attr),
                KernelArg::tensor(&saved_rast),
                KernelArg::tensor(&tris),
                KernelArg::tensor(&grad),
            ];
            args.extend(sizes);
            args.extend([KernelArg::tensor(&grad_attr), KernelArg::tensor(&grad_rast)]);
            // SAFETY: the forward's buffers (held by this closure), the [B, H, W, C] gradient,
            // a zeroed [A, V, C] accumulator and a [B, H, W, 4] output the kernel fills.
            unsafe { launch_per_element(ordinal, "interpolate_backward", n, &args) }?;
            Ok(vec![Some(grad_attr), Some(grad_rast.f_to_kind(saved_rast.kind())?)])
        }),
    )?;
    Ok(out)
}
