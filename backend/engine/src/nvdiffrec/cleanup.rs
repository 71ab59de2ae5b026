//! Removal of surface no camera sees: DMTet leaves closed fragments inside the object (the
//! reference implementation's pass-1 mesh had 3.6× the true surface area), which cost texture
//! space and triangles and count against the surface in any comparison. A connected component
//! without a single triangle visible in some training view is dropped.

use tch::{Kind, Tensor};

use super::NvdiffrecError;
use super::views::ViewBatch;
use crate::geometry::TriangleMesh;
use crate::geometry::components::{select_triangles, triangle_components};
use crate::ops::raster::visibility;

/// What [`remove_hidden_components`] removed.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Cleanup {
    /// Components before.
    pub components: i64,
    /// Components removed.
    pub removed_components: i64,
    /// Triangles removed.
    pub removed_triangles: i64,
}

/// `mesh` without the connected components that none of `views` (`count` views at `size`
/// (width, height), rendered `batch` at a time) shows.
pub fn remove_hidden_components(
    mesh: &TriangleMesh,
    views: &ViewBatch,
    count: i64,
    size: (u32, u32),
    batch: i64,
) -> Result<(TriangleMesh, Cleanup), NvdiffrecError> {
    let device = mesh.vertices.device();
    let f = mesh.triangles.size()[0];
    let (labels, components) = triangle_components(&mesh.triangles, mesh.vertices.size()[0])?;
    let labels = labels.f_to_device(device)?;
    let mut seen = Tensor::f_zeros([components.max(1)], (Kind::Int64, device))?;
    tch::no_grad(|| -> Result<(), NvdiffrecError> {
        for start in (0..count).step_by(batch.max(1) as usize) {
            let index =
                Tensor::f_arange_start(start, (start + batch).min(count), (Kind::Int64, device))?;
            let clip = views.project(&mesh.vertices.f_detach()?, &index)?;
            let ids = visibility(&clip, &mesh.triangles, (i64::from(size.1), i64::from(size.0)))?;
            let visible = ids.f_reshape([-1])?.f_to_kind(Kind::Int64)?;
            let visible = visible
                .f_index_select(0, &visible.f_gt(0)?.f_nonzero()?.f_squeeze_dim(1)?)?
                .f_sub_scalar(1)?;
            seen = seen.f_index_fill(0, &labels.f_index_select(0, &visible)?, 1)?;
        }
        Ok(())
    })?;
    let keep = seen.f_index_select(0, &labels)?.f_gt(0)?;
    let kept = select_triangles(mesh, &keep)?;
    let visible_components = seen.f_sum(Kind::Int64)?.f_int64_value(&[])?;
    let cleanup = Cleanup {
        components,
        removed_components: components - visible_components,
        removed_triangles: f - kept.triangles.size()[0],
    };
    Ok((kept, cleanup))
}
