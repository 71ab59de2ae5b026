//! Why an export failed; every variant names the file or the part of the mesh at fault.

use std::path::PathBuf;

/// An export problem. Nothing is left at a target path when a write fails.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A file could not be created, written or moved into place.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The target file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The mesh breaks an invariant of [`ExportMesh`](super::ExportMesh), or does not fit the
    /// format; found before anything is written.
    #[error("invalid mesh: {reason}")]
    InvalidMesh {
        /// What is wrong, naming the attribute and element.
        reason: String,
    },
    /// The OBJ file stem is not a plain file name.
    #[error("OBJ stem {0:?} must be a non-empty file name without whitespace or path separators")]
    InvalidStem(String),
    /// A texture could not be encoded as PNG.
    #[error("cannot encode the {texture} texture as PNG: {source}")]
    Image {
        /// Which texture.
        texture: &'static str,
        /// The encoder's error.
        source: image::ImageError,
    },
    /// The glTF JSON could not be serialized.
    #[error("glTF JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl ExportError {
    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        Self::InvalidMesh { reason: reason.into() }
    }
}
