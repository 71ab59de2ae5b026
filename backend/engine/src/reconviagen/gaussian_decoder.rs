//! The Gaussian decoder (`SLatGaussianDecoder`): the swin trunk, a non-affine layer norm and a
//! linear head giving 32 Gaussians per voxel — position offsets (tanh-bounded around the voxel
//! centre, perturbed by a stored Hammersley pattern), colour (degree-0 spherical harmonics),
//! scale, rotation and opacity — and their activations as TRELLIS's `Gaussian` defines them.

use tch::nn::Path;
use tch::{Kind, Tensor};

use super::layers::{LayerNorm, Linear};
use super::precision::Precision;
use super::sparse::SparseTensor;
use super::swin_transformer::{SwinConfig, SwinTransformer};
use super::trace::Trace;
use crate::weights::param;

/// Size of the Gaussian decoder.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GaussianDecoderConfig {
    /// The trunk.
    pub trunk: SwinConfig,
    /// Latent grid side.
    pub resolution: i64,
    /// Gaussians per voxel.
    pub gaussians: i64,
    /// Reach of the offsets, in voxels (`voxel_size`).
    pub voxel_size: f64,
    /// Smallest kernel size added in quadrature (`3d_filter_kernel_size`).
    pub min_kernel: f64,
    /// Scale of a zero output (`scaling_bias`, through softplus).
    pub scaling_bias: f64,
    /// Opacity of a zero output (`opacity_bias`, through a sigmoid).
    pub opacity_bias: f64,
}

impl GaussianDecoderConfig {
    /// The released `slat_dec_gs_swin8_B_64l8gs32_fp16`.
    pub const RELEASED: Self = Self {
        trunk: SwinConfig::RELEASED,
        resolution: 64,
        gaussians: 32,
        voxel_size: 1.5,
        min_kernel: 9e-4,
        scaling_bias: 4e-3,
        opacity_bias: 0.1,
    };
}

/// The decoded Gaussians: the raw attributes as the decoder sets them and their activations.
#[derive(Debug)]
pub struct Gaussians {
    /// Positions in the unit cube `[N, 3]` (`_xyz`).
    pub xyz: Tensor,
    /// Degree-0 colour coefficients `[N, 1, 3]` (`_features_dc`).
    pub features_dc: Tensor,
    /// Raw scales `[N, 3]` (`_scaling`).
    pub scaling: Tensor,
    /// Raw rotations `[N, 4]` (`_rotation`).
    pub rotation: Tensor,
    /// Raw opacities `[N, 1]` (`_opacity`).
    pub opacity: Tensor,
    scale_bias: f64,
    opacity_bias: f64,
    min_kernel: f64,
}

impl Gaussians {
    /// World positions: the unit cube mapped to [−0.5, 0.5]³ (`get_xyz`).
    pub fn positions(&self) -> Result<Tensor, tch::TchError> {
        self.xyz.f_sub_scalar(0.5)
    }

    /// Scales: softplus of the raw scale plus its bias, widened by the smallest kernel in
    /// quadrature (`get_scaling`).
    pub fn scales(&self) -> Result<Tensor, tch::TchError> {
        let s = self.scaling.f_add_scalar(self.scale_bias)?.f_softplus()?;
        s.f_square()?.f_add_scalar(self.min_kernel * self.min_kernel)?.f_sqrt()
    }

    /// Unit quaternions: the raw rotation plus the identity, normalized (`get_rotation`).
    pub fn rotations(&self) -> Result<Tensor, tch::TchError> {
        let identity =
            Tensor::from_slice(&[1.0f32, 0.0, 0.0, 0.0]).f_to_device(self.rotation.device())?;
        let q = self.rotation.f_add(&identity)?;
        let norm = q.f_norm_scalaropt_dim(2, [-1i64].as_slice(), true)?.f_clamp_min(1e-12)?;
        q.f_div(&norm)
    }

    /// Opacities in (0, 1) (`get_opacity`).
    pub fn opacities(&self) -> Result<Tensor, tch::TchError> {
        self.opacity.f_add_scalar(self.opacity_bias)?.f_sigmoid()
    }

    /// Base colours in [0, 1] from the degree-0 coefficients (`get_color`).
    pub fn colours(&self) -> Result<Tensor, tch::TchError> {
        const SH_C0: f64 = 0.282_094_791_773_878_14;
        self.features_dc.f_squeeze_dim(1)?.f_mul_scalar(SH_C0)?.f_add_scalar(0.5)?.f_clamp(0.0, 1.0)
    }
}

/// The Gaussian decoder; parameter keys as the released checkpoint.
#[derive(Debug)]
pub struct GaussianDecoder {
    config: GaussianDecoderConfig,
    trunk: SwinTransformer,
    out_layer: Linear,
    perturbation: Tensor,
}

impl GaussianDecoder {
    /// The decoder's parameters under `path`.
    pub fn new(path: &Path<'_>, config: GaussianDecoderConfig) -> Result<Self, tch::TchError> {
        let g = config.gaussians;
        // 3 + 3 + 3 + 4 + 1 values per Gaussian.
        let out = g * 14;
        Ok(Self {
            config,
            trunk: SwinTransformer::new(path, config.trunk)?,
            out_layer: Linear::new(&(path / "out_layer"), config.trunk.model_channels, out)?,
            perturbation: param(path, "offset_perturbation", &[g, 3])?,
        })
    }

    /// The Gaussians of latent `x`. Records the trunk's names and `out_layer`.
    pub fn forward(
        &self,
        x: &SparseTensor,
        precision: Precision,
        trace: &mut Trace,
    ) -> Result<Gaussians, tch::TchError> {
        let h = self.trunk.forward(x, precision, trace)?;
        let normed = LayerNorm::plain(1e-5).forward(h.feats())?;
        let out = self.out_layer.forward(&normed, precision.outside_blocks())?;
        trace.record("out_layer", &out);
        let GaussianDecoderConfig { resolution, gaussians: g, voxel_size, .. } = self.config;
        let r = resolution as f64;
        let part = |start: i64, len: i64| out.f_narrow(1, start * g, len * g);
        let centres =
            x.layout().coords().f_to_kind(Kind::Float)?.f_add_scalar(0.5)?.f_div_scalar(r)?;
        let offsets = part(0, 3)?
            .f_reshape([-1, g, 3])?
            .f_add(&self.perturbation.f_to_kind(Kind::Float)?)?
            .f_tanh()?
            .f_mul_scalar(0.5 * voxel_size / r)?;
        let xyz = centres.f_unsqueeze(1)?.f_add(&offsets)?.f_reshape([-1, 3])?;
        // `lr` of the rotation is 0.1 in the released configuration, 1 elsewhere.
        let rotation = part(9, 4)?.f_reshape([-1, 4])?.f_mul_scalar(0.1)?;
        // Biases in float32, as the reference computes them.
        let inverse_softplus = |y: f32| y + (-(-y).exp_m1()).ln();
        let inverse_sigmoid = |y: f32| (y / (1.0 - y)).ln();
        Ok(Gaussians {
            xyz,
            features_dc: part(3, 3)?.f_reshape([-1, 1, 3])?,
            scaling: part(6, 3)?.f_reshape([-1, 3])?,
            rotation,
            opacity: part(13, 1)?.f_reshape([-1, 1])?,
            scale_bias: f64::from(inverse_softplus(self.config.scaling_bias as f32)),
            opacity_bias: f64::from(inverse_sigmoid(self.config.opacity_bias as f32)),
            min_kernel: self.config.min_kernel,
        })
    }
}
