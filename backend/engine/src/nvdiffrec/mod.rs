//! nvdiffrec (Munkberg et al., "Extracting Triangular 3D Models, Materials, and Lighting From
//! Images", CVPR 2022) on the engine's differentiable rendering ops.
//!
//! Pass 1 optimizes a DMTet surface, a hash-grid material field and a split-sum environment
//! light jointly against posed RGBA images ([`train::run_pass1`]).

pub mod bake;
pub mod bounds;
pub mod checkpoint;
pub mod cleanup;
pub mod config;
pub mod dmtet;
mod error;
pub mod eval;
pub mod loss;
pub mod material;
pub mod output;
pub mod pass2;
pub mod pipeline;
pub mod profile;
pub mod progress;
pub mod render;
pub mod train;
pub mod views;

pub use config::{Config, Preset};
pub use error::NvdiffrecError;
pub use output::{Metrics, PassMetrics, export_mesh, textured_mesh, write_meshes, write_metrics};
pub use pass2::{Pass2Output, run_pass2};
pub use pipeline::{RunFiles, reconstruct};
pub use progress::{Losses, MeshSnapshot, Observer, Progress, Silent, Stage};
pub use train::{Checkpointing, PassOutput, run_pass1};
