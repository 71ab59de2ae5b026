//! JSON text messages of the live socket `GET /api/jobs/{id}/live`; mesh frames travel as
//! binary messages (see [`crate::frame`]).

use serde::{Deserialize, Serialize};

use crate::{JobStatus, ProgressPoint};

/// One text message from server to browser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveMessage {
    /// The job changed state or stage (also sent first on connect).
    Status(Box<JobStatus>),
    /// The chart so far, sent on connect (thinned to a few hundred points).
    History {
        /// Oldest first.
        points: Vec<ProgressPoint>,
    },
    /// One new iteration.
    Progress(ProgressPoint),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_snapshot() {
        let message = LiveMessage::History { points: vec![] };
        let json = serde_json::to_string(&message).unwrap();
        assert_eq!(json, r#"{"type":"history","points":[]}"#);
        assert_eq!(serde_json::from_str::<LiveMessage>(&json).unwrap(), message);
    }
}
