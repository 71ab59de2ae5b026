//! Perspective-correct barycentrics recomputed as tensor ops from the triangle id per pixel, so
//! autograd differentiates them exactly with respect to the clip-space positions.
//!
//! For pixel centre (x, y) and vertices (xᵢ, yᵢ, zᵢ, wᵢ), with aᵢ = xᵢ − x·wᵢ and cᵢ = yᵢ − y·wᵢ,
//! the unnormalized barycentrics are b = a × c; β = b / Σb, z/w = Σβz / Σβw. This is the same
//! arithmetic as the visibility kernel, and it stays valid for triangles crossing w = 0.

use tch::{Kind, Tensor};

use super::visibility::{batched_positions, check_triangles};
use crate::EngineError;

/// Cyclic cross product over the last axis of `[N, 3]` tensors: rᵢ = u₍ᵢ₊₁₎v₍ᵢ₊₂₎ − u₍ᵢ₊₂₎v₍ᵢ₊₁₎.
fn cyclic_cross(u: &Tensor, v: &Tensor) -> Result<Tensor, tch::TchError> {
    let (u1, u2) = (u.f_roll([-1], [1])?, u.f_roll([-2], [1])?);
    let (v1, v2) = (v.f_roll([-1], [1])?, v.f_roll([-2], [1])?);
    u1.f_mul(&v2)?.f_sub(&u2.f_mul(&v1)?)
}

/// Flat indices of covered pixels and their 0-based triangle ids, from `[B, H, W]` ids + 1.
pub(crate) fn covered_pixels(ids_plus_one: &Tensor) -> Result<(Tensor, Tensor), tch::TchError> {
    let flat = ids_plus_one.f_reshape([-1])?;
    let covered = flat.f_gt(0)?.f_nonzero()?.f_squeeze_dim(1)?;
    let tri = flat.f_index_select(0, &covered)?.f_to_kind(Kind::Int64)?.f_sub_scalar(1)?;
    Ok((covered, tri))
}

/// `rast` `[B, H, W, 4]` (u, v, z/w, id + 1) and, with `with_derivatives`, `rast_db` (du/dx, du/dy,
/// dv/dx, dv/dy per pixel), for the triangle ids `ids` `[B, H, W]` (id + 1, int32).
pub fn barycentrics(
    pos: &Tensor,
    tris: &Tensor,
    ids: &Tensor,
    with_derivatives: bool,
) -> Result<(Tensor, Option<Tensor>), EngineError> {
    let pos = batched_positions("rasterize", pos)?;
    let (b, v) = (pos.size()[0], pos.size()[1]);
    check_triangles("rasterize", tris, v, pos.device())?;
    let (h, w) = match ids.size().as_slice() {
        &[ib, h, w] if ib == b => (h, w),
        shape => {
            return Err(EngineError::InvalidArgument {
                op: "rasterize",
                arg: "ids",
                reason: format!("expected [{b}, H, W], got {shape:?}"),
            });
        }
    };
    let kind = pos.kind();
    let (covered, tri) = covered_pixels(ids)?;
    let n = covered.size()[0];
    let batch = covered.f_div_scalar_mode(h * w, "floor")?;
    let pixel = covered.f_remainder(h * w)?;
    let (py, px) = (pixel.f_div_scalar_mode(w, "floor")?, pixel.f_remainder(w)?);
    let ndc = |p: &Tensor, size: i64| -> Result<Tensor, tch::TchError> {
        p.f_to_kind(kind)?
            .f_mul_scalar(2.0)?
            .f_add_scalar(1.0)?
            .f_div_scalar(size as f64)?
            .f_sub_scalar(1.0)?
            .f_unsqueeze(1)
    };
    let (x, y) = (ndc(&px, w)?, ndc(&py, h)?);

    let corners = tris.f_to_kind(Kind::Int64)?.f_index_select(0, &tri)?; // [N, 3]
    let global = corners.f_add(&batch.f_mul_scalar(v)?.f_unsqueeze(1)?)?;
    let p = pos
        .f_reshape([b * v, 4])?
        .f_index_select(0, &global.f_reshape([-1])?)?
        .f_reshape([n, 3, 4])?;
    let (px_, py_, pz, pw) =
        (p.f_select(2, 0)?, p.f_select(2, 1)?, p.f_select(2, 2)?, p.f_select(2, 3)?);
    let a = px_.f_sub(&x.f_mul(&pw)?)?;
    let c = py_.f_sub(&y.f_mul(&pw)?)?;
    let bary = cyclic_cross(&a, &c)?;
    let s = bary.f_sum_dim_intlist([1i64].as_slice(), true, kind)?;
    let beta = bary.f_div(&s)?;
    let z = beta.f_mul(&pz)?.f_sum_dim_intlist([1i64].as_slice(), false, kind)?;
    let wv = beta.f_mul(&pw)?.f_sum_dim_intlist([1i64].as_slice(), false, kind)?;
    let id_channel = tri.f_add_scalar(1)?.f_to_kind(kind)?;
    let values = Tensor::f_stack(
        &[beta.f_select(1, 0)?, beta.f_select(1, 1)?, z.f_div(&wv)?, id_channel],
        1,
    )?;
    let rast = Tensor::f_zeros([b * h * w, 4], (kind, pos.device()))?
        .f_index_copy(0, &covered, &values)?
        .f_reshape([b, h, w, 4])?;
    if !with_derivatives {
        return Ok((rast, None));
    }
    // b is linear in (x, y): ∂a/∂x = −w, ∂c/∂y = −w. Per pixel, x moves by 2/W and y by 2/H.
    let neg_w = pw.f_neg()?;
    let db_dx = cyclic_cross(&neg_w, &c)?;
    let db_dy = cyclic_cross(&a, &neg_w)?;
    let dbeta = |db: &Tensor, pixel_size: f64| -> Result<Tensor, tch::TchError> {
        let ds = db.f_sum_dim_intlist([1i64].as_slice(), true, kind)?;
        db.f_sub(&beta.f_mul(&ds)?)?.f_div(&s)?.f_mul_scalar(pixel_size)
    };
    let (dx, dy) = (dbeta(&db_dx, 2.0 / w as f64)?, dbeta(&db_dy, 2.0 / h as f64)?);
    let db_values = Tensor::f_stack(
        &[dx.f_select(1, 0)?, dy.f_select(1, 0)?, dx.f_select(1, 1)?, dy.f_select(1, 1)?],
        1,
    )?;
    let rast_db = Tensor::f_zeros([b * h * w, 4], (kind, pos.device()))?
        .f_index_copy(0, &covered, &db_values)?
        .f_reshape([b, h, w, 4])?;
    Ok((rast, Some(rast_db)))
}
