//! Differentiable rasterization with nvdiffrast's decomposition and conventions.
//!
//! Conventions (identical to nvdiffrast): clip-space positions `[B, V, 4]` (or `[V, 4]`), int32
//! triangles `[T, 3]`; output rows go bottom-up (row 0 is NDC y = −1, as in OpenGL; flip to compare
//! with images); pixel `(px, py)` samples NDC `((2px+1)/W − 1, (2py+1)/H − 1)`; `rast[..., 0..2]`
//! are the perspective-correct barycentrics `(u, v)` of vertices 0 and 1 (vertex 2 gets
//! `1 − u − v`), `rast[..., 2]` is z/w, `rast[..., 3]` is triangle id + 1 (0 = background, exact
//! for up to 2²⁴ triangles). Both windings are drawn; points behind the camera (w ≤ 0) or outside
//! −w ≤ z ≤ w are clipped; a triangle with a non-finite vertex is not drawn.
//!
//! The triangle id per pixel comes from a kernel ([`visibility`]: binned on CUDA, tiled and
//! multi-threaded on the CPU) and carries no gradient; the barycentrics are then recomputed from
//! the gathered clip-space vertices as tensor ops ([`barycentric`]), so autograd gives exact
//! gradients inside triangles. On CUDA in float32, barycentrics, `interpolate` and `antialias`
//! run as fused kernels with hand-written backward passes instead ([`fused`]), tested against
//! the tensor-op paths in float64.

pub mod antialias;
pub mod barycentric;
mod coverage;
mod cpu;
mod cuda;
mod fused;
pub mod interpolate;
pub mod topology;
pub mod visibility;

pub use antialias::antialias;
pub use barycentric::barycentrics;
pub use interpolate::{Interpolated, interpolate};
pub use topology::Topology;
pub use visibility::{visibility, visibility_into};

use tch::Tensor;

use crate::EngineError;

/// Output of [`rasterize`].
#[derive(Debug)]
pub struct Rasterized {
    /// `[B, H, W, 4]`: u, v, z/w, triangle id + 1.
    pub rast: Tensor,
    /// `[B, H, W, 4]`: du/dx, du/dy, dv/dx, dv/dy in pixels, when asked for (mip selection).
    pub rast_db: Option<Tensor>,
}

/// Rasterizes `tris` with clip-space `pos` at `resolution = (height, width)`.
///
/// `pos` may be float32 or float64 (float64 keeps gradient checks exact; visibility is always
/// decided in float32). With `with_derivatives`, also returns the barycentrics' screen-space
/// derivatives.
pub fn rasterize(
    pos: &Tensor,
    tris: &Tensor,
    resolution: (i64, i64),
    with_derivatives: bool,
) -> Result<Rasterized, EngineError> {
    let pos = visibility::batched_positions("rasterize", pos)?;
    let ids = visibility(&pos, tris, resolution)?;
    if let (Some(ordinal), false) = (fused::fused_device(&pos), with_derivatives) {
        let rast = fused::barycentric::barycentrics(&pos, tris, &ids, ordinal)?;
        return Ok(Rasterized { rast, rast_db: None });
    }
    let (rast, rast_db) = barycentrics(&pos, tris, &ids, with_derivatives)?;
    Ok(Rasterized { rast, rast_db })
}
