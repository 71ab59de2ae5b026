//! Guided capture with the device camera: the camera stream (`camera.rs`), the ring of target
//! views the coverage indicator fills (`plan.rs`) and the blur check each frame passes before it
//! is kept (`sharpness.rs`).

pub mod camera;
pub mod plan;
pub mod sharpness;
