//! Where the tetrahedral grid goes: the cube around the object's visual hull.
//!
//! A cube of fixed extent around the origin wastes cells on empty space: the mug spans
//! x ∈ [−0.6, 1.06] but the default cube is [−1.2, 1.2]³, so its 2–3 cm walls are 1.6 cells
//! thick at grid 128, and DMTet fragments surfaces thinner than about two cells. Carving a coarse
//! lattice with the training masks gives the object's extent, and the grid is fitted to it.

use tch::{Device, Kind, Tensor};

use super::NvdiffrecError;
use crate::camera::transform_points;
use crate::dataset::Views;

/// An axis-aligned cube: the grid's and the material field's domain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridBox {
    /// Centre of the cube.
    pub center: [f64; 3],
    /// Half the edge length.
    pub half_extent: f64,
}

impl GridBox {
    /// The cube `[-extent, extent]³`.
    pub fn centered(extent: f64) -> Self {
        Self { center: [0.0; 3], half_extent: extent }
    }

    /// `points` `[N, 3]` mapped to `[0, 1]³` over the cube.
    pub fn to_unit(&self, points: &Tensor) -> Result<Tensor, tch::TchError> {
        let center = Tensor::from_slice(&self.center)
            .f_to_kind(points.kind())?
            .f_to_device(points.device())?;
        points.f_sub(&center)?.f_add_scalar(self.half_extent)?.f_div_scalar(2.0 * self.half_extent)
    }
}

/// Lattice points per axis used for carving.
const CARVE_RESOLUTION: i64 = 64;
/// Alpha above which a pixel counts as object.
const MASK_THRESHOLD: f64 = 0.5;

/// The smallest cube (within `[-max_extent, max_extent]³`, padded by two lattice steps and 5%)
/// holding every lattice point that projects inside the mask of every training view. Falls
/// back to the whole search cube when nothing survives (e.g. inconsistent masks).
pub fn fit_to_masks(views: &Views, max_extent: f64) -> Result<GridBox, NvdiffrecError> {
    let whole = GridBox::centered(max_extent);
    let n = CARVE_RESOLUTION;
    let step = 2.0 * max_extent / (n - 1) as f64;
    let axis = Tensor::f_linspace(-max_extent, max_extent, n, (Kind::Float, Device::Cpu))?;
    let grids = Tensor::f_meshgrid_indexing(&[&axis, &axis, &axis], "ij")?;
    let points = Tensor::f_stack(&grids, 3)?.f_reshape([-1, 3])?;
    let mut inside = Tensor::f_ones([points.size()[0]], (Kind::Bool, Device::Cpu))?;
    let alpha = views.images.f_select(3, 3)?; // [N, H, W]
    for (i, camera) in views.cameras.iter().enumerate() {
        let [w, h] = camera.size_px.map(i64::from);
        let clip = transform_points(&points, &camera.clip_from_world(0.01, 100.0)?)?;
        let cw = clip.f_select(1, 3)?;
        let x = clip.f_select(1, 0)?.f_div(&cw)?;
        let y = clip.f_select(1, 1)?.f_div(&cw)?;
        // NDC → pixel (row 0 at the top of the image).
        let px = x.f_add_scalar(1.0)?.f_mul_scalar(0.5 * w as f64)?.f_floor()?;
        let py = y.f_neg()?.f_add_scalar(1.0)?.f_mul_scalar(0.5 * h as f64)?.f_floor()?;
        let in_image = cw
            .f_gt(0.0)?
            .f_logical_and(&px.f_ge(0.0)?)?
            .f_logical_and(&px.f_lt(w as f64)?)?
            .f_logical_and(&py.f_ge(0.0)?)?
            .f_logical_and(&py.f_lt(h as f64)?)?;
        let index = py
            .f_clamp(0.0, (h - 1) as f64)?
            .f_mul_scalar(w as f64)?
            .f_add(&px.f_clamp(0.0, (w - 1) as f64)?)?
            .f_to_kind(Kind::Int64)?;
        let mask = alpha.f_select(0, i as i64)?.f_reshape([-1])?.f_index_select(0, &index)?;
        inside = inside.f_logical_and(&in_image.f_logical_and(&mask.f_gt(MASK_THRESHOLD)?)?)?;
    }
    let kept = points.f_index_select(0, &inside.f_nonzero()?.f_squeeze_dim(1)?)?;
    if kept.size()[0] == 0 {
        tracing::warn!("no lattice point is inside every mask; using the whole grid cube");
        return Ok(whole);
    }
    let lo = Vec::<f64>::try_from(kept.f_amin([0i64].as_slice(), false)?.f_to_kind(Kind::Double)?)?;
    let hi = Vec::<f64>::try_from(kept.f_amax([0i64].as_slice(), false)?.f_to_kind(Kind::Double)?)?;
    let center: [f64; 3] = std::array::from_fn(|a| 0.5 * (lo[a] + hi[a]));
    let half = (0..3).map(|a| 0.5 * (hi[a] - lo[a])).fold(0.0, f64::max);
    let half_extent = ((half + 2.0 * step) * 1.05).min(max_extent);
    // Keep the cube inside the search cube.
    let center = center.map(|c| c.clamp(-max_extent + half_extent, max_extent - half_extent));
    Ok(GridBox { center, half_extent })
}
