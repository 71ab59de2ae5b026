//! Windowed self-attention over voxels (TRELLIS's "swin" mode): the grid is cut into cubes of
//! `size` voxels a side, shifted by `shift` in every axis, and each voxel attends to the voxels
//! of its own cube only — exact softmax attention per window, as the reference's block-diagonal
//! path computes it. Windows are padded to the longest and masked, so one batched attention
//! call covers them all.

use tch::{Kind, Tensor};

use crate::reconviagen::precision::Precision;

/// Which voxels share a window.
#[derive(Debug)]
pub struct Partition {
    /// `[W, L]`: the rows of each window's voxels, padded with M (one past the last row).
    gather: Tensor,
    /// `[W, L]`: true where `gather` holds a voxel.
    valid: Tensor,
}

impl Partition {
    /// Windows of side `size` over `coords` `[M, 3]` shifted by `shift`, in the reference's
    /// window order (row-major over the shifted grid of windows).
    pub fn new(coords: &Tensor, size: i64, shift: i64) -> Result<Self, tch::TchError> {
        let m = coords.size()[0];
        let device = coords.device();
        if m == 0 {
            let empty = Tensor::f_empty([0, 0], (Kind::Int64, device))?;
            return Ok(Self { valid: empty.f_ge(0)?, gather: empty });
        }
        let shifted = coords.f_add_scalar(shift)?;
        let extent = shifted.f_amax([0i64].as_slice(), false)?;
        let [_, ny, nz] = [0, 1, 2].map(|d| (extent.int64_value(&[d]) + 1 + size - 1) / size);
        let cell = shifted.f_div_scalar_mode(size, "floor")?;
        let index = cell
            .f_select(1, 0)?
            .f_mul_scalar(ny * nz)?
            .f_add(&cell.f_select(1, 1)?.f_mul_scalar(nz)?)?
            .f_add(&cell.f_select(1, 2)?)?;
        let (sorted, order) = index.f_sort_stable(true, 0, false)?;
        let (_, _, counts) = sorted.f_unique_consecutive(false, true, Some(0))?;
        let windows = counts.size()[0];
        let longest = counts.f_max()?.int64_value(&[]);
        let starts = counts.f_cumsum(0, Kind::Int64)?.f_sub(&counts)?;
        let window = Tensor::f_arange(windows, (Kind::Int64, device))?
            .f_repeat_interleave_self_tensor(&counts, Some(0), None)?;
        let position = Tensor::f_arange(m, (Kind::Int64, device))?
            .f_sub(&starts.f_repeat_interleave_self_tensor(&counts, Some(0), None)?)?;
        let gather = Tensor::f_full([windows, longest], m, (Kind::Int64, device))?.f_index_put(
            &[Some(window), Some(position)],
            &order,
            false,
        )?;
        Ok(Self { valid: gather.f_lt(m)?, gather })
    }

    /// Number of windows.
    pub fn windows(&self) -> i64 {
        self.gather.size()[0]
    }

    /// Softmax attention of `q`, `k`, `v` `[M, H, D]` within each window, in `precision`'s
    /// matrix-product dtype; `[M, H, D]` float32 out.
    pub fn attend(
        &self,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        precision: Precision,
    ) -> Result<Tensor, tch::TchError> {
        let (m, h, d) = (q.size()[0], q.size()[1], q.size()[2]);
        if m == 0 {
            return Tensor::f_zeros([0, h, d], (Kind::Float, q.device()));
        }
        // [W, L, H, D] → [W, H, L, D], the padding row being zeros.
        let windowed = |t: &Tensor| -> Result<Tensor, tch::TchError> {
            let padded =
                Tensor::f_cat(&[t.shallow_clone(), t.f_narrow(0, 0, 1)?.f_zeros_like()?], 0)?;
            padded
                .f_index_select(0, &self.gather.f_reshape([-1])?)?
                .f_reshape([self.gather.size()[0], self.gather.size()[1], h, d])?
                .f_transpose(1, 2)
        };
        let mask = self.valid.f_unsqueeze(1)?.f_unsqueeze(1)?;
        let out = precision.attend_masked(&windowed(q)?, &windowed(k)?, &windowed(v)?, &mask)?;
        let out = out.f_transpose(1, 2)?.f_reshape([-1, h, d])?;
        let valid = self.valid.f_reshape([-1])?;
        let rows = self.gather.f_reshape([-1])?.f_masked_select(&valid)?;
        let picked = out.f_index_select(0, &valid.f_nonzero()?.f_squeeze_dim(1)?)?;
        Tensor::f_zeros([m, h, d], (Kind::Float, q.device()))?.f_index_put(
            &[Some(rows)],
            &picked,
            false,
        )
    }
}
