//! Row-wise vector arithmetic on `[N, 3]` tensors (normals, directions), shared by shading,
//! tangent frames and the normal-map bake.

use tch::Tensor;

/// `[N, 1]` dot products of matching rows.
pub fn dot(a: &Tensor, b: &Tensor) -> Result<Tensor, tch::TchError> {
    a.f_mul(b)?.f_sum_dim_intlist([1i64].as_slice(), true, a.kind())
}

/// Rows scaled to unit length (zero rows stay zero).
pub fn normalize(v: &Tensor) -> Result<Tensor, tch::TchError> {
    v.f_div(&v.f_norm_scalaropt_dim(2, [1i64].as_slice(), true)?.f_clamp_min(1e-12)?)
}
