//! What `GET /api/health` reports: devices (probed once, in the background) and models.

use meshcast_engine::dataset::colmap::solve::Colmap;
use meshcast_engine::{DeviceReport, probe_devices, tch};
use meshcast_shared::{DeviceInfo, DeviceKind, Health, ModelName, ModelStatus, ToolStatus};
use tokio::sync::OnceCell;

use crate::jobs::Jobs;

/// Probes devices once per process and answers health queries from the result.
#[derive(Debug)]
pub struct HealthService {
    devices: OnceCell<Vec<DeviceInfo>>,
    colmap: OnceCell<ToolStatus>,
    jobs: Jobs,
}

impl HealthService {
    /// A service that has not probed yet.
    pub fn new(jobs: Jobs) -> Self {
        Self { devices: OnceCell::new(), colmap: OnceCell::new(), jobs }
    }

    /// The devices; the first caller runs the probe (CUDA init and kernel compilation) on the
    /// blocking pool, later callers get the cached answer.
    pub async fn devices(&self) -> &[DeviceInfo] {
        self.devices
            .get_or_init(|| async {
                match tokio::task::spawn_blocking(probe_devices).await {
                    Ok(reports) => reports.iter().map(device_info).collect(),
                    Err(e) => {
                        tracing::error!(error = %e, "device probe failed; reporting the CPU only");
                        vec![cpu_only()]
                    }
                }
            })
            .await
    }

    /// COLMAP's presence and version, asked once per process (on the blocking pool).
    pub async fn colmap(&self) -> &ToolStatus {
        self.colmap
            .get_or_init(|| async {
                let version =
                    tokio::task::spawn_blocking(|| Colmap::default().version()).await.ok();
                let (version, note) = match version {
                    Some(Ok(v)) => (Some(v), "camera poses for photos without them".to_owned()),
                    Some(Err(e)) => (None, e.to_string()),
                    None => (None, "the COLMAP probe failed".to_owned()),
                };
                ToolStatus { name: "colmap".into(), version, note }
            })
            .await
    }

    /// The whole health answer.
    pub async fn health(&self) -> Health {
        Health {
            status: "ok".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            devices: self.devices().await.to_vec(),
            models: ModelName::ALL.into_iter().map(|m| self.model_status(m)).collect(),
            tools: vec![self.colmap().await.clone()],
        }
    }

    fn model_status(&self, model: ModelName) -> ModelStatus {
        let reason = self.jobs.availability(model).err();
        ModelStatus { name: model, available: reason.is_none(), reason }
    }
}

fn cpu_only() -> DeviceInfo {
    DeviceInfo {
        kind: DeviceKind::Cpu,
        index: 0,
        name: "CPU".into(),
        memory_bytes: None,
        compute_capability: None,
        kernels_ready: None,
        kernels_error: None,
    }
}

/// Engine report → wire type.
fn device_info(report: &DeviceReport) -> DeviceInfo {
    let (kind, index) = match report.device {
        tch::Device::Cuda(i) => (DeviceKind::Cuda, i as u32),
        _ => (DeviceKind::Cpu, 0),
    };
    DeviceInfo {
        kind,
        index,
        name: report.name.clone(),
        memory_bytes: report.memory_bytes,
        compute_capability: report
            .compute_capability
            .map(|(major, minor)| format!("{major}.{minor}")),
        kernels_ready: report.kernels.as_ref().map(Result::is_ok),
        kernels_error: report.kernels.as_ref().and_then(|k| k.as_ref().err().cloned()),
    }
}
