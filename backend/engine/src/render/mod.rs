//! Physically based shading for reconstruction: a learnable environment light with the split-sum
//! approximation (prefiltered specular levels, diffuse irradiance, a BRDF lookup table) and the
//! metallic-roughness shading model nvdiffrec uses.

pub mod brdf_lut;
pub mod cube_filter;
pub mod env_light;
pub mod shading;

pub use env_light::{EnvironmentLight, Prefiltered};
pub use shading::{Material, shade};
