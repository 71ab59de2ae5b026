//! The visibility pass: argument checks, then the CPU or CUDA kernel.

use tch::{Device, Kind, Tensor};

use super::{cpu, cuda};
use crate::EngineError;

fn invalid(op: &'static str, arg: &'static str, reason: impl Into<String>) -> EngineError {
    EngineError::InvalidArgument { op, arg, reason: reason.into() }
}

/// `[V, 4]` → `[1, V, 4]`; checks the shape and kind of clip-space positions.
pub(crate) fn batched_positions(op: &'static str, pos: &Tensor) -> Result<Tensor, EngineError> {
    if !matches!(pos.kind(), Kind::Float | Kind::Double) {
        return Err(invalid(
            op,
            "pos",
            format!("expected float32 or float64, got {:?}", pos.kind()),
        ));
    }
    match pos.size().as_slice() {
        [_, 4] => Ok(pos.f_unsqueeze(0)?),
        [_, _, 4] => Ok(pos.shallow_clone()),
        shape => Err(invalid(op, "pos", format!("expected [V, 4] or [B, V, 4], got {shape:?}"))),
    }
}

/// Checks `tris` is `[T, 3]` int32 on `device` with every index in `0..vertices`.
pub(crate) fn check_triangles(
    op: &'static str,
    tris: &Tensor,
    vertices: i64,
    device: Device,
) -> Result<(), EngineError> {
    if tris.kind() != Kind::Int {
        return Err(invalid(op, "tris", format!("expected int32, got {:?}", tris.kind())));
    }
    if tris.dim() != 2 || tris.size()[1] != 3 {
        return Err(invalid(op, "tris", format!("expected [T, 3], got {:?}", tris.size())));
    }
    if tris.device() != device {
        return Err(invalid(
            op,
            "tris",
            format!("on {:?} but pos is on {device:?}", tris.device()),
        ));
    }
    if tris.numel() > 0 {
        // One device→host copy for both bounds.
        let (lo, hi) = tris.f_aminmax(None::<i64>, false)?;
        let range = Vec::<i64>::try_from(Tensor::f_stack(&[lo, hi], 0)?.f_to_kind(Kind::Int64)?)?;
        let (lo, hi) = (range[0], range[1]);
        if lo < 0 || hi >= vertices {
            return Err(invalid(
                op,
                "tris",
                format!("indices span {lo}..={hi} but there are {vertices} vertices"),
            ));
        }
    }
    Ok(())
}

/// Triangle id + 1 per pixel (`[B, H, W]` int32, 0 = background) for `pos` `[B, V, 4]`.
pub fn visibility(
    pos: &Tensor,
    tris: &Tensor,
    resolution: (i64, i64),
) -> Result<Tensor, EngineError> {
    let (h, w) = resolution;
    if h <= 0 || w <= 0 || h > 16384 || w > 16384 {
        return Err(invalid("rasterize", "resolution", format!("{h}×{w} is outside 1..=16384")));
    }
    let b = batched_positions("rasterize", pos)?.size()[0];
    let out = Tensor::f_empty([b, h, w], (Kind::Int, pos.device()))?;
    visibility_into(pos, tris, &out)?;
    Ok(out)
}

/// [`visibility`] into a caller-provided `[B, H, W]` int32 tensor (tests poison it first).
pub fn visibility_into(pos: &Tensor, tris: &Tensor, out: &Tensor) -> Result<(), EngineError> {
    let pos = batched_positions("rasterize", pos)?.f_to_kind(Kind::Float)?.f_contiguous()?;
    let device = pos.device();
    let (b, v) = (pos.size()[0], pos.size()[1]);
    check_triangles("rasterize", tris, v, device)?;
    if out.kind() != Kind::Int
        || out.dim() != 3
        || out.size()[0] != b
        || !out.is_contiguous()
        || out.device() != device
    {
        return Err(invalid(
            "rasterize",
            "out",
            format!("expected contiguous int32 [{b}, H, W] on {device:?}"),
        ));
    }
    let (h, w) = (out.size()[1], out.size()[2]);
    let tris = tris.f_contiguous()?;
    match device {
        Device::Cuda(ordinal) => cuda::visibility(&pos, &tris, out, ordinal),
        _ => {
            let pos_host = Vec::<f32>::try_from(pos.f_reshape([-1])?)?;
            let tris_host: Vec<[i32; 3]> =
                Vec::<i32>::try_from(tris.f_reshape([-1])?)?.as_chunks::<3>().0.to_vec();
            let mut ids = vec![0i32; (b * h * w) as usize];
            cpu::visibility(&pos_host, v as usize, &tris_host, h as usize, w as usize, &mut ids);
            out.shallow_clone().f_copy_(&Tensor::from_slice(&ids).f_view([b, h, w])?)?;
            Ok(())
        }
    }
}
