//! Share links: `POST /api/jobs/{id}/share` and `GET /api/shares/{token}`.

use serde::{Deserialize, Serialize};

use crate::{ModelName, ResultInfo};

/// A freshly minted share link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareCreated {
    /// 128-bit random token (32 hex digits).
    pub token: String,
    /// Path of the read-only viewer, `/s/{token}`.
    pub url: String,
}

/// What a share link shows: the result, nothing else of the job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedResult {
    /// The token itself.
    pub token: String,
    /// The upload's name.
    pub name: String,
    /// Which model made it.
    pub model: ModelName,
    /// Figures of the result.
    pub result: ResultInfo,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_snapshot() {
        let created =
            ShareCreated { token: "ab".repeat(16), url: format!("/s/{}", "ab".repeat(16)) };
        assert_eq!(
            serde_json::to_string(&created).unwrap(),
            r#"{"token":"abababababababababababababababab","url":"/s/abababababababababababababababab"}"#
        );
    }
}
