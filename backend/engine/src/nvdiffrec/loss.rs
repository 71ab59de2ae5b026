//! nvdiffrec's image losses.

use tch::{Kind, Tensor};

use super::NvdiffrecError;
use crate::ops::color::linear_to_srgb;

/// L1 between log-tonemapped sRGB images (nvdiffrec's `logl1`): `srgb(log(1 + x))`, which keeps
/// bright highlights from dominating and matches how people judge the result.
pub fn log_l1(rendered: &Tensor, target: &Tensor) -> Result<Tensor, NvdiffrecError> {
    let tonemap = |x: &Tensor| -> Result<Tensor, tch::TchError> {
        linear_to_srgb(&x.f_clamp(0.0, 65535.0)?.f_log1p()?)
    };
    Ok(tonemap(rendered)?.f_sub(&tonemap(target)?)?.f_abs()?.f_mean(Kind::Float)?)
}

/// Mean squared error.
pub fn mse(a: &Tensor, b: &Tensor) -> Result<Tensor, NvdiffrecError> {
    Ok(a.f_sub(b)?.f_square()?.f_mean(Kind::Float)?)
}

/// PSNR in dB of sRGB-encoded, clamped images (as nvdiffrec reports it).
pub fn psnr(rendered_linear: &Tensor, target_linear: &Tensor) -> Result<f64, NvdiffrecError> {
    let error = mse(&linear_to_srgb(rendered_linear)?, &linear_to_srgb(target_linear)?)?
        .f_double_value(&[])?;
    Ok(-10.0 * error.max(1e-12).log10())
}
