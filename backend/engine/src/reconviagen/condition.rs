//! The stage-1 condition (GGC, `ModulatedMultiViewCond`): learned tokens refined by four
//! cross-attention blocks, block i reading VGGT's layer 4/11/17/23 output (patch tokens of every
//! view, 2048 wide) concatenated with the views' DINOv2 patch tokens (1024 wide). Each block is
//! self-attention, cross-attention and a tanh-GELU MLP, each after a layer norm (only the one
//! before cross-attention is affine), with residuals.

use tch::nn::Path;
use tch::{Kind, Tensor};

use super::cross_block::CrossBlock;
use super::precision::Precision;
use super::trace::Trace;
use crate::weights::param;

/// Size of the condition module.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConditionConfig {
    /// Token width.
    pub channels: i64,
    /// Context width (VGGT 2048 + DINOv2 1024).
    pub context_channels: i64,
    /// Attention heads.
    pub heads: i64,
    /// Learned tokens.
    pub tokens: i64,
}

impl ConditionConfig {
    /// The released `ss_vggt_cond`.
    pub const RELEASED: Self =
        Self { channels: 1024, context_channels: 3072, heads: 16, tokens: 4096 };
}

/// VGGT layers the blocks read, in block order.
pub const VGGT_LAYERS: [usize; 4] = [4, 11, 17, 23];

/// The GGC condition module; parameter keys as the released `ss_vggt_cond`.
#[derive(Debug)]
pub struct SparseStructureCondition {
    tokens: Tensor,
    blocks: Vec<CrossBlock>,
}

impl SparseStructureCondition {
    /// The module's parameters under `path` (uninitialized; load a checkpoint into them).
    pub fn new(path: &Path<'_>, config: ConditionConfig) -> Result<Self, tch::TchError> {
        Ok(Self {
            tokens: param(path, "multiview_cond_tokens", &[1, config.tokens, config.channels])?,
            blocks: (0..4)
                .map(|i| {
                    let path = path / "cond_blocks" / i;
                    CrossBlock::new(&path, config.channels, config.context_channels, config.heads)
                })
                .collect::<Result<_, _>>()?,
        })
    }

    /// `aggregated` — VGGT's outputs for [`VGGT_LAYERS`], each `[B, N, P, 2048]` with
    /// `patch_start` special tokens first — and `image_cond`, the views' DINOv2 patch tokens
    /// `[B, N, P − patch_start, 1024]` → condition tokens `[B, T, C]`. Records `cond_blocks.{i}`.
    pub fn forward(
        &self,
        aggregated: &[Tensor],
        image_cond: &Tensor,
        patch_start: i64,
        precision: Precision,
        trace: &mut Trace,
    ) -> Result<Tensor, tch::TchError> {
        if aggregated.len() != self.blocks.len() {
            return Err(tch::TchError::Shape(format!(
                "the condition reads {} VGGT layers, got {}",
                self.blocks.len(),
                aggregated.len()
            )));
        }
        let b = image_cond.size()[0];
        let dino = image_cond.f_to_kind(Kind::Float)?.f_reshape([b, -1, image_cond.size()[3]])?;
        let mut x = self.tokens.f_to_kind(Kind::Float)?.f_repeat([b, 1, 1])?;
        for (i, (block, layer)) in self.blocks.iter().zip(aggregated).enumerate() {
            let p = layer.size()[2];
            let patches = layer.f_narrow(2, patch_start, p - patch_start)?.f_reshape([
                b,
                -1,
                layer.size()[3],
            ])?;
            let context = Tensor::f_cat(&[patches, dino.shallow_clone()], -1)?;
            x = block.forward(&x, std::slice::from_ref(&context), None, precision)?;
            trace.record(format!("cond_blocks.{i}"), &x);
        }
        Ok(x)
    }
}
