//! WebGL2 mesh viewer: orbit/zoom/pan camera, hemisphere + key light, redraw on demand.

pub mod camera;
mod controls;
pub mod glb;
pub mod mesh;
mod program;
pub mod renderer;

pub use controls::Viewer;
