//! Tangent frames of a UV-mapped mesh and the change between world-space and tangent-space
//! normals, in glTF's convention: TANGENT's xyz points along +u, and its w is the sign that makes
//! the bitangent `cross(n, t) · w` point towards the top of the texture image (smaller v, as
//! MikkTSpace frames from Blender do once exported), the axis a normal map's green channel
//! measures. Writing these frames into the GLB makes every viewer decode the baked normal map in
//! exactly the frame it was baked in.

use tch::{Kind, Tensor};

use super::rows::{dot, normalize};
use crate::EngineError;

/// Per-vertex tangents `[U, 4]` for `positions` `[U, 3]`, `uvs` `[U, 2]`, `triangles` `[F, 3]`
/// and unit `normals` `[U, 3]`. Each triangle adds its ∂p/∂u and ∂p/∂v weighted by its UV area;
/// the sum is made orthogonal to the normal. A vertex whose triangles have no UV extent gets
/// any unit vector orthogonal to its normal, with w = 1.
pub fn vertex_tangents(
    positions: &Tensor,
    uvs: &Tensor,
    triangles: &Tensor,
    normals: &Tensor,
) -> Result<Tensor, EngineError> {
    let t = triangles.f_to_kind(Kind::Int64)?;
    let at = |values: &Tensor, i: i64| values.f_index_select(0, &t.f_select(1, i)?);
    let (p0, p1, p2) = (at(positions, 0)?, at(positions, 1)?, at(positions, 2)?);
    let (q0, q1, q2) = (at(uvs, 0)?, at(uvs, 1)?, at(uvs, 2)?);
    let (e1, e2) = (p1.f_sub(&p0)?, p2.f_sub(&p0)?);
    let (d1, d2) = (q1.f_sub(&q0)?, q2.f_sub(&q0)?);
    let (du1, dv1) = (d1.f_narrow(1, 0, 1)?, d1.f_narrow(1, 1, 1)?);
    let (du2, dv2) = (d2.f_narrow(1, 0, 1)?, d2.f_narrow(1, 1, 1)?);
    // ∂p/∂u = (e1 dv2 − e2 dv1) / r and ∂p/∂v = (e2 du1 − e1 du2) / r with r the doubled signed
    // UV area; multiplying by |r| weights each triangle by its UV area and never divides by 0.
    let r_sign = du1.f_mul(&dv2)?.f_sub(&du2.f_mul(&dv1)?)?.f_sign()?;
    let dpdu = e1.f_mul(&dv2)?.f_sub(&e2.f_mul(&dv1)?)?.f_mul(&r_sign)?;
    let dpdv = e2.f_mul(&du1)?.f_sub(&e1.f_mul(&du2)?)?.f_mul(&r_sign)?;
    let mut sum_u = positions.f_zeros_like()?;
    let mut sum_v = positions.f_zeros_like()?;
    for i in 0..3 {
        let index = t.f_select(1, i)?;
        sum_u = sum_u.f_index_add(0, &index, &dpdu)?;
        sum_v = sum_v.f_index_add(0, &index, &dpdv)?;
    }
    let n = normals;
    let tangent = sum_u.f_sub(&n.f_mul(&dot(n, &sum_u)?)?)?;
    // Fallback: x (or y, where the normal is close to x) made orthogonal to n.
    let device = positions.device();
    let x =
        Tensor::from_slice(&[1.0f32, 0.0, 0.0]).f_to_kind(positions.kind())?.f_to_device(device)?;
    let y =
        Tensor::from_slice(&[0.0f32, 1.0, 0.0]).f_to_kind(positions.kind())?.f_to_device(device)?;
    let near_x = n.f_narrow(1, 0, 1)?.f_abs()?.f_gt(0.9)?;
    let axis = y.f_expand_as(n)?.f_where_self(&near_x, &x.f_expand_as(n)?)?;
    let fallback = axis.f_sub(&n.f_mul(&dot(n, &axis)?)?)?;
    let length = tangent.f_norm_scalaropt_dim(2, [1i64].as_slice(), true)?;
    let scale = sum_u.f_norm_scalaropt_dim(2, [1i64].as_slice(), true)?;
    let degenerate = length.f_le_tensor(&scale.f_mul_scalar(1e-6)?.f_clamp_min(1e-20)?)?;
    let tangent = normalize(&fallback.f_where_self(&degenerate, &tangent)?)?;
    // Image-up is −v: w = +1 when cross(n, t) agrees with −∂p/∂v.
    let w = dot(&n.f_linalg_cross(&tangent, -1)?, &sum_v)?.f_le(0.0)?;
    let w = w.f_to_kind(positions.kind())?.f_mul_scalar(2.0)?.f_sub_scalar(1.0)?;
    Ok(Tensor::f_cat(&[tangent, w], 1)?)
}

/// The orthonormal frame (t, b, n) of interpolated `tangents` `[N, 4]` and `normals` `[N, 3]`.
fn frame(tangents: &Tensor, normals: &Tensor) -> Result<[Tensor; 3], EngineError> {
    let n = normalize(normals)?;
    let t = tangents.f_narrow(1, 0, 3)?;
    let t = normalize(&t.f_sub(&n.f_mul(&dot(&n, &t)?)?)?)?;
    // w < 0 flips; anything else (an interpolated 0 included) does not, as in the viewer.
    let w = tangents
        .f_narrow(1, 3, 1)?
        .f_lt(0.0)?
        .f_to_kind(normals.kind())?
        .f_mul_scalar(-2.0)?
        .f_add_scalar(1.0)?;
    let b = n.f_linalg_cross(&t, -1)?.f_mul(&w)?;
    Ok([t, b, n])
}

/// World-space unit normals `[N, 3]` of tangent-space vectors `local` `[N, 3]`.
pub fn tangent_to_world(
    local: &Tensor,
    tangents: &Tensor,
    normals: &Tensor,
) -> Result<Tensor, EngineError> {
    let [t, b, n] = frame(tangents, normals)?;
    let component = |i: i64| local.f_narrow(1, i, 1);
    let world = t
        .f_mul(&component(0)?)?
        .f_add(&b.f_mul(&component(1)?)?)?
        .f_add(&n.f_mul(&component(2)?)?)?;
    Ok(normalize(&world)?)
}

/// Tangent-space components `[N, 3]` of world-space vectors `world` `[N, 3]`.
pub fn world_to_tangent(
    world: &Tensor,
    tangents: &Tensor,
    normals: &Tensor,
) -> Result<Tensor, EngineError> {
    let [t, b, n] = frame(tangents, normals)?;
    Ok(Tensor::f_cat(&[dot(world, &t)?, dot(world, &b)?, dot(world, &n)?], 1)?)
}
