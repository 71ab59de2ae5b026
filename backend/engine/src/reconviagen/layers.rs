//! The vision-transformer pieces DINOv2 and VGGT share, with parameters named as the reference's
//! `state_dict` keys so that checkpoints load strictly (`norm1.weight`, `attn.qkv.bias`,
//! `ls1.gamma`, …).

use tch::Tensor;
use tch::nn::Path;

use super::precision::Precision;
use super::rope::Rope2d;
use crate::weights::param;

/// `y = x Wᵀ + b`.
#[derive(Debug)]
pub struct Linear {
    weight: Tensor,
    bias: Tensor,
}

impl Linear {
    /// `weight` `[out, in]` and `bias` `[out]` under `path`.
    pub fn new(path: &Path<'_>, input: i64, output: i64) -> Result<Self, tch::TchError> {
        Ok(Self {
            weight: param(path, "weight", &[output, input])?,
            bias: param(path, "bias", &[output])?,
        })
    }

    /// Applies the layer in `precision`'s matrix-product dtype; the result is float32.
    pub fn forward(&self, x: &Tensor, precision: Precision) -> Result<Tensor, tch::TchError> {
        let kind = precision.matmul_kind();
        let y = precision
            .matmul_input(x)?
            .f_linear(&self.weight.f_to_kind(kind)?, Some(&self.bias.f_to_kind(kind)?))?;
        precision.output(&y)
    }
}

/// Layer normalization over the last dimension, always in float32 (autocast's policy).
#[derive(Debug)]
pub struct LayerNorm {
    affine: Option<(Tensor, Tensor)>,
    eps: f64,
}

impl LayerNorm {
    /// With `weight` and `bias` `[dim]` under `path`.
    pub fn new(path: &Path<'_>, dim: i64, eps: f64) -> Result<Self, tch::TchError> {
        Ok(Self {
            affine: Some((param(path, "weight", &[dim])?, param(path, "bias", &[dim])?)),
            eps,
        })
    }

    /// Without parameters.
    pub fn plain(eps: f64) -> Self {
        Self { affine: None, eps }
    }

    /// Normalizes `x` over its last dimension.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor, tch::TchError> {
        let dim = x.size()[x.dim() - 1];
        let x = x.f_to_kind(tch::Kind::Float)?;
        let (w, b) = match &self.affine {
            Some((w, b)) => {
                (Some(w.f_to_kind(tch::Kind::Float)?), Some(b.f_to_kind(tch::Kind::Float)?))
            }
            None => (None, None),
        };
        x.f_layer_norm([dim].as_slice(), w.as_ref(), b.as_ref(), self.eps, false)
    }
}

/// Shape of a transformer block.
#[derive(Debug, Clone, Copy)]
pub struct BlockConfig {
    /// Token width.
    pub dim: i64,
    /// Attention heads.
    pub heads: i64,
    /// Hidden width of the MLP.
    pub hidden: i64,
    /// Epsilon of `norm1`/`norm2` (DINOv2 1e-6, VGGT 1e-5).
    pub eps: f64,
    /// LayerNorm of queries and keys per head before attention (VGGT).
    pub qk_norm: bool,
}

/// Pre-norm block with LayerScale: `x + γ₁·attn(norm1 x)`, then `x + γ₂·mlp(norm2 x)`.
#[derive(Debug)]
pub struct Block {
    config: BlockConfig,
    norm1: LayerNorm,
    qkv: Linear,
    q_norm: Option<LayerNorm>,
    k_norm: Option<LayerNorm>,
    proj: Linear,
    ls1: Tensor,
    norm2: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    ls2: Tensor,
}

impl Block {
    /// The block's parameters under `path`.
    pub fn new(path: &Path<'_>, config: BlockConfig) -> Result<Self, tch::TchError> {
        let BlockConfig { dim, heads, hidden, eps, qk_norm } = config;
        let attn = path / "attn";
        let head = dim / heads;
        Ok(Self {
            config,
            norm1: LayerNorm::new(&(path / "norm1"), dim, eps)?,
            qkv: Linear::new(&(&attn / "qkv"), dim, 3 * dim)?,
            q_norm: qk_norm.then(|| LayerNorm::new(&(&attn / "q_norm"), head, 1e-5)).transpose()?,
            k_norm: qk_norm.then(|| LayerNorm::new(&(&attn / "k_norm"), head, 1e-5)).transpose()?,
            proj: Linear::new(&(&attn / "proj"), dim, dim)?,
            ls1: param(&(path / "ls1"), "gamma", &[dim])?,
            norm2: LayerNorm::new(&(path / "norm2"), dim, eps)?,
            fc1: Linear::new(&(path / "mlp" / "fc1"), dim, hidden)?,
            fc2: Linear::new(&(path / "mlp" / "fc2"), hidden, dim)?,
            ls2: param(&(path / "ls2"), "gamma", &[dim])?,
        })
    }

    /// `x` `[B, N, C]`; `rope` with positions `[B, N, 2]` rotates queries and keys (VGGT).
    pub fn forward(
        &self,
        x: &Tensor,
        rope: Option<(&Rope2d, &Tensor)>,
        precision: Precision,
    ) -> Result<Tensor, tch::TchError> {
        let attended = self.attention(&self.norm1.forward(x)?, rope, precision)?;
        let x = x.f_add(&attended.f_mul(&self.ls1.f_to_kind(tch::Kind::Float)?)?)?;
        let hidden = self.fc1.forward(&self.norm2.forward(&x)?, precision)?;
        // GELU of a bf16 product is itself rounded to bf16 before fc2 reads it: the same as
        // fc2 casting the float32 GELU, which `Linear::forward` does.
        let mlp = self.fc2.forward(&hidden.f_gelu("none")?, precision)?;
        x.f_add(&mlp.f_mul(&self.ls2.f_to_kind(tch::Kind::Float)?)?)
    }

    fn attention(
        &self,
        x: &Tensor,
        rope: Option<(&Rope2d, &Tensor)>,
        precision: Precision,
    ) -> Result<Tensor, tch::TchError> {
        let (b, n, c) = (x.size()[0], x.size()[1], x.size()[2]);
        let heads = self.config.heads;
        let qkv = self
            .qkv
            .forward(x, precision)?
            .f_reshape([b, n, 3, heads, c / heads])?
            .f_permute([2, 0, 3, 1, 4])?;
        let (mut q, mut k, v) = (qkv.f_get(0)?, qkv.f_get(1)?, qkv.f_get(2)?);
        if let (Some(qn), Some(kn)) = (&self.q_norm, &self.k_norm) {
            q = qn.forward(&q)?;
            k = kn.forward(&k)?;
        }
        if let Some((rope, pos)) = rope {
            q = rope.apply(&q, pos)?;
            k = rope.apply(&k, pos)?;
        }
        let out = precision.attend(&q, &k, &v)?.f_transpose(1, 2)?.f_reshape([b, n, c])?;
        self.proj.forward(&out, precision)
    }
}
