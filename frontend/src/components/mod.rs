//! Components used by several pages.

mod health_panel;
mod mesh_viewer;

pub use health_panel::HealthPanel;
pub use mesh_viewer::MeshViewer;
