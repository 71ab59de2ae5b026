//! What a run reports while it works: per-iteration progress and periodic mesh snapshots.

use serde::Serialize;

/// Loss terms of one iteration (already weighted), for progress displays and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Losses {
    /// Sum of the terms below.
    pub total: f64,
    /// Log-sRGB L1 on colour.
    pub image: f64,
    /// MSE on the mask.
    pub mask: f64,
    /// SDF sign-flip regularizer.
    pub sdf: f64,
    /// Material smoothness.
    pub smoothness: f64,
    /// Light regularizer.
    pub light: f64,
}

/// Progress after one iteration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    /// 1 = DMTet, 2 = fixed-topology refinement.
    pub pass: u8,
    /// Iterations done in this pass.
    pub iteration: u32,
    /// Iterations this pass will run.
    pub iterations: u32,
    /// This iteration's losses.
    pub losses: Losses,
    /// Test-view PSNR (dB) when it was evaluated at this iteration.
    pub psnr: Option<f64>,
    /// Recent speed.
    pub iterations_per_second: f64,
    /// Triangles of the current mesh.
    pub triangles: i64,
}

/// The current mesh, for live viewers.
#[derive(Debug, Clone, PartialEq)]
pub struct MeshSnapshot {
    /// Pass and iteration it was taken at.
    pub pass: u8,
    /// See `pass`.
    pub iteration: u32,
    /// Vertex positions.
    pub positions: Vec<[f32; 3]>,
    /// Triangles, counter-clockwise from outside.
    pub triangles: Vec<[u32; 3]>,
    /// Per-vertex base colour, linear RGB.
    pub colors: Vec<[f32; 3]>,
}

/// The stages of a run, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// DMTet, materials and light.
    Pass1,
    /// UV unwrap and texture bake.
    UnwrapBake,
    /// Fixed-topology refinement.
    Pass2,
    /// Writing the output files.
    Export,
}

/// Receives a run's reports; both methods are called on the optimizing thread, so they should
/// return quickly (hand the data to another thread for anything slow).
pub trait Observer {
    /// After every iteration.
    fn progress(&mut self, progress: &Progress);
    /// Every `snapshot_every` iterations.
    fn snapshot(&mut self, _snapshot: &MeshSnapshot) {}
    /// When a stage begins.
    fn stage(&mut self, _stage: Stage) {}
}

/// An observer that ignores everything.
#[derive(Debug, Default)]
pub struct Silent;

impl Observer for Silent {
    fn progress(&mut self, _progress: &Progress) {}
}
