//! Cameras of a split as batched tensors: world → clip matrices and camera positions.

use tch::{Device, Kind, Tensor};

use super::NvdiffrecError;
use crate::camera::Camera;

/// Near and far clip planes: the scenes sit a few units from the cameras.
pub const NEAR: f64 = 0.1;
/// See [`NEAR`].
pub const FAR: f64 = 100.0;

/// Per-view matrices on the training device.
#[derive(Debug)]
pub struct ViewBatch {
    /// `[N, 4, 4]` float32 world → clip.
    pub clip_from_world: Tensor,
    /// `[N, 3]` float32 camera positions in world space.
    pub positions: Tensor,
}

impl ViewBatch {
    /// The matrices of `cameras` on `device`.
    pub fn new(cameras: &[Camera], device: Device) -> Result<Self, NvdiffrecError> {
        let mut matrices = Vec::with_capacity(cameras.len());
        let mut positions = Vec::with_capacity(cameras.len() * 3);
        for camera in cameras {
            matrices.push(camera.clip_from_world(NEAR, FAR)?);
            positions.extend([0, 1, 2].map(|r| camera.world_from_camera[r][3]));
        }
        Ok(Self {
            clip_from_world: Tensor::f_stack(&matrices, 0)?
                .f_to_kind(Kind::Float)?
                .f_to_device(device)?,
            positions: Tensor::from_slice(&positions)
                .f_reshape([-1, 3])?
                .f_to_kind(Kind::Float)?
                .f_to_device(device)?,
        })
    }

    /// Clip-space positions `[B, V, 4]` of world points `[V, 3]` for the views `index` (`[B]`).
    pub fn project(&self, points: &Tensor, index: &Tensor) -> Result<Tensor, NvdiffrecError> {
        let m = self.clip_from_world.f_index_select(0, index)?; // [B, 4, 4]
        let ones = points.f_ones_like()?.f_narrow(1, 0, 1)?;
        let homogeneous = Tensor::f_cat(&[points.shallow_clone(), ones], 1)?; // [V, 4]
        Ok(homogeneous.f_unsqueeze(0)?.f_matmul(&m.f_transpose(1, 2)?)?)
    }
}
