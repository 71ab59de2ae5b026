//! The sparse-structure decoder (`SparseStructureDecoder`): a 3D convolutional decoder from the
//! stage-1 latent to occupancy logits (16³ → 64³ for the released model): an input convolution,
//! residual blocks (channel layer norm, SiLU, 3³ convolutions, 1³ skip where widths change),
//! convolutional 2× upsampling by 3D pixel shuffle, and a normed output convolution. Voxels with
//! a positive logit are the structure stage 2 fills.

use tch::nn::Path;
use tch::{Kind, Tensor};

use super::layers::LayerNorm;
use super::precision::Precision;
use super::trace::Trace;
use crate::weights::param;

/// Size of the decoder.
#[derive(Debug, Clone, PartialEq)]
pub struct DecoderConfig {
    /// Latent channels.
    pub latent_channels: i64,
    /// Output channels (1: occupancy).
    pub out_channels: i64,
    /// Widths of the resolution levels, coarse to fine; each step upsamples 2×.
    pub channels: Vec<i64>,
    /// Residual blocks per level.
    pub res_blocks: i64,
    /// Residual blocks before the first level.
    pub middle_blocks: i64,
}

impl DecoderConfig {
    /// The released `ss_dec_conv3d_16l8_fp16`.
    pub fn released() -> Self {
        Self {
            latent_channels: 8,
            out_channels: 1,
            channels: vec![512, 128, 32],
            res_blocks: 2,
            middle_blocks: 2,
        }
    }
}

/// A 3D convolution with `padding` (stride 1).
#[derive(Debug)]
struct Conv3d {
    weight: Tensor,
    bias: Tensor,
    padding: i64,
}

impl Conv3d {
    fn new(path: &Path<'_>, input: i64, output: i64, kernel: i64) -> Result<Self, tch::TchError> {
        Ok(Self {
            weight: param(path, "weight", &[output, input, kernel, kernel, kernel])?,
            bias: param(path, "bias", &[output])?,
            padding: kernel / 2,
        })
    }

    /// The convolution in `precision`; the result is float32.
    fn forward(&self, x: &Tensor, precision: Precision) -> Result<Tensor, tch::TchError> {
        let p = self.padding;
        precision.output(&precision.convolve(
            x,
            &self.weight,
            &self.bias,
            &[1, 1, 1],
            &[p, p, p],
        )?)
    }
}

/// Layer norm over the channels of `[B, C, D, H, W]`.
fn channel_norm(norm: &LayerNorm, x: &Tensor) -> Result<Tensor, tch::TchError> {
    norm.forward(&x.f_permute([0, 2, 3, 4, 1])?)?.f_permute([0, 4, 1, 2, 3])
}

#[derive(Debug)]
struct ResBlock {
    norm1: LayerNorm,
    conv1: Conv3d,
    norm2: LayerNorm,
    conv2: Conv3d,
}

impl ResBlock {
    fn new(path: &Path<'_>, channels: i64) -> Result<Self, tch::TchError> {
        Ok(Self {
            norm1: LayerNorm::new(&(path / "norm1"), channels, 1e-5)?,
            conv1: Conv3d::new(&(path / "conv1"), channels, channels, 3)?,
            norm2: LayerNorm::new(&(path / "norm2"), channels, 1e-5)?,
            conv2: Conv3d::new(&(path / "conv2"), channels, channels, 3)?,
        })
    }

    fn forward(&self, x: &Tensor, precision: Precision) -> Result<Tensor, tch::TchError> {
        let h = self.conv1.forward(&channel_norm(&self.norm1, x)?.f_silu()?, precision)?;
        let h = self.conv2.forward(&channel_norm(&self.norm2, &h)?.f_silu()?, precision)?;
        h.f_add(x)
    }
}

#[derive(Debug)]
enum Stage {
    Res(ResBlock),
    /// A 3³ convolution to 8× the next width, then 3D pixel shuffle.
    Upsample(Conv3d),
}

/// The decoder; parameter keys as the released checkpoint.
#[derive(Debug)]
pub struct SparseStructureDecoder {
    input_layer: Conv3d,
    middle: Vec<ResBlock>,
    blocks: Vec<Stage>,
    out_norm: LayerNorm,
    out_conv: Conv3d,
}

impl SparseStructureDecoder {
    /// The model's parameters under `path` (uninitialized; load a checkpoint into them).
    pub fn new(path: &Path<'_>, config: &DecoderConfig) -> Result<Self, tch::TchError> {
        let widths = &config.channels;
        let first = widths.first().copied().unwrap_or(1);
        let last = widths.last().copied().unwrap_or(1);
        let mut blocks = Vec::new();
        for (level, &c) in widths.iter().enumerate() {
            for _ in 0..config.res_blocks {
                blocks.push(Stage::Res(ResBlock::new(&(path / "blocks" / blocks.len()), c)?));
            }
            if let Some(&next) = widths.get(level + 1) {
                let conv = Conv3d::new(&(path / "blocks" / blocks.len() / "conv"), c, 8 * next, 3)?;
                blocks.push(Stage::Upsample(conv));
            }
        }
        Ok(Self {
            input_layer: Conv3d::new(&(path / "input_layer"), config.latent_channels, first, 3)?,
            middle: (0..config.middle_blocks)
                .map(|i| ResBlock::new(&(path / "middle_block" / i), first))
                .collect::<Result<_, _>>()?,
            blocks,
            out_norm: LayerNorm::new(&(path / "out_layer" / 0), last, 1e-5)?,
            out_conv: Conv3d::new(&(path / "out_layer" / 2), last, config.out_channels, 3)?,
        })
    }

    /// Logits `[B, out, R, R, R]` (float32) of a latent `[B, latent, r, r, r]`. Records
    /// `input_layer`, `middle_block` and `blocks.{i}`.
    pub fn forward(
        &self,
        latent: &Tensor,
        precision: Precision,
        trace: &mut Trace,
    ) -> Result<Tensor, tch::TchError> {
        let outer = precision.outside_blocks();
        let mut h = self.input_layer.forward(&latent.f_to_kind(Kind::Float)?, outer)?;
        trace.record("input_layer", &h);
        for block in &self.middle {
            h = block.forward(&h, precision)?;
        }
        trace.record("middle_block", &h);
        for (i, block) in self.blocks.iter().enumerate() {
            h = match block {
                Stage::Res(res) => res.forward(&h, precision)?,
                Stage::Upsample(conv) => pixel_shuffle_3d(&conv.forward(&h, precision)?, 2)?,
            };
            trace.record(format!("blocks.{i}"), &h);
        }
        self.out_conv.forward(&channel_norm(&self.out_norm, &h)?.f_silu()?, outer)
    }
}

/// `[B, C·s³, D, H, W]` → `[B, C, D·s, H·s, W·s]`, sub-voxel offsets (d, h, w) taken from the
/// channel in that order, as the reference.
pub fn pixel_shuffle_3d(x: &Tensor, s: i64) -> Result<Tensor, tch::TchError> {
    let z = x.size();
    let c = z[1] / (s * s * s);
    x.f_reshape([z[0], c, s, s, s, z[2], z[3], z[4]])?
        .f_permute([0, 1, 5, 2, 6, 3, 7, 4])?
        .f_reshape([z[0], c, z[2] * s, z[3] * s, z[4] * s])
}

/// Occupied voxels `[M, 4]` int32 `(batch, x, y, z)` of logits `[B, 1, R, R, R]`, in row-major
/// order (`torch.argwhere(logits > 0)`).
pub fn occupied(logits: &Tensor) -> Result<Tensor, tch::TchError> {
    let index = logits.f_gt(0.0)?.f_nonzero()?; // [M, 5]: batch, channel, x, y, z
    Tensor::f_cat(&[index.f_narrow(1, 0, 1)?, index.f_narrow(1, 2, 3)?], 1)?.f_to_kind(Kind::Int)
}
