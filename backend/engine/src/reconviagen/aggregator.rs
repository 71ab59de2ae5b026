//! VGGT's aggregator (the copy ReconViaGen vendors): every view is patch-embedded by a DINOv2
//! ViT, prefixed with a camera token and register tokens (the first view gets its own pair, all
//! others share the second), then frame attention (within a view) and global attention (across
//! all views' tokens) alternate; each pair of blocks contributes `cat(frame, global)` to the
//! output list. Queries and keys are layer-normed per head and rotated by a 2D RoPE over the
//! patch grid; the special tokens sit at position (0, 0), patches at (row + 1, column + 1).

use tch::nn::Path;
use tch::{Device, Kind, Tensor};

use super::dinov2::{Dinov2, Dinov2Config};
use super::layers::{Block, BlockConfig};
use super::precision::Precision;
use super::rope::Rope2d;
use super::trace::Trace;
use crate::weights::param;

/// Size of an aggregator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AggregatorConfig {
    /// The patch-embedding ViT.
    pub patch_embed: Dinov2Config,
    /// Token width of the frame/global blocks.
    pub embed_dim: i64,
    /// Frame/global block pairs.
    pub depth: i64,
    /// Attention heads.
    pub heads: i64,
    /// MLP hidden width as a multiple of the token width.
    pub mlp_ratio: i64,
    /// Register tokens per view.
    pub registers: i64,
    /// RoPE frequency base.
    pub rope_base: f64,
}

impl AggregatorConfig {
    /// The released VGGT-1B aggregator (`Stable-X/vggt-object-v0-1`).
    pub const VGGT: Self = Self {
        patch_embed: Dinov2Config::VITL14_REG,
        embed_dim: 1024,
        depth: 24,
        heads: 16,
        mlp_ratio: 4,
        registers: 4,
        rope_base: 100.0,
    };

    /// Camera + register tokens before the patches of each view.
    pub fn patch_start(&self) -> i64 {
        1 + self.registers
    }
}

/// The aggregator; parameter keys as the reference's `aggregator.*` without the prefix.
#[derive(Debug)]
pub struct Aggregator {
    config: AggregatorConfig,
    patch_embed: Dinov2,
    camera_token: Tensor,
    register_token: Tensor,
    frame_blocks: Vec<Block>,
    global_blocks: Vec<Block>,
}

impl Aggregator {
    /// The model's parameters under `path` (uninitialized; load a checkpoint into them).
    pub fn new(path: &Path<'_>, config: AggregatorConfig) -> Result<Self, tch::TchError> {
        let c = config.embed_dim;
        let block = BlockConfig {
            dim: c,
            heads: config.heads,
            hidden: c * config.mlp_ratio,
            eps: 1e-5,
            qk_norm: true,
        };
        let blocks = |name: &str| -> Result<Vec<Block>, tch::TchError> {
            (0..config.depth).map(|i| Block::new(&(path / name / i), block)).collect()
        };
        Ok(Self {
            config,
            patch_embed: Dinov2::new(&(path / "patch_embed"), config.patch_embed)?,
            camera_token: param(path, "camera_token", &[1, 2, 1, c])?,
            register_token: param(path, "register_token", &[1, 2, config.registers, c])?,
            frame_blocks: blocks("frame_blocks")?,
            global_blocks: blocks("global_blocks")?,
        })
    }

    /// `images` `[B, S, 3, H, W]` in [0, 1] → for each index in `layers` (block pairs, in the
    /// order given), `[B, S, P, 2C]` = `cat(frame output, global output)`, P = special tokens +
    /// patches. Records `tokens_in`, `tokens_in.pos`, `patch_embed.x_prenorm`,
    /// `patch_embed.x_norm_patchtokens`, `frame_blocks.{i}`, `global_blocks.{i}`, `aggregated.{i}`.
    pub fn forward(
        &self,
        images: &Tensor,
        layers: &[usize],
        precision: Precision,
        trace: &mut Trace,
    ) -> Result<Vec<Tensor>, tch::TchError> {
        let size = images.size();
        let (b, s, h, w) = (size[0], size[1], size[3], size[4]);
        let c = self.config.embed_dim;
        let flat = images.f_reshape([b * s, 3, h, w])?;
        let embedded = self.patch_embed.forward(&flat, precision, &mut Trace::off())?;
        trace.record("patch_embed.x_prenorm", &embedded.prenorm);
        let skip = self.config.patch_embed.special_tokens();
        let patches = embedded.normed.f_narrow(1, skip, embedded.normed.size()[1] - skip)?;
        trace.record("patch_embed.x_norm_patchtokens", &patches);

        let tokens = Tensor::f_cat(
            &[per_view(&self.camera_token, b, s)?, per_view(&self.register_token, b, s)?, patches],
            1,
        )?;
        let p = tokens.size()[1];
        let patch = self.config.patch_embed.patch_size;
        let pos =
            positions(b * s, h / patch, w / patch, self.config.patch_start(), images.device())?;
        trace.record("tokens_in", &tokens);
        trace.record("tokens_in.pos", &pos);
        let global_pos = pos.f_reshape([b, s * p, 2])?;
        let rope = Rope2d { base: self.config.rope_base };

        let last = layers.iter().copied().max().map_or(0, |l| l + 1);
        let mut outputs: Vec<Option<Tensor>> = layers.iter().map(|_| None).collect();
        let mut x = tokens;
        for i in 0..last.min(self.frame_blocks.len()) {
            x = self.frame_blocks[i].forward(
                &x.f_reshape([b * s, p, c])?,
                Some((&rope, &pos)),
                precision,
            )?;
            trace.record(format!("frame_blocks.{i}"), &x);
            let frame = x.f_reshape([b, s, p, c])?;
            x = self.global_blocks[i].forward(
                &x.f_reshape([b, s * p, c])?,
                Some((&rope, &global_pos)),
                precision,
            )?;
            trace.record(format!("global_blocks.{i}"), &x);
            let global = x.f_reshape([b, s, p, c])?;
            for (slot, _) in layers.iter().enumerate().filter(|(_, l)| **l == i) {
                let both = Tensor::f_cat(&[&frame, &global], -1)?;
                trace.record(format!("aggregated.{i}"), &both);
                outputs[slot] = Some(both);
            }
        }
        outputs
            .into_iter()
            .zip(layers)
            .map(|(o, l)| {
                o.ok_or_else(|| {
                    tch::TchError::Shape(format!(
                        "layer {l} is beyond the aggregator's {} blocks",
                        self.config.depth
                    ))
                })
            })
            .collect()
    }
}

/// `[1, 2, n, C]` tokens → `[B·S, n, C]`: the first of each batch's views takes index 0, the
/// others index 1.
fn per_view(token: &Tensor, b: i64, s: i64) -> Result<Tensor, tch::TchError> {
    let t = token.f_to_kind(Kind::Float)?;
    let (n, c) = (t.size()[2], t.size()[3]);
    let first = t.f_narrow(1, 0, 1)?.f_expand([b, 1, n, c], false)?;
    let rest = t.f_narrow(1, 1, 1)?.f_expand([b, s - 1, n, c], false)?;
    Tensor::f_cat(&[first, rest], 1)?.f_reshape([b * s, n, c])
}

/// RoPE positions `[views, special + rows·columns, 2]` (int64): (0, 0) for the special tokens,
/// (row + 1, column + 1) for the patches in row-major order.
fn positions(
    views: i64,
    rows: i64,
    columns: i64,
    special: i64,
    device: Device,
) -> Result<Tensor, tch::TchError> {
    let r = Tensor::f_arange(rows, (Kind::Int64, device))?.f_repeat_interleave_self_int(
        columns,
        Some(0),
        None::<i64>,
    )?;
    let c = Tensor::f_arange(columns, (Kind::Int64, device))?.f_repeat([rows])?;
    let grid = Tensor::f_stack(&[r, c], 1)?.f_add_scalar(1)?;
    let all = Tensor::f_cat(&[Tensor::f_zeros([special, 2], (Kind::Int64, device))?, grid], 0)?;
    all.f_unsqueeze(0)?.f_expand([views, special + rows * columns, 2], false)?.f_contiguous()
}
