//! The transformer trunk both structured-latent decoders share (`SparseTransformerBase` with
//! `attn_mode="swin"`): a linear input layer plus the voxels' absolute position embedding, then
//! pre-norm blocks of windowed self-attention (windows of `window` voxels a side, every other
//! block shifted by half a window) and a tanh-GELU MLP, with residuals. The layers outside the
//! blocks stay float32 in the released checkpoints.

use tch::nn::Path;

use super::attention::Attention;
use super::layers::{LayerNorm, Linear};
use super::precision::Precision;
use super::sparse::{SparseTensor, position};
use super::trace::Trace;

/// Size of the trunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwinConfig {
    /// Latent channels in.
    pub latent_channels: i64,
    /// Token width.
    pub model_channels: i64,
    /// Blocks.
    pub blocks: i64,
    /// Attention heads.
    pub heads: i64,
    /// MLP hidden width over the token width.
    pub mlp_ratio: i64,
    /// Window side in voxels.
    pub window: i64,
}

impl SwinConfig {
    /// The released SLat decoders' trunk (the Gaussian and the mesh decoder share it).
    pub const RELEASED: Self = Self {
        latent_channels: 8,
        model_channels: 768,
        blocks: 12,
        heads: 12,
        mlp_ratio: 4,
        window: 8,
    };
}

/// One `SparseTransformerBlock`: keys `attn.{to_qkv,to_out}`, `mlp.mlp.{0,2}`.
#[derive(Debug)]
struct SwinBlock {
    attn: Attention,
    fc1: Linear,
    fc2: Linear,
    shift: i64,
}

/// The trunk; parameter keys `input_layer.*`, `blocks.{i}.*`.
#[derive(Debug)]
pub struct SwinTransformer {
    config: SwinConfig,
    input_layer: Linear,
    blocks: Vec<SwinBlock>,
}

impl SwinTransformer {
    /// The trunk's parameters under `path`.
    pub fn new(path: &Path<'_>, config: SwinConfig) -> Result<Self, tch::TchError> {
        let c = config.model_channels;
        let hidden = c * config.mlp_ratio;
        Ok(Self {
            config,
            input_layer: Linear::new(&(path / "input_layer"), config.latent_channels, c)?,
            blocks: (0..config.blocks)
                .map(|i| {
                    let path = path / "blocks" / i;
                    Ok(SwinBlock {
                        attn: Attention::self_attention(&(&path / "attn"), c, config.heads, false)?,
                        fc1: Linear::new(&(&path / "mlp" / "mlp" / 0), c, hidden)?,
                        fc2: Linear::new(&(&path / "mlp" / "mlp" / 2), hidden, c)?,
                        shift: config.window / 2 * (i % 2),
                    })
                })
                .collect::<Result<_, tch::TchError>>()?,
        })
    }

    /// Features `[M, C]` of the latent `x`. Records `input_layer` (before the position
    /// embedding) and `blocks.{i}`.
    pub fn forward(
        &self,
        x: &SparseTensor,
        precision: Precision,
        trace: &mut Trace,
    ) -> Result<SparseTensor, tch::TchError> {
        let h = self.input_layer.forward(x.feats(), precision.outside_blocks())?;
        trace.record("input_layer", &h);
        let coords = x.layout().coords();
        let mut h = h.f_add(&position::embed(coords, self.config.model_channels)?)?;
        let norm = LayerNorm::plain(1e-6);
        for (i, block) in self.blocks.iter().enumerate() {
            let partition = x.layout().windows(self.config.window, block.shift)?;
            let attended =
                block.attn.forward_windowed(&norm.forward(&h)?, &partition, precision)?;
            h = h.f_add(&attended)?;
            let mlp = block.fc1.forward(&norm.forward(&h)?, precision)?.f_gelu("tanh")?;
            h = h.f_add(&block.fc2.forward(&mlp, precision)?)?;
            trace.record(format!("blocks.{i}"), &h);
        }
        x.with_feats(h)
    }
}
