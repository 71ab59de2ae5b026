//! `GET /api/health`: what the server can compute on and which models it can run.

use serde::{Deserialize, Serialize};

use crate::ModelName;

/// Answer of `GET /api/health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// Always `"ok"` when the server answers at all.
    pub status: String,
    /// Server version (the crate version).
    pub version: String,
    /// Compute devices libtorch sees; the CPU is always first.
    pub devices: Vec<DeviceInfo>,
    /// Every model, available or not.
    pub models: Vec<ModelStatus>,
    /// External programs the server runs (COLMAP for photos without poses).
    #[serde(default)]
    pub tools: Vec<ToolStatus>,
}

/// An external program, found or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolStatus {
    /// Program name, e.g. `colmap`.
    pub name: String,
    /// Its version when found.
    pub version: Option<String>,
    /// What it is for and, when missing, how to get it.
    pub note: String,
}

/// CPU or CUDA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// The host processor.
    Cpu,
    /// An NVIDIA GPU through CUDA.
    Cuda,
}

/// One compute device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// CPU or CUDA.
    pub kind: DeviceKind,
    /// Ordinal among devices of the same kind.
    pub index: u32,
    /// Human name, e.g. `NVIDIA H100 80GB HBM3` or `CPU (16 threads)`.
    pub name: String,
    /// Total memory in bytes when known (GPUs).
    pub memory_bytes: Option<u64>,
    /// Compute capability `major.minor` for GPUs.
    pub compute_capability: Option<String>,
    /// Whether the run-time compiled CUDA kernels loaded on this device; `None` for the CPU.
    pub kernels_ready: Option<bool>,
    /// Why the kernels did not load (compile log), when they did not.
    pub kernels_error: Option<String>,
}

/// Whether a model can run here, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelStatus {
    /// Model name.
    pub name: ModelName,
    /// True when a job for this model would be accepted.
    pub available: bool,
    /// Human reason when unavailable.
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_snapshot() {
        let health = Health {
            status: "ok".into(),
            version: "0.1.0".into(),
            devices: vec![DeviceInfo {
                kind: DeviceKind::Cuda,
                index: 0,
                name: "NVIDIA H100".into(),
                memory_bytes: Some(85_000_000_000),
                compute_capability: Some("9.0".into()),
                kernels_ready: Some(true),
                kernels_error: None,
            }],
            models: vec![ModelStatus {
                name: ModelName::Reconviagen,
                available: false,
                reason: Some("weights missing".into()),
            }],
            tools: vec![ToolStatus {
                name: "colmap".into(),
                version: Some("3.8".into()),
                note: "camera poses for photos".into(),
            }],
        };
        let json = serde_json::to_string(&health).unwrap();
        assert_eq!(
            json,
            r#"{"status":"ok","version":"0.1.0","devices":[{"kind":"cuda","index":0,"name":"NVIDIA H100","memory_bytes":85000000000,"compute_capability":"9.0","kernels_ready":true,"kernels_error":null}],"models":[{"name":"reconviagen","available":false,"reason":"weights missing"}],"tools":[{"name":"colmap","version":"3.8","note":"camera poses for photos"}]}"#
        );
        let back: Health = serde_json::from_str(&json).unwrap();
        assert_eq!(back, health);
    }
}
