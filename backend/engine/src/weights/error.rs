//! What can go wrong loading a checkpoint; every variant names the file, and the key where one
//! is at fault.

use std::path::PathBuf;

/// A checkpoint that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// The file cannot be opened or mapped.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not a safetensors file, or a truncated or corrupt one.
    #[error("{path} is not a valid safetensors file: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The parser's reason.
        reason: String,
    },
    /// Keys the module declares that the file lacks, and keys the file has that the module does
    /// not declare (at most 20 of each listed).
    #[error(
        "{path} does not match the model: {} missing key(s){}{}, {} unexpected key(s){}{}",
        missing.len(), if missing.is_empty() { "" } else { ": " }, list(missing),
        unexpected.len(), if unexpected.is_empty() { "" } else { ": " }, list(unexpected)
    )]
    Keys {
        /// The file.
        path: PathBuf,
        /// Declared but absent.
        missing: Vec<String>,
        /// Present but not declared.
        unexpected: Vec<String>,
    },
    /// A tensor whose shape differs from the parameter's.
    #[error("{path}: `{key}` has shape {found:?}, the model expects {expected:?}")]
    Shape {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// The parameter's shape.
        expected: Vec<i64>,
        /// The file's shape.
        found: Vec<usize>,
    },
    /// A tensor of a type that is not a float the model can use.
    #[error("{path}: `{key}` is {dtype}; expected F32, F16 or BF16")]
    Dtype {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// The file's dtype.
        dtype: String,
    },
    /// libtorch failed while copying a tensor.
    #[error("{path}: copying `{key}` failed: {source}")]
    Torch {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// libtorch's error.
        source: tch::TchError,
    },
}

fn list(keys: &[String]) -> String {
    let shown: Vec<&str> = keys.iter().take(20).map(String::as_str).collect();
    let more = keys.len().saturating_sub(shown.len());
    if more > 0 { format!("{} (+{more} more)", shown.join(", ")) } else { shown.join(", ") }
}
