//! `weights/manifest.toml`: every file a model needs, where it comes from and where it goes.

use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

/// The manifest shipped with the source tree, so the binary knows it wherever it runs.
pub const BUNDLED: &str = include_str!("../../../../weights/manifest.toml");

/// One released file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ManifestEntry {
    /// The model it belongs to (`--only` picks by this).
    pub model: String,
    /// What it is.
    pub description: String,
    /// Where it is downloaded from (HTTPS; plain HTTP only from this machine).
    pub url: String,
    /// Where it goes, relative to the weights folder.
    pub path: PathBuf,
    /// Its licence.
    pub licence: String,
    /// Its size in bytes, when known.
    pub size: Option<u64>,
    /// Its SHA-256 (hex), when known.
    pub sha256: Option<String>,
    /// `"safetensors"`: a PyTorch pickle rewritten as safetensors beside it after download (the
    /// pickle is then removed).
    pub convert: Option<String>,
}

impl ManifestEntry {
    /// Where the usable file ends up, relative to the weights folder: `path`, or its
    /// `.safetensors` sibling when converted.
    pub fn local_path(&self) -> PathBuf {
        match self.convert {
            Some(_) => self.path.with_extension("safetensors"),
            None => self.path.clone(),
        }
    }
}

/// All files.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// In fetch order.
    pub file: Vec<ManifestEntry>,
}

/// A manifest that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Not valid TOML of the expected shape.
    #[error("the weights manifest is invalid: {0}")]
    Parse(String),
    /// An entry that breaks a rule.
    #[error("the weights manifest's entry `{path}` {reason}")]
    Entry {
        /// The entry's path.
        path: String,
        /// Which rule.
        reason: String,
    },
    /// `--only` names no model.
    #[error("no model `{only}` in the weights manifest; it lists {known}")]
    UnknownModel {
        /// What was asked.
        only: String,
        /// The models there are.
        known: String,
    },
}

impl Manifest {
    /// The bundled manifest.
    pub fn bundled() -> Result<Self, ManifestError> {
        Self::parse(BUNDLED)
    }

    /// Parses and checks `text`: HTTPS URLs (HTTP only for loopback hosts), relative paths
    /// that stay inside the folder, unique paths, 64-hex checksums.
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let manifest: Self =
            toml::from_str(text).map_err(|e| ManifestError::Parse(e.to_string()))?;
        let mut seen = std::collections::BTreeSet::new();
        for entry in &manifest.file {
            let fail = |reason: &str| ManifestError::Entry {
                path: entry.path.display().to_string(),
                reason: reason.to_owned(),
            };
            let loopback = ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"];
            if !entry.url.starts_with("https://")
                && !loopback.iter().any(|p| entry.url.starts_with(p))
            {
                return Err(fail("needs an https:// URL"));
            }
            let inside = entry.path.components().all(|c| matches!(c, Component::Normal(_)));
            if !inside || entry.path.as_os_str().is_empty() {
                return Err(fail("must be a relative path inside the weights folder"));
            }
            if entry.convert.as_deref().is_some_and(|c| c != "safetensors") {
                return Err(fail("has a `convert` other than \"safetensors\""));
            }
            if !seen.insert(entry.path.clone()) {
                return Err(fail("appears twice"));
            }
            if let Some(sha) = &entry.sha256
                && (sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()))
            {
                return Err(fail("has a sha256 that is not 64 hex digits"));
            }
        }
        Ok(manifest)
    }

    /// The entries of model `only`, or all.
    pub fn select(&self, only: Option<&str>) -> Result<Vec<&ManifestEntry>, ManifestError> {
        let chosen: Vec<&ManifestEntry> =
            self.file.iter().filter(|e| only.is_none_or(|m| e.model == m)).collect();
        match only {
            Some(only) if chosen.is_empty() => Err(ManifestError::UnknownModel {
                only: only.to_owned(),
                known: self.models().join(", "),
            }),
            _ => Ok(chosen),
        }
    }

    /// Model names, in order of first appearance.
    pub fn models(&self) -> Vec<String> {
        let mut models: Vec<String> = Vec::new();
        for e in &self.file {
            if !models.contains(&e.model) {
                models.push(e.model.clone());
            }
        }
        models
    }

    /// Paths (relative to `dir`) of the entries of `model` that are not in `dir`.
    pub fn missing(&self, dir: &Path, model: &str) -> Vec<PathBuf> {
        self.file
            .iter()
            .filter(|e| e.model == model && !dir.join(e.local_path()).is_file())
            .map(ManifestEntry::local_path)
            .collect()
    }
}
