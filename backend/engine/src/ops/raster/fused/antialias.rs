//! Fused antialiasing: `antialias_forward` / `antialias_backward` of `kernels/antialias.cu`.

use tch::{Kind, Tensor};

use crate::EngineError;
use crate::autograd::attach_backward;
use crate::ops::launch::{KernelArg, launch_per_element};

const OP: &str = "antialias";

/// Antialiased float32 CUDA `color` `[B, H, W, C]` for `rast`, `pos` `[P, V, 4]` (P = 1 or B),
/// validated `tris` and the topology's `opposite` table; differentiable in `color` and `pos`.
pub(in crate::ops::raster) fn antialias(
    color: &Tensor,
    rast: &Tensor,
    pos: &Tensor,
    tris: &Tensor,
    opposite: &Tensor,
    ordinal: usize,
) -> Result<Tensor, EngineError> {
    let &[b, h, w, c] = color.size().as_slice() else { unreachable!("checked by the caller") };
    let (p, v) = (pos.size()[0], pos.size()[1]);
    let pos_stride = if p == 1 { 0 } else { v };
    let saved_color = color.f_detach()?.f_contiguous()?;
    let saved_rast = rast.f_detach()?.f_to_kind(Kind::Float)?.f_contiguous()?;
    let saved_pos = pos.f_detach()?.f_to_kind(Kind::Float)?.f_contiguous()?;
    let tris = tris.f_contiguous()?;
    let opposite = opposite.f_contiguous()?;
    let out = saved_color.f_detach_copy()?;
    let n = b * h * w;
    let sizes = [
        KernelArg::size(OP, b)?,
        KernelArg::size(OP, h)?,
        KernelArg::size(OP, w)?,
        KernelArg::size(OP, c)?,
        KernelArg::size(OP, v)?,
        KernelArg::I64(pos_stride),
    ];
    let scene = [
        KernelArg::tensor(&saved_color),
        KernelArg::tensor(&saved_rast),
        KernelArg::tensor(&saved_pos),
        KernelArg::tensor(&tris),
        KernelArg::tensor(&opposite),
    ];
    let mut args = scene.to_vec();
    args.extend(sizes);
    args.push(KernelArg::tensor(&out));
    // SAFETY: contiguous float32 colour/rast/pos, int32 [T, 3] and int64 [T, 3] tables with
    // indices < V (checked by the caller), ids ≤ T; `out` is a copy of colour; all held here.
    unsafe { launch_per_element(ordinal, "antialias_forward", n, &args) }?;
    attach_backward(
        OP,
        &[color, pos],
        &[&out],
        Box::new(move |grads| {
            let Some(grad) = &grads[0] else { return Ok(vec![None, None]) };
            let grad = grad.f_to_kind(Kind::Float)?.f_contiguous()?;
            let grad_color = grad.f_detach_copy()?;
            let grad_pos = Tensor::f_zeros([p, v, 4], (Kind::Float, saved_pos.device()))?;
            let _keep = (&saved_color, &saved_rast, &tris, &opposite);
            let mut args = scene.to_vec();
            args.push(KernelArg::tensor(&grad));
            args.extend(sizes);
            args.extend([KernelArg::tensor(&grad_color), KernelArg::tensor(&grad_pos)]);
            // SAFETY: the forward's buffers (held by this closure), the [B, H, W, C] gradient,
            // its copy to accumulate into and a zeroed [P, V, 4] accumulator.
            unsafe { launch_per_element(ordinal, "antialias_backward", n, &args) }?;
            Ok(vec![Some(grad_color), Some(grad_pos)])
        }),
    )?;
    Ok(out)
}
