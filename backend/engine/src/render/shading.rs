//! nvdiffrec's metallic-roughness shading under a split-sum environment light.

use tch::{Kind, Tensor};

use super::env_light::{EnvironmentLight, Prefiltered};
use crate::EngineError;
use crate::geometry::rows::{dot, normalize};
use crate::ops::cubemap::texture_cube;
use crate::ops::texture::{Boundary, Filter, Mipmaps, texture};

/// Surface properties per shaded point, each `[N, C]`.
#[derive(Debug)]
pub struct Material {
    /// Base colour (linear), `[N, 3]`.
    pub kd: Tensor,
    /// Occlusion, roughness, metallic, `[N, 3]` (glTF's ORM packing).
    pub ks: Tensor,
}

/// Linear radiance `[N, 3]` leaving points `pos` `[N, 3]` with unit `normal` `[N, 3]` towards
/// `camera` (`[N, 3]`, each point's camera position).
pub fn shade(
    light: &EnvironmentLight,
    levels: &Prefiltered,
    lut: &Mipmaps,
    pos: &Tensor,
    normal: &Tensor,
    camera: &Tensor,
    material: &Material,
) -> Result<Tensor, EngineError> {
    let n = pos.size()[0];
    let as_image = |t: &Tensor| t.f_reshape([1, n, 1, 3]);
    let wo = normalize(&camera.f_sub(pos)?)?;
    let n_dot_v = dot(&wo, normal)?;
    let reflected = normal.f_mul(&n_dot_v.f_mul_scalar(2.0)?)?.f_sub(&wo)?;
    let occlusion = material.ks.f_narrow(1, 0, 1)?;
    let roughness = material.ks.f_narrow(1, 1, 1)?;
    let metallic = material.ks.f_narrow(1, 2, 1)?;
    let kd = &material.kd;
    let spec_colour =
        metallic.f_neg()?.f_add_scalar(1.0)?.f_mul_scalar(0.04)?.f_add(&kd.f_mul(&metallic)?)?;
    let diff_colour = kd.f_mul(&metallic.f_neg()?.f_add_scalar(1.0)?)?;
    let diffuse = texture_cube(&levels.diffuse, &as_image(normal)?, None)?.f_reshape([n, 3])?;
    let uv = Tensor::f_cat(&[n_dot_v.f_clamp(1e-4, 1.0)?, roughness.shallow_clone()], 1)?
        .f_reshape([1, n, 1, 2])?;
    let fg = texture(lut, &uv, None, Filter::Linear, Boundary::Clamp, 0.0)?.f_reshape([n, 2])?;
    let lod = light.mip_level(&roughness)?.f_reshape([1, n, 1])?;
    let specular =
        texture_cube(&levels.specular, &as_image(&reflected)?, Some(&lod))?.f_reshape([n, 3])?;
    let reflectance = spec_colour.f_mul(&fg.f_narrow(1, 0, 1)?)?.f_add(&fg.f_narrow(1, 1, 1)?)?;
    let shaded = diffuse.f_mul(&diff_colour)?.f_add(&specular.f_mul(&reflectance)?)?;
    Ok(shaded.f_mul(&occlusion.f_neg()?.f_add_scalar(1.0)?)?.f_to_kind(Kind::Float)?)
}
