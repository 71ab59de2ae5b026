//! Model weights: the manifest of released files (`weights/manifest.toml`) and fetching them.

pub mod fetch;
pub mod manifest;

pub use fetch::{FetchError, fetch};
pub use manifest::{Manifest, ManifestEntry, ManifestError};
