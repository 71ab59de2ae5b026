//! The mesh decoder (`SLatMeshDecoder`) up to its head: the swin trunk, then two subdivision
//! blocks (each voxel split into 8, a group-normed convolutional res-block; 64³ → 256³ for the
//! released model), and a linear head with, per fine voxel, 8 corner SDF values, 8 corner
//! deformations, 21 FlexiCubes weights and 8 corner colours (6 channels). `flexicubes` turns
//! the head's output into a mesh.

use tch::nn::Path;

use super::layers::Linear;
use super::precision::Precision;
use super::sparse::SparseTensor;
use super::sparse::conv::SubmanifoldConv;
use super::sparse::norm::SparseGroupNorm;
use super::sparse::resample::subdivide;
use super::swin_transformer::{SwinConfig, SwinTransformer};
use super::trace::Trace;

/// Channels of the head: sdf 8, deformation 24, weights 21, colour 48.
pub const HEAD_CHANNELS: i64 = 8 + 24 + 21 + 48;

/// Size of the mesh decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeshDecoderConfig {
    /// The trunk.
    pub trunk: SwinConfig,
    /// Latent grid side (the mesh is extracted at 4×).
    pub resolution: i64,
}

impl MeshDecoderConfig {
    /// The released `slat_dec_mesh_swin8_B_64l8m256c_fp16`.
    pub const RELEASED: Self = Self { trunk: SwinConfig::RELEASED, resolution: 64 };
}

/// `SparseSubdivideBlock3d`: group norm and SiLU, subdivide, conv, group norm, SiLU, conv, plus
/// the subdivided input through a 1×1×1 convolution.
#[derive(Debug)]
struct SubdivideBlock {
    act_norm: SparseGroupNorm,
    conv1: SubmanifoldConv,
    out_norm: SparseGroupNorm,
    conv2: SubmanifoldConv,
    skip: SubmanifoldConv,
}

impl SubdivideBlock {
    fn new(path: &Path<'_>, channels: i64, out: i64) -> Result<Self, tch::TchError> {
        Ok(Self {
            act_norm: SparseGroupNorm::new(&(path / "act_layers" / 0), 32, channels)?,
            conv1: SubmanifoldConv::new(&(path / "out_layers" / 0), channels, out, 3)?,
            out_norm: SparseGroupNorm::new(&(path / "out_layers" / 1), 32, out)?,
            conv2: SubmanifoldConv::new(&(path / "out_layers" / 3), out, out, 3)?,
            skip: SubmanifoldConv::new(&(path / "skip_connection"), channels, out, 1)?,
        })
    }

    /// The block on `x`. Subdividing copies each voxel's features to its 8 children, so the
    /// skip's per-voxel 1×1×1 convolution runs before the copy (8× less work, same values) and
    /// the convolution's input is copied already in its matrix-product dtype: at 256³ the
    /// children of a 60k-voxel object are 4M rows.
    fn forward(
        &self,
        x: &SparseTensor,
        precision: Precision,
    ) -> Result<SparseTensor, tch::TchError> {
        // Each step replaces `h`, so that what it replaced is freed before the next step (at
        // 256³ every intermediate is a gigabyte).
        let mut h = self.act_norm.forward(x)?;
        h = h.with_feats(precision.matmul_input(&h.feats().f_silu()?)?)?;
        h = subdivide(&h)?;
        h = self.conv1.forward(&h, precision)?;
        h = self.out_norm.forward(&h)?;
        // The norm's output is this block's own: SiLU in place.
        let _ = h.feats().shallow_clone().f_silu_()?;
        h = self.conv2.forward(&h, precision)?;
        let skip = self.skip.forward(x, precision)?;
        let (layout, mut feats) = (h.layout().clone(), h.feats().shallow_clone());
        drop(h);
        let _ = feats.f_add_(&skip.feats().f_repeat_interleave_self_int(8, Some(0), None)?)?;
        SparseTensor::new(layout, feats)
    }
}

/// The mesh decoder up to its head; parameter keys as the released checkpoint.
#[derive(Debug)]
pub struct MeshDecoder {
    trunk: SwinTransformer,
    upsample: [SubdivideBlock; 2],
    out_layer: Linear,
}

impl MeshDecoder {
    /// The decoder's parameters under `path`.
    pub fn new(path: &Path<'_>, config: MeshDecoderConfig) -> Result<Self, tch::TchError> {
        let c = config.trunk.model_channels;
        Ok(Self {
            trunk: SwinTransformer::new(path, config.trunk)?,
            upsample: [
                SubdivideBlock::new(&(path / "upsample" / 0), c, c / 4)?,
                SubdivideBlock::new(&(path / "upsample" / 1), c / 4, c / 8)?,
            ],
            out_layer: Linear::new(&(path / "out_layer"), c / 8, HEAD_CHANNELS)?,
        })
    }

    /// The head's output on the fine voxels of latent `x`. Records the trunk's names,
    /// `upsample.{0,1}` and `out_layer`.
    pub fn forward(
        &self,
        x: &SparseTensor,
        precision: Precision,
        trace: &mut Trace,
    ) -> Result<SparseTensor, tch::TchError> {
        let mut h = self.trunk.forward(x, precision, trace)?;
        for (i, block) in self.upsample.iter().enumerate() {
            h = block.forward(&h, precision)?;
            trace.record(format!("upsample.{i}"), h.feats());
        }
        let out = h.with_feats(self.out_layer.forward(h.feats(), precision.outside_blocks())?)?;
        trace.record("out_layer", out.feats());
        Ok(out)
    }
}
