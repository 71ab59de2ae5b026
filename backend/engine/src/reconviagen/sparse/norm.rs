//! Group normalization over all voxels of a sparse tensor (`SparseGroupNorm32`: the features as
//! one `[1, C, M]` sequence, in float32).

use tch::nn::Path;
use tch::{Kind, Tensor};

use super::SparseTensor;
use crate::weights::param;

/// Group norm with `weight` and `bias` `[C]`, eps 1e-5.
#[derive(Debug)]
pub struct SparseGroupNorm {
    groups: i64,
    weight: Tensor,
    bias: Tensor,
}

impl SparseGroupNorm {
    /// Parameters under `path`.
    pub fn new(path: &Path<'_>, groups: i64, channels: i64) -> Result<Self, tch::TchError> {
        Ok(Self {
            groups,
            weight: param(path, "weight", &[channels])?,
            bias: param(path, "bias", &[channels])?,
        })
    }

    /// Normalized `x`, float32. Statistics per group over all voxels, computed on the `[M, C]`
    /// layout directly (the `[1, C, M]` transposes of a library group norm would copy the
    /// features three times).
    pub fn forward(&self, x: &SparseTensor) -> Result<SparseTensor, tch::TchError> {
        let (m, c) = (x.feats().size()[0], x.feats().size()[1]);
        let grouped =
            x.feats().f_to_kind(Kind::Float)?.f_reshape([m, self.groups, c / self.groups])?;
        let dims = [0i64, 2];
        let (var, mean) = grouped.f_var_mean_correction(dims.as_slice(), 0, true)?;
        let rstd = var.f_add_scalar(1e-5)?.f_rsqrt()?;
        let mut y = grouped.f_sub(&mean)?;
        drop(grouped);
        let _ = y.f_mul_(&rstd)?;
        let mut y = y.f_reshape([m, c])?;
        let _ = y.f_mul_(&self.weight.f_to_kind(Kind::Float)?)?;
        let _ = y.f_add_(&self.bias.f_to_kind(Kind::Float)?)?;
        x.with_feats(y)
    }
}
