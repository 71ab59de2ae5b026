//! TRELLIS's cross-attention transformer block, shared by the stage-1 condition
//! (`ModulatedTransformerCrossBlock_woT`) and the flow DiT (`ModulatedTransformerCrossBlock`):
//! self-attention, cross-attention to a context and a tanh-GELU MLP, each after a layer norm
//! (only the one before cross-attention is affine), with residuals. The DiT's variant modulates
//! the first and last norm (shift, scale) and gates their branches from the timestep; the
//! condition's variant is the same block without modulation.

use tch::Tensor;
use tch::nn::Path;

use super::attention::Attention;
use super::layers::{LayerNorm, Linear};
use super::precision::Precision;

/// One block; parameter keys `norm2.*`, `self_attn.*`, `cross_attn.*`, `mlp.mlp.{0,2}.*`.
#[derive(Debug)]
pub struct CrossBlock {
    norm1: LayerNorm,
    norm2: LayerNorm,
    norm3: LayerNorm,
    self_attn: Attention,
    cross_attn: Attention,
    fc1: Linear,
    fc2: Linear,
}

impl CrossBlock {
    /// The block's parameters under `path`.
    pub fn new(
        path: &Path<'_>,
        channels: i64,
        context_channels: i64,
        heads: i64,
    ) -> Result<Self, tch::TchError> {
        let c = channels;
        Ok(Self {
            norm1: LayerNorm::plain(1e-6),
            norm2: LayerNorm::new(&(path / "norm2"), c, 1e-6)?,
            norm3: LayerNorm::plain(1e-6),
            self_attn: Attention::self_attention(&(path / "self_attn"), c, heads, true)?,
            cross_attn: Attention::cross_attention(
                &(path / "cross_attn"),
                c,
                context_channels,
                heads,
                false,
            )?,
            fc1: Linear::new(&(path / "mlp" / "mlp" / 0), c, 4 * c)?,
            fc2: Linear::new(&(path / "mlp" / "mlp" / 2), 4 * c, c)?,
        })
    }

    /// `x` `[B, L, C]` attending to itself and to each context `[B, M, C_ctx]` of `contexts`:
    /// with several (stage 2's one condition per view) each cross-attention is added over
    /// their number, one after the other, as the reference does. `modulation`, when given, is
    /// adaLN's six `[B, 1, C]` tensors: shift, scale and gate of the attention branch, then of
    /// the MLP branch.
    pub fn forward(
        &self,
        x: &Tensor,
        contexts: &[Tensor],
        modulation: Option<&[Tensor]>,
        precision: Precision,
    ) -> Result<Tensor, tch::TchError> {
        let modulate = |h: Tensor, at: usize| match modulation {
            Some(m) => h.f_mul(&m[at + 1].f_add_scalar(1.0)?)?.f_add(&m[at]),
            None => Ok(h),
        };
        let gate = |h: Tensor, at: usize| match modulation {
            Some(m) => h.f_mul(&m[at]),
            None => Ok(h),
        };
        let h = modulate(self.norm1.forward(x)?, 0)?;
        let x = x.f_add(&gate(self.self_attn.forward(&h, None, precision)?, 2)?)?;
        let h = self.norm2.forward(&x)?;
        let mut x = x;
        for context in contexts {
            let attended = self.cross_attn.forward(&h, Some(context), precision)?;
            x = match contexts.len() {
                1 => x.f_add(&attended)?,
                n => x.f_add(&attended.f_div_scalar(n as f64)?)?,
            };
        }
        let h = modulate(self.norm3.forward(&x)?, 3)?;
        let h = self.fc2.forward(&self.fc1.forward(&h, precision)?.f_gelu("tanh")?, precision)?;
        x.f_add(&gate(h, 5)?)
    }
}
