//! The material field: a hash-grid encoding and a small MLP mapping a surface point to base
//! colour (kd), occlusion/roughness/metallic (ks) and a normal perturbation, as nvdiffrec's
//! `MLPTexture3D` with its nine `kd_ks_normal` channels.
//!
//! The reference learns the perturbation in a tangent frame built from per-tetrahedron dummy UVs
//! and then bakes it into a texture whose frame is unrelated to it. Here it is a world-space
//! offset whose tangential part tilts the normal: no tangent frame is needed during pass 1, and
//! the bake writes the normal it produces (on the surface it was learned on) in the atlas's
//! tangent frames.

use tch::Tensor;

use super::NvdiffrecError;
use super::bounds::GridBox;
use crate::geometry::rows::{dot, normalize};
use crate::nn::{HashGrid, HashGridConfig, Mlp};
use crate::render::Material;

/// Lower and upper bounds of ks: occlusion fixed at 0, roughness ≥ 0.08, metallic in [0, 1].
pub(super) const KS_MIN: [f64; 3] = [0.0, 0.08, 0.0];
pub(super) const KS_MAX: [f64; 3] = [0.0, 1.0, 1.0];

/// Encoding + MLP over a cube (the DMTet grid's).
#[derive(Debug)]
pub struct MaterialField {
    /// The encoding's tables.
    pub grid: HashGrid,
    mlp: Mlp,
    domain: GridBox,
}

impl MaterialField {
    /// A field over `domain` with 2^`table_log2` entries per hash level.
    pub fn new(
        path: &tch::nn::Path<'_>,
        domain: GridBox,
        table_log2: u32,
    ) -> Result<Self, NvdiffrecError> {
        let config = HashGridConfig { log2_table_size: table_log2, ..HashGridConfig::default() };
        Self::with_encoding(path, domain, config)
    }

    /// A field with its own encoding settings (tests use a coarse, smooth one).
    pub fn with_encoding(
        path: &tch::nn::Path<'_>,
        domain: GridBox,
        config: HashGridConfig,
    ) -> Result<Self, NvdiffrecError> {
        let grid = HashGrid::new(&(path / "encoding"), config)?;
        let mlp = Mlp::new(&(path / "mlp"), grid.output_dim(), 32, 2, 9)?;
        Ok(Self { grid, mlp, domain })
    }

    /// kd and ks at world points `[N, 3]`.
    pub fn sample(&self, points: &Tensor) -> Result<Material, NvdiffrecError> {
        Ok(self.sample_all(points)?.0)
    }

    /// kd, ks and the normal offset `[N, 3]` (each component in [−1, 1], 0 = unperturbed; see
    /// [`perturbed_normals`]) at world points `[N, 3]`.
    pub fn sample_all(&self, points: &Tensor) -> Result<(Material, Tensor), NvdiffrecError> {
        let unit = self.domain.to_unit(points)?;
        let out = self.mlp.forward(&self.grid.forward(&unit)?).f_sigmoid()?;
        let kd = out.f_narrow(1, 0, 3)?;
        let device = points.device();
        let lo = Tensor::from_slice(&KS_MIN).f_to_kind(out.kind())?.f_to_device(device)?;
        let span = Tensor::from_slice(&[0, 1, 2].map(|i| KS_MAX[i] - KS_MIN[i]))
            .f_to_kind(out.kind())?
            .f_to_device(device)?;
        let ks = out.f_narrow(1, 3, 3)?.f_mul(&span)?.f_add(&lo)?;
        let offset = out.f_narrow(1, 6, 3)?.f_mul_scalar(2.0)?.f_sub_scalar(1.0)?;
        Ok((Material { kd, ks }, offset))
    }
}

/// Unit normals `[N, 3]` tilted by the tangential part of `offset` `[N, 3]`:
/// `normalize(n + offset − (offset · n) n)`. At most 60° (the tangential part is at most √3
/// long), so the shading normal never faces away from the surface's side.
pub fn perturbed_normals(normals: &Tensor, offset: &Tensor) -> Result<Tensor, NvdiffrecError> {
    let tilted = normals.f_add(&offset.f_sub(&normals.f_mul(&dot(offset, normals)?)?)?)?;
    Ok(normalize(&tilted)?)
}
