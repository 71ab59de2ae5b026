//! Blending mip levels by a fractional level of detail, shared by 2D and cube textures.

use tch::Tensor;

/// Σₗ max(0, 1 − |lod − l|) · sample(l): the two levels around `lod` (clamped to the chain),
/// weighted by distance, so the result is differentiable in `lod`. `lod` has the samples' shape
/// without their last (channel) axis.
pub(crate) fn blend_levels(
    lod: &Tensor,
    levels: usize,
    mut sample: impl FnMut(usize) -> Result<Tensor, tch::TchError>,
) -> Result<Tensor, tch::TchError> {
    let lod = lod.f_clamp(0.0, levels.saturating_sub(1) as f64)?;
    let mut acc: Option<Tensor> = None;
    for level in 0..levels {
        let weight = lod
            .f_sub_scalar(level as f64)?
            .f_abs()?
            .f_neg()?
            .f_add_scalar(1.0)?
            .f_clamp_min(0.0)?
            .f_unsqueeze(-1)?;
        let samples = sample(level)?;
        let term = samples.f_mul(&weight.f_to_kind(samples.kind())?)?;
        acc = Some(match acc {
            None => term,
            Some(sum) => sum.f_add(&term)?,
        });
    }
    acc.ok_or_else(|| tch::TchError::Kind("a mip chain has at least one level".into()))
}
