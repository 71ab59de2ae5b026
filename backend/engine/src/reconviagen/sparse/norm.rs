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

    /// Normalized `x`, float32.
    pub fn forward(&self, x: &SparseTensor) -> Result<SparseTensor, tch::TchError> {
        let sequence = x.feats().f_to_kind(Kind::Float)?.f_transpose(0, 1)?.f_unsqueeze(0)?;
        let normed = sequence.f_group_norm(
            self.groups,
            Some(&self.weight.f_to_kind(Kind::Float)?),
            Some(&self.bias.f_to_kind(Kind::Float)?),
            1e-5,
            false,
        )?;
        x.with_feats(normed.f_squeeze_dim(0)?.f_transpose(0, 1)?.f_contiguous()?)
    }
}
