//! Names of the reconstruction models as they appear on the wire.

use serde::{Deserialize, Serialize};

/// A reconstruction model the server can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelName {
    /// Optimization through a differentiable rasterizer (minutes, needs poses and masks).
    Nvdiffrec,
    /// Feed-forward TRELLIS + VGGT generation (seconds, needs weights).
    Reconviagen,
}

impl ModelName {
    /// Every model, in the order the UI lists them.
    pub const ALL: [ModelName; 2] = [ModelName::Nvdiffrec, ModelName::Reconviagen];

    /// The wire name (`nvdiffrec`, `reconviagen`).
    pub fn as_str(self) -> &'static str {
        match self {
            ModelName::Nvdiffrec => "nvdiffrec",
            ModelName::Reconviagen => "reconviagen",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

impl std::fmt::Display for ModelName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
