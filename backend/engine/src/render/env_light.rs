//! A learnable environment light with nvdiffrec's split-sum levels: the base cube map is
//! box-downsampled to 16² faces; every level but the last is GGX-filtered with a roughness that
//! grows linearly from 0.08 to 0.5, the last level stays as is (rougher surfaces blend towards
//! it), and the diffuse irradiance is the cosine-filtered last level.

use tch::{Kind, Tensor};

use super::cube_filter::{Filter, Lobe};
use crate::EngineError;
use crate::ops::cubemap::CubeMipmaps;

/// Roughness of the sharpest and of the last filtered specular level.
pub const MIN_ROUGHNESS: f64 = 0.08;
/// Roughness mapped to the second-to-last level; rougher values blend into the last.
pub const MAX_ROUGHNESS: f64 = 0.5;
const SMALLEST_LEVEL: i64 = 16;

/// The light's parameter and its fixed filter matrices.
#[derive(Debug)]
pub struct EnvironmentLight {
    /// `[6, R, R, 3]` linear radiance, the trainable parameter.
    pub base: Tensor,
    /// Filter per specular level except the last.
    specular_filters: Vec<Filter>,
    diffuse_filter: Filter,
}

/// The light's levels for one iteration.
#[derive(Debug)]
pub struct Prefiltered {
    /// Specular levels, sharpest first, for [`crate::ops::cubemap::texture_cube`] with a lod.
    pub specular: CubeMipmaps,
    /// Diffuse irradiance (already divided by π), one level.
    pub diffuse: CubeMipmaps,
}

impl EnvironmentLight {
    /// A uniform grey light (0.5, as nvdiffrec starts) with `resolution`² faces (a power of two,
    /// 32 to 64: see [`super::cube_filter`]).
    pub fn new(path: &tch::nn::Path<'_>, resolution: i64) -> Result<Self, EngineError> {
        if !(32..=64).contains(&resolution) || resolution.count_ones() != 1 {
            return Err(EngineError::InvalidArgument {
                op: "environment_light",
                arg: "resolution",
                reason: format!("{resolution} is not 32 or 64"),
            });
        }
        let base =
            path.f_var("base", &[6, resolution, resolution, 3], tch::nn::Init::Const(0.5))?;
        let device = base.device();
        let sizes = level_sizes(resolution);
        let last = sizes.len() - 1;
        let specular_filters = sizes[..last]
            .iter()
            .enumerate()
            .map(|(i, &size)| {
                Filter::new(size as usize, Lobe::Ggx(level_roughness(i, sizes.len())), device)
            })
            .collect::<Result<_, _>>()?;
        let diffuse_filter = Filter::new(SMALLEST_LEVEL as usize, Lobe::Cosine, device)?;
        Ok(Self { base, specular_filters, diffuse_filter })
    }

    /// Filters the current base into this iteration's levels (differentiable in `base`).
    pub fn prefilter(&self) -> Result<Prefiltered, EngineError> {
        let mut levels = vec![self.base.shallow_clone()];
        while levels[levels.len() - 1].size()[1] > SMALLEST_LEVEL {
            let last = &levels[levels.len() - 1];
            let s = last.size()[1];
            let faces = last.f_permute([0, 3, 1, 2])?;
            let half = faces.f_avg_pool2d([2, 2], [2, 2], [0, 0], false, true, None::<i64>)?;
            levels.push(half.f_permute([0, 2, 3, 1])?.f_contiguous()?.f_reshape([
                6,
                s / 2,
                s / 2,
                3,
            ])?);
        }
        let last = levels.len() - 1;
        let diffuse = self.diffuse_filter.apply(&levels[last])?;
        let mut specular = Vec::with_capacity(levels.len());
        for (i, level) in levels.iter().enumerate() {
            let filtered = if i < last {
                self.specular_filters[i].apply(level)?
            } else {
                level.shallow_clone()
            };
            specular.push(filtered.f_unsqueeze(0)?);
        }
        Ok(Prefiltered {
            specular: CubeMipmaps::from_levels(specular)?,
            diffuse: CubeMipmaps::from_levels(vec![diffuse.f_unsqueeze(0)?])?,
        })
    }

    /// Specular level (fractional) for perceptual roughness, as nvdiffrec maps it.
    pub fn mip_level(&self, roughness: &Tensor) -> Result<Tensor, EngineError> {
        let n = self.specular_filters.len() as f64 + 1.0;
        let low = roughness
            .f_clamp(MIN_ROUGHNESS, MAX_ROUGHNESS)?
            .f_sub_scalar(MIN_ROUGHNESS)?
            .f_mul_scalar((n - 2.0) / (MAX_ROUGHNESS - MIN_ROUGHNESS))?;
        let high = roughness
            .f_clamp(MAX_ROUGHNESS, 1.0)?
            .f_sub_scalar(MAX_ROUGHNESS)?
            .f_div_scalar(1.0 - MAX_ROUGHNESS)?
            .f_add_scalar(n - 2.0)?;
        Ok(low.f_where_self(&roughness.f_lt(MAX_ROUGHNESS)?, &high)?)
    }

    /// nvdiffrec's light regularizer: mean absolute deviation of each texel from its own grey,
    /// which keeps colour in the materials rather than in the light.
    pub fn regularizer(&self) -> Result<Tensor, EngineError> {
        let grey = self.base.f_mean_dim([3i64].as_slice(), true, Kind::Float)?;
        Ok(self.base.f_sub(&grey)?.f_abs()?.f_mean(Kind::Float)?)
    }
}

/// Face sizes from `resolution` down to 16.
fn level_sizes(resolution: i64) -> Vec<i64> {
    std::iter::successors(Some(resolution), |&s| (s > SMALLEST_LEVEL).then_some(s / 2)).collect()
}

/// Roughness of filtered level `i` of `n` (the last level is not filtered).
fn level_roughness(i: usize, n: usize) -> f64 {
    if n <= 2 {
        return MIN_ROUGHNESS;
    }
    MIN_ROUGHNESS + (MAX_ROUGHNESS - MIN_ROUGHNESS) * i as f64 / (n - 2) as f64
}
