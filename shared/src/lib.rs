//! Wire types of the meshcast HTTP/WebSocket contract (see `DESIGN.md`).
//!
//! Kept apart from the server's and engine's internal types so that a protocol change shows up as
//! a reviewed diff here and in the snapshot test at the bottom of each module.

pub mod error;
pub mod health;
pub mod job;
pub mod model;

pub use error::{ErrorBody, ErrorDetail};
pub use health::{DeviceInfo, DeviceKind, Health, ModelStatus};
pub use job::{JobState, JobSummary};
pub use model::ModelName;
