//! Pinhole cameras in the NeRF / OpenGL convention: camera-to-world 4×4, the camera looks down
//! its −Z axis with +Y up; image pixels run right and down from the top-left corner.

use tch::{Kind, Tensor};

use crate::EngineError;

/// A pinhole camera.
#[derive(Debug, Clone, PartialEq)]
pub struct Camera {
    /// Camera-to-world transform, row-major.
    pub world_from_camera: [[f64; 4]; 4],
    /// Focal lengths in pixels.
    pub focal_px: [f64; 2],
    /// Principal point in pixels from the top-left corner of the image.
    pub principal_px: [f64; 2],
    /// Image width and height in pixels.
    pub size_px: [u32; 2],
}

impl Camera {
    /// A centred camera from NeRF-synthetic's `camera_angle_x` (horizontal field of view).
    pub fn from_fov_x(
        world_from_camera: [[f64; 4]; 4],
        fov_x_rad: f64,
        width: u32,
        height: u32,
    ) -> Self {
        let focal = 0.5 * f64::from(width) / (0.5 * fov_x_rad).tan();
        Self {
            world_from_camera,
            focal_px: [focal, focal],
            principal_px: [f64::from(width) / 2.0, f64::from(height) / 2.0],
            size_px: [width, height],
        }
    }

    /// The same camera for an image resized to `width × height`.
    pub fn resized(&self, width: u32, height: u32) -> Self {
        let sx = f64::from(width) / f64::from(self.size_px[0]);
        let sy = f64::from(height) / f64::from(self.size_px[1]);
        Self {
            world_from_camera: self.world_from_camera,
            focal_px: [self.focal_px[0] * sx, self.focal_px[1] * sy],
            principal_px: [self.principal_px[0] * sx, self.principal_px[1] * sy],
            size_px: [width, height],
        }
    }

    /// OpenGL projection: camera space → clip space with NDC y up and depth in [−1, 1] between
    /// `near` and `far`.
    pub fn clip_from_camera(&self, near: f64, far: f64) -> [[f64; 4]; 4] {
        let [w, h] = self.size_px.map(f64::from);
        let [fx, fy] = self.focal_px;
        let [cx, cy] = self.principal_px;
        [
            [2.0 * fx / w, 0.0, -(2.0 * cx / w - 1.0), 0.0],
            [0.0, 2.0 * fy / h, -(1.0 - 2.0 * cy / h), 0.0],
            [0.0, 0.0, -(far + near) / (far - near), -2.0 * far * near / (far - near)],
            [0.0, 0.0, -1.0, 0.0],
        ]
    }

    /// World → clip transform as a `[4, 4]` float64 tensor (apply as `pos_h @ m.T`).
    pub fn clip_from_world(&self, near: f64, far: f64) -> Result<Tensor, EngineError> {
        let to_tensor = |m: [[f64; 4]; 4]| Tensor::from_slice(m.as_flattened()).f_reshape([4, 4]);
        let camera_from_world = Tensor::f_linalg_inv(&to_tensor(self.world_from_camera)?)?;
        Ok(to_tensor(self.clip_from_camera(near, far))?
            .f_matmul(&camera_from_world)?
            .f_to_kind(Kind::Double)?)
    }
}

/// Transforms world points `[N, 3]` by a `[4, 4]` matrix into homogeneous `[N, 4]` (clip space).
pub fn transform_points(points: &Tensor, matrix: &Tensor) -> Result<Tensor, EngineError> {
    let ones = Tensor::f_ones([points.size()[0], 1], (points.kind(), points.device()))?;
    let homogeneous = Tensor::f_cat(&[points.shallow_clone(), ones], 1)?;
    Ok(homogeneous.f_matmul(
        &matrix.f_to_kind(points.kind())?.f_to_device(points.device())?.f_transpose(0, 1)?,
    )?)
}
