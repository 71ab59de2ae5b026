//! Jobs as `GET /api/jobs` lists them and `GET /api/jobs/{id}` describes one.

use serde::{Deserialize, Serialize};

use crate::ModelName;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for a worker.
    Queued,
    /// A worker is reconstructing.
    Running,
    /// Finished with a result.
    Done,
    /// Finished without a result; see the error.
    Failed,
    /// Stopped on request.
    Cancelled,
}

impl JobState {
    /// The wire and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    /// Parses the wire and database spelling.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Queued, Self::Running, Self::Done, Self::Failed, Self::Cancelled]
            .into_iter()
            .find(|state| state.as_str() == s)
    }
}

/// One row of the jobs list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSummary {
    /// Unguessable id (32 hex digits).
    pub id: String,
    /// Which model reconstructs it.
    pub model: ModelName,
    /// Current state.
    pub state: JobState,
    /// Name the person gave the upload (file or folder name).
    pub name: String,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_ms: i64,
}

impl JobState {
    /// True once the job will not change any more.
    pub fn is_finished(self) -> bool {
        matches!(self, JobState::Done | JobState::Failed | JobState::Cancelled)
    }
}

/// One job in full: what the job page shows and the live socket sends on every change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobStatus {
    /// Unguessable id (32 hex digits).
    pub id: String,
    /// Which model reconstructs it.
    pub model: ModelName,
    /// Current state.
    pub state: JobState,
    /// Name the person gave the upload.
    pub name: String,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// When a worker started it.
    pub started_ms: Option<i64>,
    /// When it finished.
    pub finished_ms: Option<i64>,
    /// The stage running now or last (`pass1`, `unwrap_bake`, `pass2`, `export`).
    pub stage: Option<String>,
    /// The latest progress report of an optimization pass.
    pub progress: Option<ProgressPoint>,
    /// How far the current stage is, for stages that are not optimization passes (COLMAP's
    /// steps, masks, the feed-forward model's steps). Live only: a restarted server has none.
    #[serde(default)]
    pub stage_progress: Option<StageProgress>,
    /// Why it failed.
    pub error: Option<String>,
    /// Figures of the finished result.
    pub result: Option<ResultInfo>,
}

/// One iteration's report: a point of the loss/PSNR chart and the numbers beside it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProgressPoint {
    /// 1 = surface, materials and light; 2 = refinement with textures.
    pub pass: u8,
    /// Iterations done in this pass.
    pub iteration: u32,
    /// Iterations this pass will run.
    pub iterations: u32,
    /// Total loss of this iteration.
    pub loss: f64,
    /// Held-out-view PSNR (dB) when it was evaluated at this iteration.
    pub psnr: Option<f64>,
    /// Recent speed.
    pub iterations_per_second: f64,
    /// Triangles of the current mesh.
    pub triangles: i64,
    /// Seconds since the job started.
    pub elapsed_s: f64,
    /// Estimated seconds left in this pass.
    pub eta_s: Option<f64>,
}

/// Progress inside the current stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageProgress {
    /// Done share of the stage, 0 to 1.
    pub fraction: f64,
    /// What it is doing now ("matching features", "registering views").
    pub detail: String,
}

/// What a finished job produced.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ResultInfo {
    /// Triangles of the final mesh.
    pub triangles: i64,
    /// Vertices of the final mesh.
    pub vertices: i64,
    /// Test-view PSNR of the final mesh (dB), when the dataset had test views.
    pub psnr: Option<f64>,
    /// Size of `result.glb` in bytes.
    pub glb_bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_snapshot() {
        let job = JobSummary {
            id: "0123456789abcdef0123456789abcdef".into(),
            model: ModelName::Nvdiffrec,
            state: JobState::Running,
            name: "suzanne.zip".into(),
            created_ms: 1_700_000_000_000,
        };
        assert_eq!(
            serde_json::to_string(&job).unwrap(),
            r#"{"id":"0123456789abcdef0123456789abcdef","model":"nvdiffrec","state":"running","name":"suzanne.zip","created_ms":1700000000000}"#
        );
    }

    #[test]
    fn status_wire_snapshot() {
        let status = JobStatus {
            id: "0123456789abcdef0123456789abcdef".into(),
            model: ModelName::Nvdiffrec,
            state: JobState::Done,
            name: "suzanne.zip".into(),
            created_ms: 1,
            started_ms: Some(2),
            finished_ms: Some(3),
            stage: Some("export".into()),
            progress: Some(ProgressPoint {
                pass: 2,
                iteration: 10,
                iterations: 10,
                loss: 0.5,
                psnr: Some(30.0),
                iterations_per_second: 4.0,
                triangles: 12,
                elapsed_s: 9.5,
                eta_s: None,
            }),
            stage_progress: Some(StageProgress { fraction: 0.25, detail: "matching".into() }),
            error: None,
            result: Some(ResultInfo {
                triangles: 12,
                vertices: 8,
                psnr: Some(30.5),
                glb_bytes: 99,
            }),
        };
        let json = serde_json::to_string(&status).unwrap();
        assert_eq!(
            json,
            r#"{"id":"0123456789abcdef0123456789abcdef","model":"nvdiffrec","state":"done","name":"suzanne.zip","created_ms":1,"started_ms":2,"finished_ms":3,"stage":"export","progress":{"pass":2,"iteration":10,"iterations":10,"loss":0.5,"psnr":30.0,"iterations_per_second":4.0,"triangles":12,"elapsed_s":9.5,"eta_s":null},"stage_progress":{"fraction":0.25,"detail":"matching"},"error":null,"result":{"triangles":12,"vertices":8,"psnr":30.5,"glb_bytes":99}}"#
        );
        assert_eq!(serde_json::from_str::<JobStatus>(&json).unwrap(), status);
    }

    #[test]
    fn state_spelling_round_trips() {
        for state in [
            JobState::Queued,
            JobState::Running,
            JobState::Done,
            JobState::Failed,
            JobState::Cancelled,
        ] {
            assert_eq!(JobState::parse(state.as_str()), Some(state));
        }
        assert_eq!(JobState::parse("paused"), None);
    }
}
