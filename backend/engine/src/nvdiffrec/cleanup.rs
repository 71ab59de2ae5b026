//! Removal of surface no camera sees. DMTet leaves closed fragments inside the object (the
//! reference implementation's pass-1 mesh had 3.6× the true surface area) and sheets attached to
//! the visible surface behind it; they cost texture space and triangles and count against the
//! surface in any comparison. Two steps: connected components without a single triangle seen by
//! some training view are dropped; then so is every triangle that neither a training view nor
//! any of a sphere of views around the object (which also see the underside that captures from
//! above miss) shows, unless it lies within `margin_rings` vertex rings of a shown one. The
//! margin keeps visible triangles too small to cover a pixel centre, so culling leaves no
//! pinholes.

use tch::{Kind, Tensor};

use super::NvdiffrecError;
use super::bounds::GridBox;
use super::views::ViewBatch;
use crate::camera::Camera;
use crate::geometry::TriangleMesh;
use crate::geometry::components::{select_triangles, triangle_components};
use crate::ops::raster::visibility;

/// What [`remove_hidden_surface`] removed.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Cleanup {
    /// Components before.
    pub components: i64,
    /// Components removed.
    pub removed_components: i64,
    /// Triangles removed with those components (whole components only; see
    /// `removed_unseen_triangles` for the rest).
    pub removed_triangles: i64,
    /// Triangles of the remaining components removed as unseen.
    pub removed_unseen_triangles: i64,
}

/// Views that [`remove_hidden_surface`] renders (the training views, or views around).
#[derive(Debug, Clone, Copy)]
pub struct Viewpoints<'a> {
    /// Cameras.
    pub views: &'a ViewBatch,
    /// How many of them.
    pub count: i64,
    /// Width and height of the visibility images (larger than the training images catches
    /// smaller triangles).
    pub size: (u32, u32),
    /// Views rendered at a time.
    pub batch: i64,
}

/// `[F]` bool: triangles that cover at least one pixel centre in some view.
pub fn seen_triangles(mesh: &TriangleMesh, at: Viewpoints<'_>) -> Result<Tensor, NvdiffrecError> {
    let device = mesh.vertices.device();
    let f = mesh.triangles.size()[0];
    // Slot 0 collects background pixels (id 0); triangle i is slot i + 1.
    let mut seen = Tensor::f_zeros([f + 1], (Kind::Bool, device))?;
    tch::no_grad(|| -> Result<(), NvdiffrecError> {
        for start in (0..at.count).step_by(at.batch.max(1) as usize) {
            let end = (start + at.batch).min(at.count);
            let index = Tensor::f_arange_start(start, end, (Kind::Int64, device))?;
            let clip = at.views.project(&mesh.vertices.f_detach()?, &index)?;
            let resolution = (i64::from(at.size.1), i64::from(at.size.0));
            let ids = visibility(&clip, &mesh.triangles, resolution)?;
            seen = seen.f_index_fill(0, &ids.f_reshape([-1])?.f_to_kind(Kind::Int64)?, 1)?;
        }
        Ok(())
    })?;
    Ok(seen.f_narrow(0, 1, f)?)
}

/// `seen` (`[F]` bool) grown by `rings` vertex rings: a triangle joins when one of its vertices
/// belongs to a triangle already in the set.
pub fn grow_by_rings(
    triangles: &Tensor,
    vertices: i64,
    seen: &Tensor,
    rings: u32,
) -> Result<Tensor, NvdiffrecError> {
    let tris = triangles.f_to_kind(Kind::Int64)?;
    let mut set = seen.shallow_clone();
    for _ in 0..rings {
        let corners = tris.f_index_select(0, &set.f_nonzero()?.f_squeeze_dim(1)?)?;
        let touched = Tensor::f_zeros([vertices], (Kind::Bool, tris.device()))?.f_index_fill(
            0,
            &corners.f_reshape([-1])?,
            1,
        )?;
        set = touched.f_index(&[Some(&tris)])?.f_any_dim(1, false)?;
    }
    Ok(set)
}

/// `count` square `size`-pixel cameras spread evenly over a sphere around `domain` (a Fibonacci
/// lattice), each looking at its centre and framing the cube's bounding sphere.
pub fn surrounding_cameras(domain: GridBox, count: usize, size: u32) -> Vec<Camera> {
    let radius = domain.half_extent * 3f64.sqrt();
    let distance = 2.5 * radius;
    let fov = 2.0 * (radius / distance).asin();
    let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
    (0..count)
        .map(|i| {
            let y = 1.0 - 2.0 * (i as f64 + 0.5) / count as f64;
            let ring = (1.0 - y * y).sqrt();
            let phi = golden * i as f64;
            // The camera looks down its −z axis, so +z points from the centre to the camera.
            let z = [ring * phi.cos(), y, ring * phi.sin()];
            let up = if y.abs() > 0.99 { [1.0, 0.0, 0.0] } else { [0.0, 1.0, 0.0] };
            let x = normalized(cross(up, z));
            let yy = cross(z, x);
            let c = domain.center;
            let p = [0, 1, 2].map(|k| c[k] + distance * z[k]);
            let world_from_camera = [
                [x[0], yy[0], z[0], p[0]],
                [x[1], yy[1], z[1], p[1]],
                [x[2], yy[2], z[2], p[2]],
                [0.0, 0.0, 0.0, 1.0],
            ];
            Camera::from_fov_x(world_from_camera, fov, size, size)
        })
        .collect()
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

fn normalized(a: [f64; 3]) -> [f64; 3] {
    let l = (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt();
    a.map(|x| x / l)
}

/// `mesh` without the surface that no view shows (module docs): `training` decides which
/// components stay, `training` and `around` together which triangles.
pub fn remove_hidden_surface(
    mesh: &TriangleMesh,
    training: Viewpoints<'_>,
    around: Viewpoints<'_>,
    margin_rings: u32,
) -> Result<(TriangleMesh, Cleanup), NvdiffrecError> {
    let device = mesh.vertices.device();
    let f = mesh.triangles.size()[0];
    let v = mesh.vertices.size()[0];
    let seen = seen_triangles(mesh, training)?;
    let (labels, components) = triangle_components(&mesh.triangles, v)?;
    let labels = labels.f_to_device(device)?;
    let seen_components = Tensor::f_zeros([components.max(1)], (Kind::Bool, device))?
        .f_index_fill(0, &labels.f_masked_select(&seen)?, 1)?;
    let in_seen_component = seen_components.f_index_select(0, &labels)?;
    let shown = seen.f_logical_or(&seen_triangles(mesh, around)?)?;
    let near_seen = grow_by_rings(&mesh.triangles, v, &shown, margin_rings)?;
    let keep = in_seen_component.f_logical_and(&near_seen)?;
    let kept = select_triangles(mesh, &keep)?;
    let in_seen_component = in_seen_component.f_sum(Kind::Int64)?.f_int64_value(&[])?;
    let visible_components = seen_components.f_sum(Kind::Int64)?.f_int64_value(&[])?;
    let cleanup = Cleanup {
        components,
        removed_components: components - visible_components,
        removed_triangles: f - in_seen_component,
        removed_unseen_triangles: in_seen_component - kept.triangles.size()[0],
    };
    Ok((kept, cleanup))
}
