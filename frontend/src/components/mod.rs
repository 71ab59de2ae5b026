//! Components used by several pages.

mod health_panel;
mod loss_chart;
mod mesh_viewer;
mod viewer_canvas;

pub use health_panel::HealthPanel;
pub use loss_chart::LossChart;
pub use mesh_viewer::MeshViewer;
pub use viewer_canvas::{ViewerCanvas, ViewerHandle};
