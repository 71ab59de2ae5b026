//! The stage-2 flow model (`SLatFlowModel`): a sparse U-DiT over the structured latent. Sparse
//! convolutional res-blocks (timestep-modulated) pool the voxels by 2 per stage, full
//! self-attention transformer blocks with cross-attention to the per-view conditions (averaged
//! over views) and adaLN modulation run on the pooled voxels with an absolute position
//! embedding, and res-blocks with skip connections bring them back; a non-affine layer norm
//! and a linear layer give the velocity per voxel.

use tch::nn::Path;
use tch::{Kind, Tensor};

use super::flow::{ModulatedBlock, TimestepEmbedder};
use super::layers::{LayerNorm, Linear};
use super::precision::Precision;
use super::sparse::SparseTensor;
use super::sparse::conv::SubmanifoldConv;
use super::sparse::position;
use super::sparse::resample::{Pooled, downsample, upsample};
use super::trace::Trace;

/// Size of the stage-2 flow model.
#[derive(Debug, Clone, PartialEq)]
pub struct SlatFlowConfig {
    /// Latent channels in and out.
    pub latent_channels: i64,
    /// Token width of the transformer.
    pub model_channels: i64,
    /// Condition width.
    pub cond_channels: i64,
    /// Transformer blocks.
    pub blocks: i64,
    /// Attention heads.
    pub heads: i64,
    /// Res-blocks per resolution stage.
    pub io_res_blocks: i64,
    /// Widths of the resolution stages, finest first (one pooling by 2 each).
    pub io_channels: Vec<i64>,
}

impl SlatFlowConfig {
    /// The released `slat_flow_img_dit_L_64l8p2_fp16`.
    pub fn released() -> Self {
        Self {
            latent_channels: 8,
            model_channels: 1024,
            cond_channels: 1024,
            blocks: 24,
            heads: 16,
            io_res_blocks: 2,
            io_channels: vec![128],
        }
    }
}

/// Whether a res-block changes resolution first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resample {
    Keep,
    Down,
    Up,
}

/// `SparseResBlock3d`: (resample), norm, SiLU, conv, timestep-modulated norm, SiLU, conv, plus a
/// skip (linear when the width changes).
#[derive(Debug)]
struct ResBlock {
    norm1: LayerNorm,
    norm2: LayerNorm,
    conv1: SubmanifoldConv,
    conv2: SubmanifoldConv,
    emb: Linear,
    skip: Option<Linear>,
    resample: Resample,
}

impl ResBlock {
    fn new(
        path: &Path<'_>,
        channels: i64,
        emb_channels: i64,
        out: i64,
        resample: Resample,
    ) -> Result<Self, tch::TchError> {
        Ok(Self {
            norm1: LayerNorm::new(&(path / "norm1"), channels, 1e-6)?,
            norm2: LayerNorm::plain(1e-6),
            conv1: SubmanifoldConv::new(&(path / "conv1"), channels, out, 3)?,
            conv2: SubmanifoldConv::new(&(path / "conv2"), out, out, 3)?,
            emb: Linear::new(&(path / "emb_layers" / 1), emb_channels, 2 * out)?,
            skip: (channels != out)
                .then(|| Linear::new(&(path / "skip_connection"), channels, out))
                .transpose()?,
            resample,
        })
    }

    /// `x` at timestep embedding `t_emb` `[1, C_emb]`; a pooling pushes onto `pooled`, an
    /// upsampling pops the matching one.
    fn forward(
        &self,
        x: SparseTensor,
        t_emb: &Tensor,
        pooled: &mut Vec<Pooled>,
        precision: Precision,
    ) -> Result<SparseTensor, tch::TchError> {
        let modulation = self.emb.forward(&t_emb.f_silu()?, precision)?.f_chunk(2, 1)?;
        let x = match self.resample {
            Resample::Keep => x,
            Resample::Down => {
                let (coarse, pooling) = downsample(&x)?;
                pooled.push(pooling);
                coarse
            }
            Resample::Up => {
                let pooling = pooled.pop().ok_or_else(|| {
                    tch::TchError::Shape("an upsampling block without its pooling".into())
                })?;
                upsample(&x, &pooling)?
            }
        };
        let h = x.with_feats(self.norm1.forward(x.feats())?.f_silu()?)?;
        let h = self.conv1.forward(&h, precision)?;
        let h = self
            .norm2
            .forward(h.feats())?
            .f_mul(&modulation[0].f_add_scalar(1.0)?)?
            .f_add(&modulation[1])?
            .f_silu()?;
        let h = self.conv2.forward(&x.with_feats(h)?, precision)?;
        let skip = match &self.skip {
            Some(linear) => linear.forward(x.feats(), precision)?,
            None => x.feats().f_to_kind(Kind::Float)?,
        };
        x.with_feats(h.feats().f_add(&skip)?)
    }
}

/// The stage-2 flow model; parameter keys as the released checkpoint.
#[derive(Debug)]
pub struct SlatFlow {
    model_channels: i64,
    t_embedder: TimestepEmbedder,
    input_layer: Linear,
    input_blocks: Vec<ResBlock>,
    blocks: Vec<ModulatedBlock>,
    out_blocks: Vec<ResBlock>,
    out_layer: Linear,
}

impl SlatFlow {
    /// The model's parameters under `path` (uninitialized; load a checkpoint into them).
    pub fn new(path: &Path<'_>, config: &SlatFlowConfig) -> Result<Self, tch::TchError> {
        let c = config.model_channels;
        let stages = &config.io_channels;
        let (Some(&first), true) = (stages.first(), config.io_res_blocks >= 1) else {
            return Err(tch::TchError::Shape("the flow needs a resolution stage".into()));
        };
        let mut input_blocks = Vec::new();
        for (s, &chs) in stages.iter().enumerate() {
            let next = stages.get(s + 1).copied().unwrap_or(c);
            for r in 0..config.io_res_blocks {
                let (out, resample) = if r + 1 == config.io_res_blocks {
                    (next, Resample::Down)
                } else {
                    (chs, Resample::Keep)
                };
                let i = input_blocks.len();
                input_blocks.push(ResBlock::new(
                    &(path / "input_blocks" / i),
                    chs,
                    c,
                    out,
                    resample,
                )?);
            }
        }
        let mut out_blocks = Vec::new();
        for (s, &chs) in stages.iter().enumerate().rev() {
            let previous = stages.get(s + 1).copied().unwrap_or(c);
            for r in 0..config.io_res_blocks {
                let (input, resample) =
                    if r == 0 { (2 * previous, Resample::Up) } else { (2 * chs, Resample::Keep) };
                let i = out_blocks.len();
                out_blocks.push(ResBlock::new(
                    &(path / "out_blocks" / i),
                    input,
                    c,
                    chs,
                    resample,
                )?);
            }
        }
        Ok(Self {
            model_channels: c,
            t_embedder: TimestepEmbedder::new(&(path / "t_embedder"), c)?,
            input_layer: Linear::new(&(path / "input_layer"), config.latent_channels, first)?,
            input_blocks,
            blocks: (0..config.blocks)
                .map(|i| {
                    ModulatedBlock::new(
                        &(path / "blocks" / i),
                        c,
                        config.cond_channels,
                        config.heads,
                    )
                })
                .collect::<Result<_, _>>()?,
            out_blocks,
            out_layer: Linear::new(&(path / "out_layer"), first, config.latent_channels)?,
        })
    }

    /// The velocity at `x` for model time `t` `[1]` (1000 × the flow time), attending to the
    /// per-view conditions `conds` (each `[1, T, C_cond]`). Records `t_emb`, `input_layer`,
    /// `input_blocks.{i}`, `blocks.{i}.in`, `blocks.{i}` and `out_blocks.{i}`.
    pub fn forward(
        &self,
        x: &SparseTensor,
        t: &Tensor,
        conds: &[Tensor],
        precision: Precision,
        trace: &mut Trace,
    ) -> Result<SparseTensor, tch::TchError> {
        if conds.is_empty() {
            return Err(tch::TchError::Shape("the stage-2 flow needs a condition".into()));
        }
        let outer = precision.outside_blocks();
        let mut h = x.with_feats(self.input_layer.forward(x.feats(), outer)?)?;
        trace.record("input_layer", h.feats());
        let t_emb = self.t_embedder.forward(t, outer)?;
        trace.record("t_emb", &t_emb);
        let conds =
            conds.iter().map(|c| c.f_to_kind(Kind::Float)).collect::<Result<Vec<_>, _>>()?;
        let mut skips = Vec::new();
        let mut pooled = Vec::new();
        for (i, block) in self.input_blocks.iter().enumerate() {
            h = block.forward(h, &t_emb, &mut pooled, precision)?;
            trace.record(format!("input_blocks.{i}"), h.feats());
            skips.push(h.feats().shallow_clone());
        }
        let embedding = position::embed(h.layout().coords(), self.model_channels)?;
        let mut tokens = h.feats().f_add(&embedding)?.f_unsqueeze(0)?;
        for (i, block) in self.blocks.iter().enumerate() {
            trace.record(format!("blocks.{i}.in"), &tokens.f_squeeze_dim(0)?);
            tokens = block.forward(&tokens, &t_emb, &conds, precision)?;
            trace.record(format!("blocks.{i}"), &tokens.f_squeeze_dim(0)?);
        }
        h = h.with_feats(tokens.f_squeeze_dim(0)?)?;
        for (i, (block, skip)) in self.out_blocks.iter().zip(skips.iter().rev()).enumerate() {
            let joined = h.with_feats(Tensor::f_cat(
                &[h.feats().shallow_clone(), skip.shallow_clone()],
                1,
            )?)?;
            h = block.forward(joined, &t_emb, &mut pooled, precision)?;
            trace.record(format!("out_blocks.{i}"), h.feats());
        }
        let normed = LayerNorm::plain(1e-5).forward(h.feats())?;
        h.with_feats(self.out_layer.forward(&normed, outer)?)
    }
}
