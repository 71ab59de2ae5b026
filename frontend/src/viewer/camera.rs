//! Orbit camera: yaw/pitch around a target at a distance, with pan and zoom.

use glam::camera::rh::{proj::opengl::perspective, view::look_at_mat4};
use glam::{Mat4, Vec3};

/// Vertical field of view.
const FOV_Y_RAD: f32 = std::f32::consts::FRAC_PI_4;
/// Pitch stays short of the poles so `look_at` keeps a stable up vector.
const PITCH_LIMIT_RAD: f32 = 1.55;

/// An orbit camera looking at `target`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrbitCamera {
    /// Point the camera orbits and looks at.
    pub target: Vec3,
    /// Distance from the target.
    pub distance: f32,
    /// Rotation around world +Y.
    pub yaw_rad: f32,
    /// Elevation above the XZ plane.
    pub pitch_rad: f32,
    /// Size of the framed object (sets clip planes and zoom limits).
    pub radius: f32,
}

impl OrbitCamera {
    /// A camera framing the box `(min, max)` from slightly above.
    pub fn framing(min: Vec3, max: Vec3) -> Self {
        let radius = ((max - min).length() * 0.5).max(1e-3);
        Self {
            target: (min + max) * 0.5,
            distance: radius / (FOV_Y_RAD * 0.5).sin() * 1.05,
            yaw_rad: 0.6,
            pitch_rad: 0.45,
            radius,
        }
    }

    /// Camera position in world space.
    pub fn eye(&self) -> Vec3 {
        let (sy, cy) = self.yaw_rad.sin_cos();
        let (sp, cp) = self.pitch_rad.sin_cos();
        self.target + self.distance * Vec3::new(cp * sy, sp, cp * cy)
    }

    /// World → clip transform for a viewport of the given aspect ratio.
    pub fn view_proj(&self, aspect: f32) -> Mat4 {
        let near = (self.distance - self.radius * 2.0).max(self.distance * 1e-3);
        let far = self.distance + self.radius * 2.0;
        perspective(FOV_Y_RAD, aspect.max(1e-3), near, far)
            * look_at_mat4(self.eye(), self.target, Vec3::Y)
    }

    /// Rotates by a pointer drag of `(dx, dy)` pixels in a viewport `height` pixels tall.
    pub fn orbit(&mut self, dx: f32, dy: f32, height: f32) {
        let per_px = std::f32::consts::PI / height.max(1.0);
        self.yaw_rad -= dx * per_px;
        self.pitch_rad = (self.pitch_rad + dy * per_px).clamp(-PITCH_LIMIT_RAD, PITCH_LIMIT_RAD);
    }

    /// Moves the target so the point under the pointer follows it.
    pub fn pan(&mut self, dx: f32, dy: f32, height: f32) {
        let world_per_px = 2.0 * self.distance * (FOV_Y_RAD * 0.5).tan() / height.max(1.0);
        let forward = (self.target - self.eye()).normalize();
        let right = forward.cross(Vec3::Y).normalize();
        let up = right.cross(forward);
        self.target += (-dx * right + dy * up) * world_per_px;
    }

    /// Zooms by `steps` wheel notches (positive = closer), within sensible limits.
    pub fn zoom(&mut self, steps: f32) {
        self.distance =
            (self.distance * 0.9f32.powf(steps)).clamp(self.radius * 0.05, self.radius * 50.0);
    }
}
