//! The stage-2 condition (PVC, `ModulatedSLATMultiViewCond`): per view, four steps each read
//! VGGT's layer 4/11/17/23 output (2048 wide) beside the current condition (1024 wide), pass
//! them through a linear layer and a ReLU, and add the view's DINOv2 tokens back. The result is
//! one condition per view; the flow model averages its cross-attention over them.

use tch::nn::Path;
use tch::{Kind, Tensor};

use super::condition::VGGT_LAYERS;
use super::layers::Linear;
use super::precision::Precision;
use super::trace::Trace;

/// Widths the stage-2 condition reads: VGGT's aggregated tokens and DINOv2's (its output
/// width).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlatConditionConfig {
    /// VGGT's aggregated token width (frame + global).
    pub vggt: i64,
    /// DINOv2's token width.
    pub dino: i64,
}

impl SlatConditionConfig {
    /// The released `slat_vggt_cond` (the widths the reference hard-codes).
    pub const RELEASED: Self = Self { vggt: 2048, dino: 1024 };
}

/// The PVC condition; parameter keys as the released `slat_vggt_cond`.
#[derive(Debug)]
pub struct SlatCondition {
    config: SlatConditionConfig,
    blocks: Vec<Linear>,
}

impl SlatCondition {
    /// The module's parameters under `path`: `linear_blocks.{i}.0`, VGGT + DINOv2 → DINOv2
    /// width.
    pub fn new(path: &Path<'_>, config: SlatConditionConfig) -> Result<Self, tch::TchError> {
        let (input, output) = (config.vggt + config.dino, config.dino);
        Ok(Self {
            config,
            blocks: (0..VGGT_LAYERS.len())
                .map(|i| Linear::new(&(path / "linear_blocks" / i / 0), input, output))
                .collect::<Result<_, _>>()?,
        })
    }

    /// `aggregated` — VGGT's outputs for [`VGGT_LAYERS`], each `[1, N, P, 2048]` — and
    /// `image_cond`, the views' full DINOv2 tokens `[1, N, P, 1024]` → one condition
    /// `[1, P, 1024]` per view. Records `linear_blocks.{i}` (`[N, P, 1024]`, before the
    /// residual) and `cond` (`[N, P, 1024]`).
    pub fn forward(
        &self,
        aggregated: &[Tensor],
        image_cond: &Tensor,
        precision: Precision,
        trace: &mut Trace,
    ) -> Result<Vec<Tensor>, tch::TchError> {
        let SlatConditionConfig { vggt: vggt_width, dino: dino_width } = self.config;
        let size = image_cond.size();
        if aggregated.len() != self.blocks.len() || size.len() != 4 || size[3] != dino_width {
            return Err(tch::TchError::Shape(format!(
                "the stage-2 condition reads {} VGGT layers and [B, N, P, {dino_width}] DINOv2 tokens, got {} layers and {size:?}",
                self.blocks.len(),
                aggregated.len()
            )));
        }
        let views = size[0] * size[1];
        let dino = image_cond.f_to_kind(Kind::Float)?.f_reshape([views, -1, dino_width])?;
        let mut cond = dino.shallow_clone();
        for (i, (block, layer)) in self.blocks.iter().zip(aggregated).enumerate() {
            let vggt = layer.f_to_kind(Kind::Float)?.f_reshape([views, -1, vggt_width])?;
            let x = block.forward(&Tensor::f_cat(&[vggt, cond], -1)?, precision)?.f_relu()?;
            trace.record(format!("linear_blocks.{i}"), &x);
            cond = x.f_add(&dino)?;
        }
        trace.record("cond", &cond);
        cond.f_split(1, 0)
    }
}
