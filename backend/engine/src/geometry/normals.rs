//! Area-weighted vertex normals, differentiable in the positions.

use tch::{Kind, Tensor};

use crate::EngineError;

/// Unit normals `[V, 3]` for `vertices` `[V, 3]` and counter-clockwise `triangles` `[F, 3]`:
/// each vertex averages the normals of its triangles weighted by their area; an isolated vertex
/// gets +z rather than NaN.
pub fn vertex_normals(vertices: &Tensor, triangles: &Tensor) -> Result<Tensor, EngineError> {
    let t = triangles.f_to_kind(Kind::Int64)?;
    let corner = |i: i64| -> Result<Tensor, tch::TchError> {
        vertices.f_index_select(0, &t.f_select(1, i)?)
    };
    let (p0, p1, p2) = (corner(0)?, corner(1)?, corner(2)?);
    let face = p1.f_sub(&p0)?.f_linalg_cross(&p2.f_sub(&p0)?, -1)?; // 2·area·n
    let mut sum = vertices.f_zeros_like()?;
    for i in 0..3 {
        sum = sum.f_index_add(0, &t.f_select(1, i)?, &face)?;
    }
    let length = sum.f_norm_scalaropt_dim(2, [1i64].as_slice(), true)?;
    let fallback = Tensor::from_slice(&[0.0f32, 0.0, 1.0])
        .f_to_kind(vertices.kind())?
        .f_to_device(vertices.device())?;
    let isolated = length.f_le(1e-20)?;
    Ok(sum
        .f_div(&length.f_clamp_min(1e-20)?)?
        .f_where_self(&isolated.f_logical_not()?, &fallback.f_expand_as(&sum)?)?)
}
