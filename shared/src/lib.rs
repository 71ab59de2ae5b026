//! Wire types of the meshcast HTTP/WebSocket contract (see `DESIGN.md`).
//!
//! Kept apart from the server's and engine's internal types so that a protocol change shows up as
//! a reviewed diff here and in the snapshot test at the bottom of each module.

pub mod error;
pub mod frame;
pub mod health;
pub mod job;
pub mod live;
pub mod model;
pub mod share;

pub use error::{ErrorBody, ErrorDetail};
pub use health::{DeviceInfo, DeviceKind, Health, ModelStatus, ToolStatus};
pub use job::{JobState, JobStatus, JobSummary, ProgressPoint, ResultInfo, StageProgress};
pub use live::LiveMessage;
pub use model::ModelName;
pub use share::{ShareCreated, SharedResult};
