//! The uniform ("umbrella") Laplacian of per-vertex values over a triangle mesh.

use tch::{Kind, Tensor};

use crate::EngineError;

/// For each vertex, the mean of its triangles' other corners minus the vertex itself, for
/// `values` `[V, C]` over `triangles` `[F, 3]`. An edge shared by two triangles counts twice,
/// as in nvdiffrec's `laplace_regularizer_const`; isolated vertices get zero.
pub fn umbrella(values: &Tensor, triangles: &Tensor) -> Result<Tensor, EngineError> {
    let t = triangles.f_to_kind(Kind::Int64)?;
    let corner = |i: i64| values.f_index_select(0, &t.f_select(1, i)?);
    let (v0, v1, v2) = (corner(0)?, corner(1)?, corner(2)?);
    let mut term = values.f_zeros_like()?;
    let mut count = Tensor::f_zeros([values.size()[0], 1], (values.kind(), values.device()))?;
    let two = Tensor::f_full([t.size()[0], 1], 2.0, (values.kind(), values.device()))?;
    for (i, (a, b, c)) in
        [(&v0, &v1, &v2), (&v1, &v0, &v2), (&v2, &v0, &v1)].into_iter().enumerate()
    {
        let index = t.f_select(1, i as i64)?;
        term = term.f_index_add(0, &index, &b.f_sub(a)?.f_add(&c.f_sub(a)?)?)?;
        count = count.f_index_add(0, &index, &two)?;
    }
    Ok(term.f_div(&count.f_clamp_min(1.0)?)?)
}

/// `vertices` `[V, 3]` after `rounds` of uniform Laplacian smoothing (each vertex moves halfway
/// to the mean of its neighbours per round).
pub fn smooth(vertices: &Tensor, triangles: &Tensor, rounds: usize) -> Result<Tensor, EngineError> {
    let mut p = vertices.f_detach()?;
    for _ in 0..rounds {
        p = p.f_add(&umbrella(&p, triangles)?.f_mul_scalar(0.5)?)?;
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn umbrella_matches_a_hand_computed_fan() {
        // A square split into two triangles; vertex 0 sees 1 and 2 (triangle 0) and 2, 3
        // (triangle 1): mean of 1, 2, 2, 3.
        let p =
            Tensor::from_slice(&[0.0f64, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0])
                .reshape([4, 3]);
        let t = Tensor::from_slice(&[0i64, 1, 2, 0, 2, 3]).reshape([2, 3]);
        let u = umbrella(&p, &t).unwrap();
        let row0 = Vec::<f64>::try_from(u.get(0)).unwrap();
        assert_eq!(row0, vec![0.75, 0.75, 0.0]);
        // Smoothing a flat mesh keeps it flat; a spike is pulled in.
        let spiked = p.copy();
        let _ = spiked.get(0).get(2).fill_(1.0);
        let smoothed = smooth(&spiked, &t, 3).unwrap();
        assert!(f64::try_from(smoothed.get(0).get(2)).unwrap() < 0.5);
    }
}
