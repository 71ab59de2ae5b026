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

/// Rows gathered at once per kernel offset.
pub const CHUNK_ROWS: i64 = 1 << 20;

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

    /// The convolution of `x` in `precision`; float32 features out. The sum over kernel
    /// offsets runs in the matrix-product dtype, as spconv's fp16 path adds each offset's
    /// product into fp16 output, and the gathers go in chunks of [`CHUNK_ROWS`] rows, so that
    /// the 4M voxels of the mesh decoder's last level need no gigabyte-sized copies.
    pub fn forward(
        &self,
        x: &SparseTensor,
        precision: Precision,
    ) -> Result<SparseTensor, tch::TchError> {
        let kind = precision.matmul_kind();
        let (out_ch, in_ch) = (self.weight.size()[0], self.weight.size()[4]);
        let feats = precision.matmul_input(x.feats())?;
        // [k³, in, out]: one weight slice per kernel offset, in `kernel_offsets` order.
        let weights = if self.kernel == 1 {
            // spconv's 1×1×1 path: `features @ weight.view(in, out)`.
            self.weight.f_reshape([1, in_ch, out_ch])?.f_to_kind(kind)?
        } else {
            self.weight.f_reshape([out_ch, -1, in_ch])?.f_permute([1, 2, 0])?.f_to_kind(kind)?
        };
        // The centre offset reaches every voxel itself: a plain product starts the sum.
        let centre = weights.size()[0] / 2;
        let mut out = feats.f_matmul(&weights.f_get(centre)?)?;
        if self.kernel == 3 {
            let map = x.layout().neighbours()?;
            for k in (0..27).filter(|&k| k != centre) {
                let neighbour = map.f_get(k)?;
                let valid = neighbour.f_ge(0)?;
                let targets = valid.f_nonzero()?.f_squeeze_dim(1)?;
                let sources = neighbour.f_masked_select(&valid)?;
                let weight = weights.f_get(k)?;
                let n = targets.size()[0];
                let mut start = 0;
                while start < n {
                    let len = CHUNK_ROWS.min(n - start);
                    let part = feats
                        .f_index_select(0, &sources.f_narrow(0, start, len)?)?
                        .f_matmul(&weight)?;
                    let _ = out.f_index_add_(0, &targets.f_narrow(0, start, len)?, &part)?;
                    start += len;
                }
            }
        }
        let mut out = out.f_to_kind(Kind::Float)?;
        let _ = out.f_add_(&self.bias.f_to_kind(Kind::Float)?)?;
        x.with_feats(out)
    }
}
