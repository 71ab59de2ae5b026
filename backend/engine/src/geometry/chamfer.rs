//! Surface comparison for the quality benchmarks: uniform area-weighted point sampling, the
//! Chamfer-L1 distance (mean of the two directed mean nearest-neighbour Euclidean distances) and
//! surface area.

use tch::{Device, Kind, Tensor};

use crate::EngineError;

/// Areas of each triangle `[F]` of `vertices` `[V, 3]` / `triangles` `[F, 3]`.
pub fn triangle_areas(vertices: &Tensor, triangles: &Tensor) -> Result<Tensor, EngineError> {
    let t = triangles.f_to_kind(Kind::Int64)?;
    let corner = |i: i64| vertices.f_index_select(0, &t.f_select(1, i)?);
    let (a, b, c) = (corner(0)?, corner(1)?, corner(2)?);
    Ok(b.f_sub(&a)?
        .f_linalg_cross(&c.f_sub(&a)?, -1)?
        .f_norm_scalaropt_dim(2, [1i64].as_slice(), false)?
        .f_mul_scalar(0.5)?)
}

/// Total surface area.
pub fn surface_area(vertices: &Tensor, triangles: &Tensor) -> Result<f64, EngineError> {
    Ok(triangle_areas(vertices, triangles)?.f_sum(Kind::Double)?.f_double_value(&[])?)
}

/// `count` points uniformly distributed over the surface (triangles picked by area, then uniform
/// barycentrics), using the global tch generator.
pub fn sample_surface(
    vertices: &Tensor,
    triangles: &Tensor,
    count: i64,
) -> Result<Tensor, EngineError> {
    let areas = triangle_areas(vertices, triangles)?.f_to_kind(Kind::Double)?;
    if areas.numel() == 0 || areas.f_sum(Kind::Double)?.f_double_value(&[])? <= 0.0 {
        return Err(EngineError::InvalidArgument {
            op: "sample_surface",
            arg: "triangles",
            reason: "the surface has no area".into(),
        });
    }
    let picks = areas.f_multinomial(count, true)?;
    let t = triangles.f_to_kind(Kind::Int64)?.f_index_select(0, &picks)?;
    let corner = |i: i64| vertices.f_to_kind(Kind::Double)?.f_index_select(0, &t.f_select(1, i)?);
    let (a, b, c) = (corner(0)?, corner(1)?, corner(2)?);
    let r1 = Tensor::f_rand([count, 1], (Kind::Double, vertices.device()))?.f_sqrt()?;
    let r2 = Tensor::f_rand([count, 1], (Kind::Double, vertices.device()))?;
    // p = (1 − √r1) a + √r1 (1 − r2) b + √r1 r2 c
    Ok(a.f_mul(&r1.f_neg()?.f_add_scalar(1.0)?)?
        .f_add(&b.f_mul(&r1.f_mul(&r2.f_neg()?.f_add_scalar(1.0)?)?)?)?
        .f_add(&c.f_mul(&r1.f_mul(&r2)?)?)?)
}

/// Distance `[N]` (float32, on `device`) from each point of `from` `[N, 3]` to its nearest point
/// of `to` `[M, 3]`, brute force in chunks (exact; fast on a GPU).
pub fn nearest_distances(
    from: &Tensor,
    to: &Tensor,
    device: Device,
) -> Result<Tensor, EngineError> {
    let (from, to) = (
        from.f_to_kind(Kind::Float)?.f_to_device(device)?,
        to.f_to_kind(Kind::Float)?.f_to_device(device)?,
    );
    let n = from.size()[0];
    let chunk = ((1 << 26) / to.size()[0].max(1)).max(1);
    let mut parts = Vec::new();
    for start in (0..n).step_by(chunk as usize) {
        let part = from.f_narrow(0, start, chunk.min(n - start))?;
        parts.push(Tensor::f_cdist(&part, &to, 2.0, None)?.f_amin([1i64].as_slice(), false)?);
    }
    if parts.is_empty() {
        return Ok(Tensor::f_zeros([0], (Kind::Float, device))?);
    }
    Ok(Tensor::f_cat(&parts, 0)?)
}

/// Mean of [`nearest_distances`].
pub fn mean_nearest_distance(
    from: &Tensor,
    to: &Tensor,
    device: Device,
) -> Result<f64, EngineError> {
    let n = from.size()[0].max(1);
    Ok(nearest_distances(from, to, device)?.f_sum(Kind::Double)?.f_double_value(&[])? / n as f64)
}

/// Chamfer-L1 between two meshes with `samples` points on each.
pub fn chamfer_l1(
    a: (&Tensor, &Tensor),
    b: (&Tensor, &Tensor),
    samples: i64,
    device: Device,
) -> Result<f64, EngineError> {
    let pa = sample_surface(a.0, a.1, samples)?;
    let pb = sample_surface(b.0, b.1, samples)?;
    Ok(0.5 * (mean_nearest_distance(&pa, &pb, device)? + mean_nearest_distance(&pb, &pa, device)?))
}
