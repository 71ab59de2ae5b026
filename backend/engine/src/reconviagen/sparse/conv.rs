//! Submanifold 3D convolution (spconv's `SubMConv3d`, as TRELLIS's `SparseConv3d` with stride 1
//! builds it): the output has the input's voxels, and each gathers its active neighbours only.
//! Per kernel offset: gather the neighbours' features, one matrix product with that offset's
//! weight slice, and an indexed add into the output — memory stays at one `[M, C]` gather at a
//! time, where one im2col matrix would take 27 of them. Weights are stored `[out, k, k, k, in]`
//! as the reference's checkpoints; spconv reads a 1×1×1 kernel's memory as `[in, out]` instead
//! (a plain matrix product), so its `[out, 1, 1, 1, in]` tensor is reinterpreted the same way.

use tch::nn::Path;
use tch::{Kind, Tensor};

use super::SparseTensor;
use crate::reconviagen::precision::Precision;
use crate::weights::param;

/// A submanifold convolution with a 3×3×3 or 1×1×1 kernel.
#[derive(Debug)]
pub struct SubmanifoldConv {
    weight: Tensor,
    bias: Tensor,
    kernel: i64,
}

impl SubmanifoldConv {
    /// `conv.weight` `[out, k, k, k, in]` and `conv.bias` under `path` (spconv's module sits
    /// in the reference's `conv` attribute).
    pub fn new(
        path: &Path<'_>,
        input: i64,
        output: i64,
        kernel: i64,
    ) -> Result<Self, tch::TchError> {
        if kernel != 1 && kernel != 3 {
            return Err(tch::TchError::Shape(format!("kernel {kernel}: only 1 and 3 are used")));
        }
        let path = path / "conv";
        Ok(Self {
            weight: param(&path, "weight", &[output, kernel, kernel, kernel, input])?,
            bias: param(&path, "bias", &[output])?,
            kernel,
        })
    }

    /// The convolution of `x` in `precision`; float32 features out.
    pub fn forward(
        &self,
        x: &SparseTensor,
        precision: Precision,
    ) -> Result<SparseTensor, tch::TchError> {
        let kind = precision.matmul_kind();
        let (out_ch, in_ch) = (self.weight.size()[0], self.weight.size()[4]);
        let feats = precision.matmul_input(x.feats())?;
        // [k³, out, in]: one weight slice per kernel offset, in `kernel_offsets` order.
        let weights = if self.kernel == 1 {
            // spconv's 1×1×1 path: `features @ weight.view(in, out)`.
            self.weight.f_reshape([1, in_ch, out_ch])?.f_transpose(1, 2)?.f_to_kind(kind)?
        } else {
            self.weight.f_reshape([out_ch, -1, in_ch])?.f_transpose(0, 1)?.f_to_kind(kind)?
        };
        let product = |rows: &Tensor, k: i64| -> Result<Tensor, tch::TchError> {
            feats.f_index_select(0, rows)?.f_matmul(&weights.f_get(k)?.f_transpose(0, 1)?)
        };
        let all = Tensor::f_arange(x.layout().len(), (Kind::Int64, feats.device()))?;
        // The centre offset reaches every voxel itself: a plain product starts the sum.
        let centre = weights.size()[0] / 2;
        let mut out = product(&all, centre)?.f_to_kind(Kind::Float)?;
        if self.kernel == 3 {
            let map = x.layout().neighbours()?;
            for k in (0..27).filter(|&k| k != centre) {
                let neighbour = map.f_get(k)?;
                let valid = neighbour.f_ge(0)?;
                let targets = valid.f_nonzero()?.f_squeeze_dim(1)?;
                if targets.size()[0] == 0 {
                    continue;
                }
                let sources = neighbour.f_masked_select(&valid)?;
                let part = product(&sources, k)?.f_to_kind(Kind::Float)?;
                out = out.f_index_add(0, &targets, &part)?;
            }
        }
        let out = out.f_add(&self.bias.f_to_kind(Kind::Float)?)?;
        x.with_feats(out)
    }
}
