//! TRELLIS's attention (`MultiHeadAttention`): self-attention from one `to_qkv` projection or
//! cross-attention from `to_q` over the tokens and `to_kv` over a context, optional per-head RMS
//! normalization of queries and keys (`normalize(x) · γ · √d`), softmax attention with scale
//! 1/√d, and `to_out`.

use tch::Tensor;
use tch::nn::Path;

use super::layers::Linear;
use super::precision::Precision;
use super::sparse::window::Partition;
use crate::weights::param;

/// Per-head RMS norm with a learned `gamma` `[heads, head_dim]`.
#[derive(Debug)]
pub struct MultiHeadRmsNorm {
    gamma: Tensor,
}

impl MultiHeadRmsNorm {
    /// `gamma` under `path`.
    pub fn new(path: &Path<'_>, heads: i64, head_dim: i64) -> Result<Self, tch::TchError> {
        Ok(Self { gamma: param(path, "gamma", &[heads, head_dim])? })
    }

    /// `x` `[B, L, H, D]`, in float32.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor, tch::TchError> {
        let d = x.size()[3];
        let x = x.f_to_kind(tch::Kind::Float)?;
        let norm = x.f_norm_scalaropt_dim(2, [-1i64].as_slice(), true)?.f_clamp_min(1e-12)?;
        x.f_div(&norm)?
            .f_mul(&self.gamma.f_to_kind(tch::Kind::Float)?)?
            .f_mul_scalar((d as f64).sqrt())
    }
}

/// Self- or cross-attention with TRELLIS's parameter names.
#[derive(Debug)]
pub struct Attention {
    heads: i64,
    qkv: Option<Linear>,
    q: Option<Linear>,
    kv: Option<Linear>,
    q_norm: Option<MultiHeadRmsNorm>,
    k_norm: Option<MultiHeadRmsNorm>,
    out: Linear,
}

impl Attention {
    /// Self-attention over `channels`-wide tokens.
    pub fn self_attention(
        path: &Path<'_>,
        channels: i64,
        heads: i64,
        qk_rms_norm: bool,
    ) -> Result<Self, tch::TchError> {
        Ok(Self {
            heads,
            qkv: Some(Linear::new(&(path / "to_qkv"), channels, 3 * channels)?),
            q: None,
            kv: None,
            q_norm: qk_rms_norm
                .then(|| MultiHeadRmsNorm::new(&(path / "q_rms_norm"), heads, channels / heads))
                .transpose()?,
            k_norm: qk_rms_norm
                .then(|| MultiHeadRmsNorm::new(&(path / "k_rms_norm"), heads, channels / heads))
                .transpose()?,
            out: Linear::new(&(path / "to_out"), channels, channels)?,
        })
    }

    /// Cross-attention from `channels`-wide tokens to a `context_channels`-wide context.
    pub fn cross_attention(
        path: &Path<'_>,
        channels: i64,
        context_channels: i64,
        heads: i64,
        qk_rms_norm: bool,
    ) -> Result<Self, tch::TchError> {
        Ok(Self {
            heads,
            qkv: None,
            q: Some(Linear::new(&(path / "to_q"), channels, channels)?),
            kv: Some(Linear::new(&(path / "to_kv"), context_channels, 2 * channels)?),
            q_norm: qk_rms_norm
                .then(|| MultiHeadRmsNorm::new(&(path / "q_rms_norm"), heads, channels / heads))
                .transpose()?,
            k_norm: qk_rms_norm
                .then(|| MultiHeadRmsNorm::new(&(path / "k_rms_norm"), heads, channels / heads))
                .transpose()?,
            out: Linear::new(&(path / "to_out"), channels, channels)?,
        })
    }

    /// `x` `[B, L, C]` attending to itself, or to `context` `[B, M, C_ctx]` when given.
    pub fn forward(
        &self,
        x: &Tensor,
        context: Option<&Tensor>,
        precision: Precision,
    ) -> Result<Tensor, tch::TchError> {
        let (b, l, c) = (x.size()[0], x.size()[1], x.size()[2]);
        let (q, k, v) = self.project(x, context, precision)?;
        // [B, L, H, D] → [B, H, L, D] for attention, and back.
        let heads_first = |t: &Tensor| t.f_transpose(1, 2);
        let out = precision.attend(&heads_first(&q)?, &heads_first(&k)?, &heads_first(&v)?)?;
        let out = out.f_transpose(1, 2)?.f_reshape([b, l, c])?;
        self.out.forward(&out, precision)
    }

    /// Self-attention of one object's voxels `x` `[M, C]` within the windows of `partition`.
    pub fn forward_windowed(
        &self,
        x: &Tensor,
        partition: &Partition,
        precision: Precision,
    ) -> Result<Tensor, tch::TchError> {
        let (m, c) = (x.size()[0], x.size()[1]);
        let (q, k, v) = self.project(&x.f_unsqueeze(0)?, None, precision)?;
        let out = partition.attend(
            &q.f_squeeze_dim(0)?,
            &k.f_squeeze_dim(0)?,
            &v.f_squeeze_dim(0)?,
            precision,
        )?;
        self.out.forward(&out.f_reshape([m, c])?, precision)
    }

    /// Queries, keys and values `[B, L, H, D]` (keys and values over `context` when given),
    /// RMS-normalized when the module has the norms.
    fn project(
        &self,
        x: &Tensor,
        context: Option<&Tensor>,
        precision: Precision,
    ) -> Result<(Tensor, Tensor, Tensor), tch::TchError> {
        let (b, l, c) = (x.size()[0], x.size()[1], x.size()[2]);
        let h = self.heads;
        let (mut q, mut k, v) = match (&self.qkv, &self.q, &self.kv, context) {
            (Some(qkv), _, _, _) => {
                let qkv = qkv.forward(x, precision)?.f_reshape([b, l, 3, h, c / h])?;
                (qkv.f_select(2, 0)?, qkv.f_select(2, 1)?, qkv.f_select(2, 2)?)
            }
            (None, Some(to_q), Some(to_kv), Some(context)) => {
                let m = context.size()[1];
                let q = to_q.forward(x, precision)?.f_reshape([b, l, h, c / h])?;
                let kv = to_kv.forward(context, precision)?.f_reshape([b, m, 2, h, c / h])?;
                (q, kv.f_select(2, 0)?, kv.f_select(2, 1)?)
            }
            _ => return Err(tch::TchError::Shape("cross-attention needs a context".into())),
        };
        if let (Some(qn), Some(kn)) = (&self.q_norm, &self.k_norm) {
            q = qn.forward(&q)?;
            k = kn.forward(&k)?;
        }
        Ok((q, k, v))
    }
}
