//! The stage-1 flow model (`SparseStructureFlowModel`): a DiT over the dense 16³ × 8 latent.
//! The latent is patchified into tokens, embedded with a linear layer plus a stored absolute
//! position embedding; each block is adaLN-modulated self-attention (shift/scale/gate from the
//! timestep embedding), cross-attention to the condition tokens, and a modulated tanh-GELU MLP;
//! a final non-affine layer norm and linear layer give the velocity.

use tch::nn::Path;
use tch::{Kind, Tensor};

use super::cross_block::CrossBlock;
use super::layers::{LayerNorm, Linear};
use super::precision::Precision;
use super::trace::Trace;
use crate::weights::param;

/// Size of the flow model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlowConfig {
    /// Latent grid side.
    pub resolution: i64,
    /// Latent channels in.
    pub in_channels: i64,
    /// Latent channels out.
    pub out_channels: i64,
    /// Token width.
    pub model_channels: i64,
    /// Condition token width.
    pub cond_channels: i64,
    /// Blocks.
    pub blocks: i64,
    /// Attention heads.
    pub heads: i64,
    /// Patch side.
    pub patch_size: i64,
}

impl FlowConfig {
    /// The released `ss_flow_img_dit_L_16l8_fp16`.
    pub const RELEASED: Self = Self {
        resolution: 16,
        in_channels: 8,
        out_channels: 8,
        model_channels: 1024,
        cond_channels: 1024,
        blocks: 24,
        heads: 16,
        patch_size: 1,
    };

    fn tokens(&self) -> i64 {
        (self.resolution / self.patch_size).pow(3)
    }
}

/// Sinusoidal embedding of timesteps `t` `[B]` into `dim` channels: cos then sin of
/// `t · 10000^(−k/half)`, computed in float32 as the reference does.
pub fn timestep_embedding(t: &Tensor, dim: i64) -> Result<Tensor, tch::TchError> {
    let half = dim / 2;
    let k = Tensor::f_arange(half, (Kind::Float, t.device()))?;
    let freqs = k.f_mul_scalar(-(10000f64.ln()))?.f_div_scalar(half as f64)?.f_exp()?;
    let args = t.f_to_kind(Kind::Float)?.f_unsqueeze(1)?.f_mul(&freqs.f_unsqueeze(0)?)?;
    Tensor::f_cat(&[args.f_cos()?, args.f_sin()?], -1)
}

/// TRELLIS's `TimestepEmbedder`: the sinusoidal embedding through `mlp.0`, SiLU and `mlp.2`.
#[derive(Debug)]
pub struct TimestepEmbedder {
    fc1: Linear,
    fc2: Linear,
}

impl TimestepEmbedder {
    /// `mlp.{0,2}` under `path` (a `t_embedder`), `channels` wide.
    pub fn new(path: &Path<'_>, channels: i64) -> Result<Self, tch::TchError> {
        Ok(Self {
            fc1: Linear::new(&(path / "mlp" / 0), 256, channels)?,
            fc2: Linear::new(&(path / "mlp" / 2), channels, channels)?,
        })
    }

    /// `[B, channels]` for model times `t` `[B]`.
    pub fn forward(&self, t: &Tensor, precision: Precision) -> Result<Tensor, tch::TchError> {
        let h = self.fc1.forward(&timestep_embedding(t, 256)?, precision)?.f_silu()?;
        self.fc2.forward(&h, precision)
    }
}

/// A [`CrossBlock`] modulated by the timestep embedding (`adaLN_modulation.1`), as both flow
/// models use it.
#[derive(Debug)]
pub struct ModulatedBlock {
    modulation: Linear,
    block: CrossBlock,
}

impl ModulatedBlock {
    /// The block under `path`: `channels` wide tokens, `cond_channels` wide condition.
    pub fn new(
        path: &Path<'_>,
        channels: i64,
        cond_channels: i64,
        heads: i64,
    ) -> Result<Self, tch::TchError> {
        Ok(Self {
            modulation: Linear::new(&(path / "adaLN_modulation" / 1), channels, 6 * channels)?,
            block: CrossBlock::new(path, channels, cond_channels, heads)?,
        })
    }

    /// `x` `[B, L, C]` at timestep embedding `t_emb` `[B, C]`, attending to each condition in
    /// `conds` (see [`CrossBlock::forward`]).
    pub fn forward(
        &self,
        x: &Tensor,
        t_emb: &Tensor,
        conds: &[Tensor],
        precision: Precision,
    ) -> Result<Tensor, tch::TchError> {
        let m =
            self.modulation.forward(&t_emb.f_silu()?, precision)?.f_unsqueeze(1)?.f_chunk(6, -1)?;
        self.block.forward(x, conds, Some(&m), precision)
    }
}

/// The stage-1 flow DiT; parameter keys as the released checkpoint.
#[derive(Debug)]
pub struct SparseStructureFlow {
    config: FlowConfig,
    t_embedder: TimestepEmbedder,
    pos_emb: Tensor,
    input_layer: Linear,
    blocks: Vec<ModulatedBlock>,
    out_layer: Linear,
}

impl SparseStructureFlow {
    /// The model's parameters under `path` (uninitialized; load a checkpoint into them).
    pub fn new(path: &Path<'_>, config: FlowConfig) -> Result<Self, tch::TchError> {
        let c = config.model_channels;
        let p3 = config.patch_size.pow(3);
        Ok(Self {
            config,
            t_embedder: TimestepEmbedder::new(&(path / "t_embedder"), c)?,
            pos_emb: param(path, "pos_emb", &[config.tokens(), c])?,
            input_layer: Linear::new(&(path / "input_layer"), config.in_channels * p3, c)?,
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
            out_layer: Linear::new(&(path / "out_layer"), c, config.out_channels * p3)?,
        })
    }

    /// The velocity at `x` `[B, C, R, R, R]` for model times `t` `[B]` (1000 × the flow time)
    /// and condition tokens `cond` `[B, T, C_cond]`. Records `t_emb`, `input_layer`,
    /// `blocks.{i}` and `out_layer`.
    pub fn forward(
        &self,
        x: &Tensor,
        t: &Tensor,
        cond: &Tensor,
        precision: Precision,
        trace: &mut Trace,
    ) -> Result<Tensor, tch::TchError> {
        let FlowConfig { resolution: r, in_channels, out_channels, patch_size: p, .. } =
            self.config;
        let size = x.size();
        if size.len() != 5 || size[1] != in_channels || size[2..].iter().any(|&s| s != r) {
            return Err(tch::TchError::Shape(format!(
                "the flow model takes [B, {in_channels}, {r}, {r}, {r}] latents, got {size:?}"
            )));
        }
        let b = size[0];
        let tokens = patchify(&x.f_to_kind(Kind::Float)?, p)?
            .f_reshape([b, in_channels * p.pow(3), -1])?
            .f_permute([0, 2, 1])?;
        let outer = precision.outside_blocks();
        let h = self.input_layer.forward(&tokens, outer)?;
        trace.record("input_layer", &h);
        let mut h = h.f_add(&self.pos_emb.f_to_kind(Kind::Float)?.f_unsqueeze(0)?)?;
        let t_emb = self.t_embedder.forward(t, outer)?;
        trace.record("t_emb", &t_emb);
        let cond = [cond.f_to_kind(Kind::Float)?];
        for (i, block) in self.blocks.iter().enumerate() {
            h = block.forward(&h, &t_emb, &cond, precision)?;
            trace.record(format!("blocks.{i}"), &h);
        }
        let h = LayerNorm::plain(1e-5).forward(&h)?;
        let h = self.out_layer.forward(&h, outer)?;
        trace.record("out_layer", &h);
        let side = r / p;
        let h =
            h.f_permute([0, 2, 1])?.f_reshape([b, out_channels * p.pow(3), side, side, side])?;
        unpatchify(&h, p)
    }
}

/// `[B, C, D, H, W]` → `[B, C·p³, D/p, H/p, W/p]`, channel-major within a patch as the reference.
fn patchify(x: &Tensor, p: i64) -> Result<Tensor, tch::TchError> {
    if p == 1 {
        return Ok(x.shallow_clone());
    }
    let s = x.size();
    x.f_reshape([s[0], s[1], s[2] / p, p, s[3] / p, p, s[4] / p, p])?
        .f_permute([0, 1, 3, 5, 7, 2, 4, 6])?
        .f_reshape([s[0], s[1] * p * p * p, s[2] / p, s[3] / p, s[4] / p])
}

/// The inverse of [`patchify`].
fn unpatchify(x: &Tensor, p: i64) -> Result<Tensor, tch::TchError> {
    if p == 1 {
        return Ok(x.shallow_clone());
    }
    let s = x.size();
    let c = s[1] / (p * p * p);
    x.f_reshape([s[0], c, p, p, p, s[2], s[3], s[4]])?
        .f_permute([0, 1, 5, 2, 6, 3, 7, 4])?
        .f_reshape([s[0], c, s[2] * p, s[3] * p, s[4] * p])
}
