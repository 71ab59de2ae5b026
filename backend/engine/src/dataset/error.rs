//! Why a dataset could not be loaded; every variant names the file or frame at fault.

use std::path::PathBuf;

/// A dataset problem, found before any optimization starts.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// Neither a transforms file nor a COLMAP model in the folder.
    #[error(
        "no transforms_train.json, transforms.json or COLMAP model (sparse/0, sparse or cameras.txt/.bin) in {0}"
    )]
    NoTransforms(PathBuf),
    /// A COLMAP model that cannot be read or used.
    #[error(transparent)]
    Colmap(#[from] super::colmap::ColmapError),
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A transforms file is not valid JSON of the expected shape.
    #[error("{path}: {message}")]
    Json {
        /// The file.
        path: PathBuf,
        /// serde's description, with line and column.
        message: String,
    },
    /// A frame or the file lacks something every frame needs.
    #[error("{path}: frame {frame}: {reason}")]
    Frame {
        /// The transforms file.
        path: PathBuf,
        /// Index of the frame in its list.
        frame: usize,
        /// What is wrong.
        reason: String,
    },
    /// A frame's image is missing or cannot be decoded.
    #[error("image {path}: {reason}")]
    Image {
        /// The image file (as resolved).
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Images of one dataset differ in size.
    #[error(
        "image {path} is {got:?} but the first image is {want:?}; all views must share one size"
    )]
    MixedSizes {
        /// The odd image.
        path: PathBuf,
        /// Its size (width, height).
        got: (u32, u32),
        /// The first image's size.
        want: (u32, u32),
    },
    /// A split has no frames.
    #[error("{0}: the frame list is empty")]
    Empty(PathBuf),
    /// Building tensors failed.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}
