//! Jobs as `GET /api/jobs` lists them.

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
