//! Fused barycentrics: `bary_forward` / `bary_backward` of `kernels/barycentric.cu`.

use tch::{Kind, Tensor};

use crate::EngineError;
use crate::autograd::attach_backward;
use crate::ops::launch::{KernelArg, launch_per_element};

const OP: &str = "rasterize";

/// `rast` `[B, H, W, 4]` for float32 CUDA `pos` `[B, V, 4]`, validated `tris` and the visibility
/// pass's `ids` `[B, H, W]` int32; differentiable in `pos`.
pub(in crate::ops::raster) fn barycentrics(
    pos: &Tensor,
    tris: &Tensor,
    ids: &Tensor,
    ordinal: usize,
) -> Result<Tensor, EngineError> {
    let (b, v) = (pos.size()[0], pos.size()[1]);
    let (h, w) = (ids.size()[1], ids.size()[2]);
    let saved_pos = pos.f_detach()?.f_contiguous()?;
    let tris = tris.f_contiguous()?;
    let ids = ids.f_contiguous()?;
    let rast = Tensor::f_empty([b, h, w, 4], (Kind::Float, pos.device()))?;
    let sizes = [
        KernelArg::size(OP, b)?,
        KernelArg::size(OP, v)?,
        KernelArg::size(OP, h)?,
        KernelArg::size(OP, w)?,
    ];
    let n = b * h * w;
    let mut args =
        vec![KernelArg::tensor(&saved_pos), KernelArg::tensor(&tris), KernelArg::tensor(&ids)];
    args.extend(sizes);
    args.push(KernelArg::tensor(&rast));
    // SAFETY: contiguous float32 [B, V, 4], int32 [T, 3] (indices < V, checked by the caller),
    // int32 [B, H, W] ids ≤ T and a [B, H, W, 4] float32 output, all on this GPU and held here.
    unsafe { launch_per_element(ordinal, "bary_forward", n, &args) }?;
    attach_backward(
        OP,
        &[pos],
        &[&rast],
        Box::new(move |grads| {
            let Some(grad) = &grads[0] else { return Ok(vec![None]) };
            let grad = grad.f_to_kind(Kind::Float)?.f_contiguous()?;
            let grad_pos = Tensor::f_zeros([b, v, 4], (Kind::Float, saved_pos.device()))?;
            let mut args = vec![
                KernelArg::tensor(&saved_pos),
                KernelArg::tensor(&tris),
                KernelArg::tensor(&ids),
                KernelArg::tensor(&grad),
            ];
            args.extend(sizes);
            args.push(KernelArg::tensor(&grad_pos));
            // SAFETY: the forward's buffers (kept alive by this closure), the [B, H, W, 4]
            // gradient and a zeroed [B, V, 4] accumulator.
            unsafe { launch_per_element(ordinal, "bary_backward", n, &args) }?;
            Ok(vec![Some(grad_pos)])
        }),
    )?;
    Ok(rast)
}
