//! DINOv2 ViT with register tokens (`dinov2_vitl14_reg`), as TRELLIS's `encode_image` and VGGT's
//! patch embedding use it: ImageNet-normalized images → 14-pixel patches → cls, registers and
//! patch tokens through pre-norm blocks with LayerScale.
//!
//! Token order is cls, registers, patches; the positional embedding covers cls and patches only
//! (registers are inserted after it is added), and is resampled bicubically (antialiased) when
//! the patch grid differs from the checkpoint's, as the reference does with offset 0.

use tch::nn::Path;
use tch::{Kind, Tensor};

use super::layers::{Block, BlockConfig, LayerNorm};
use super::precision::Precision;
use super::trace::Trace;
use crate::weights::param;

/// ImageNet channel means and standard deviations, which every image is normalized with.
pub const IMAGENET_MEAN: [f64; 3] = [0.485, 0.456, 0.406];
/// See [`IMAGENET_MEAN`].
pub const IMAGENET_STD: [f64; 3] = [0.229, 0.224, 0.225];

/// Size of a DINOv2 ViT.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dinov2Config {
    /// Image side the positional embedding was trained for (518 → a 37 × 37 patch grid).
    pub img_size: i64,
    /// Patch side in pixels.
    pub patch_size: i64,
    /// Token width.
    pub embed_dim: i64,
    /// Blocks.
    pub depth: i64,
    /// Attention heads.
    pub heads: i64,
    /// MLP hidden width as a multiple of the token width.
    pub mlp_ratio: i64,
    /// Register tokens.
    pub registers: i64,
}

impl Dinov2Config {
    /// ViT-L/14 with 4 registers at 518 px, the released `dinov2_vitl14_reg`.
    pub const VITL14_REG: Self = Self {
        img_size: 518,
        patch_size: 14,
        embed_dim: 1024,
        depth: 24,
        heads: 16,
        mlp_ratio: 4,
        registers: 4,
    };

    /// Tokens before the patches (cls + registers).
    pub fn special_tokens(&self) -> i64 {
        1 + self.registers
    }
}

/// The ViT's outputs.
#[derive(Debug)]
pub struct Dinov2Output {
    /// `[B, 1 + R + P, C]` tokens after the last block, before the final norm (`x_prenorm`).
    pub prenorm: Tensor,
    /// The same through the model's own affine `norm` (`x_norm_*` in the reference).
    pub normed: Tensor,
}

/// DINOv2 ViT; parameter keys as the reference's `state_dict`.
#[derive(Debug)]
pub struct Dinov2 {
    config: Dinov2Config,
    patch_weight: Tensor,
    patch_bias: Tensor,
    cls_token: Tensor,
    pos_embed: Tensor,
    register_tokens: Tensor,
    blocks: Vec<Block>,
    norm: LayerNorm,
}

impl Dinov2 {
    /// The model's parameters under `path` (uninitialized; load a checkpoint into them).
    pub fn new(path: &Path<'_>, config: Dinov2Config) -> Result<Self, tch::TchError> {
        let c = config.embed_dim;
        let grid = config.img_size / config.patch_size;
        let proj = path / "patch_embed" / "proj";
        // Declared because the checkpoint has it; masking is a training-time feature.
        let _mask_token = param(path, "mask_token", &[1, c])?;
        let block = BlockConfig {
            dim: c,
            heads: config.heads,
            hidden: c * config.mlp_ratio,
            eps: 1e-6,
            qk_norm: false,
        };
        Ok(Self {
            config,
            patch_weight: param(&proj, "weight", &[c, 3, config.patch_size, config.patch_size])?,
            patch_bias: param(&proj, "bias", &[c])?,
            cls_token: param(path, "cls_token", &[1, 1, c])?,
            pos_embed: param(path, "pos_embed", &[1, 1 + grid * grid, c])?,
            register_tokens: param(path, "register_tokens", &[1, config.registers, c])?,
            blocks: (0..config.depth)
                .map(|i| Block::new(&(path / "blocks" / i), block))
                .collect::<Result<_, _>>()?,
            norm: LayerNorm::new(&(path / "norm"), c, 1e-6)?,
        })
    }

    /// The configuration.
    pub fn config(&self) -> Dinov2Config {
        self.config
    }

    /// `images` `[B, 3, H, W]` in [0, 1] (H and W multiples of the patch size) → tokens.
    /// Records `normalized_images`, `tokens_prepared`, `blocks.{i}` and `x_prenorm`.
    pub fn forward(
        &self,
        images: &Tensor,
        precision: Precision,
        trace: &mut Trace,
    ) -> Result<Dinov2Output, tch::TchError> {
        let normalized = imagenet_normalize(images)?;
        trace.record("normalized_images", &normalized);
        let tokens = self.prepare_tokens(&normalized, precision)?;
        trace.record("tokens_prepared", &tokens);
        let mut x = tokens;
        for (i, block) in self.blocks.iter().enumerate() {
            x = block.forward(&x, None, precision)?;
            trace.record(format!("blocks.{i}"), &x);
        }
        trace.record("x_prenorm", &x);
        let normed = self.norm.forward(&x)?;
        Ok(Dinov2Output { prenorm: x, normed })
    }

    /// Patch embedding, cls token, positional embedding and registers: `[B, 1 + R + P, C]`.
    fn prepare_tokens(
        &self,
        images: &Tensor,
        precision: Precision,
    ) -> Result<Tensor, tch::TchError> {
        let (b, h, w) = (images.size()[0], images.size()[2], images.size()[3]);
        let p = self.config.patch_size;
        let patches =
            precision.convolve(images, &self.patch_weight, &self.patch_bias, &[p, p], &[0, 0])?;
        let patches = precision.output(&patches)?.f_flatten(2, 3)?.f_transpose(1, 2)?; // [B, P, C]
        let c = self.config.embed_dim;
        let cls = self.cls_token.f_to_kind(Kind::Float)?.f_expand([b, 1, c], false)?;
        let x = Tensor::f_cat(&[cls, patches], 1)?.f_add(&self.positions(h / p, w / p)?)?;
        let registers = self
            .register_tokens
            .f_to_kind(Kind::Float)?
            .f_expand([b, self.config.registers, c], false)?;
        Tensor::f_cat(&[x.f_narrow(1, 0, 1)?, registers, x.f_narrow(1, 1, x.size()[1] - 1)?], 1)
    }

    /// The positional embedding for a `rows × columns` patch grid, `[1, 1 + rows·columns, C]`.
    fn positions(&self, rows: i64, columns: i64) -> Result<Tensor, tch::TchError> {
        let pos = self.pos_embed.f_to_kind(Kind::Float)?;
        let grid = self.config.img_size / self.config.patch_size;
        if rows == grid && columns == grid {
            return Ok(pos);
        }
        let c = self.config.embed_dim;
        let patch = pos
            .f_narrow(1, 1, grid * grid)?
            .f_reshape([1, grid, grid, c])?
            .f_permute([0, 3, 1, 2])?
            .f_internal_upsample_bicubic2d_aa([rows, columns], false, None, None)?
            .f_permute([0, 2, 3, 1])?
            .f_reshape([1, rows * columns, c])?;
        Tensor::f_cat(&[pos.f_narrow(1, 0, 1)?, patch], 1)
    }
}

/// `(x − mean) / std` per channel for `[.., 3, H, W]` images in [0, 1].
pub fn imagenet_normalize(images: &Tensor) -> Result<Tensor, tch::TchError> {
    let device = images.device();
    let shape = |v: [f64; 3]| -> Result<Tensor, tch::TchError> {
        Tensor::from_slice(&v).f_to_kind(Kind::Float)?.f_to_device(device)?.f_reshape([3, 1, 1])
    };
    images.f_to_kind(Kind::Float)?.f_sub(&shape(IMAGENET_MEAN)?)?.f_div(&shape(IMAGENET_STD)?)
}
