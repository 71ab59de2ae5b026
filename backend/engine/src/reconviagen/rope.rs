//! VGGT's 2D rotary position embedding: the first half of each head's channels rotates with
//! the token's row, the second half with its column; within a half, channel pairs (i, i + d/2)
//! rotate by `position · base^(−2i/d)` (the "rotate half" pairing, not interleaved).

use tch::{Kind, Tensor};

/// Rotary embedding with frequency base `base` (100 in VGGT).
#[derive(Debug, Clone, Copy)]
pub struct Rope2d {
    /// Frequency base.
    pub base: f64,
}

impl Rope2d {
    /// `t` `[B, H, N, D]` rotated by integer positions `pos` `[B, N, 2]` (row, column).
    pub fn apply(&self, t: &Tensor, pos: &Tensor) -> Result<Tensor, tch::TchError> {
        let d = t.size()[3] / 2;
        let halves = t.f_chunk(2, -1)?;
        let rows = self.rotate(&halves[0], &pos.f_select(2, 0)?, d)?;
        let columns = self.rotate(&halves[1], &pos.f_select(2, 1)?, d)?;
        Tensor::f_cat(&[rows, columns], -1)
    }

    /// One half `[B, H, N, d]` rotated by positions `[B, N]`.
    fn rotate(&self, x: &Tensor, pos: &Tensor, d: i64) -> Result<Tensor, tch::TchError> {
        let device = x.device();
        let exponent =
            Tensor::f_arange_start_step(0, d, 2, (Kind::Float, device))?.f_div_scalar(d as f64)?;
        let inv_freq = Tensor::f_full([d / 2], self.base, (Kind::Float, device))?
            .f_pow(&exponent)?
            .f_reciprocal()?;
        let angle = pos.f_to_kind(Kind::Float)?.f_unsqueeze(-1)?.f_mul(&inv_freq)?; // [B, N, d/2]
        let angle = Tensor::f_cat(&[&angle, &angle], -1)?.f_unsqueeze(1)?; // [B, 1, N, d]
        let (cos, sin) = (angle.f_cos()?, angle.f_sin()?);
        let parts = x.f_chunk(2, -1)?;
        let rotated = Tensor::f_cat(&[parts[1].f_neg()?, parts[0].shallow_clone()], -1)?;
        x.f_mul(&cos)?.f_add(&rotated.f_mul(&sin)?)
    }
}
