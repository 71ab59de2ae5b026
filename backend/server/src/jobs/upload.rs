//! `POST /api/jobs` bodies: multipart fields streamed to a staging folder, then checked.
//!
//! Fields: `model` (text), `config` (JSON object, optional), `name` (optional), and either
//! `dataset` (a zip) or one or more `views` (images) with `poses` (a `transforms.json`).

use std::path::{Path, PathBuf};

use axum::extract::Multipart;
use axum::extract::multipart::{Field, MultipartError};
use axum::http::StatusCode;
use meshcast_shared::ModelName;
use tokio::io::AsyncWriteExt;

/// Largest accepted `config` or `poses` text field.
const MAX_TEXT_BYTES: usize = 1 << 20;
/// Most `views` files in one request.
const MAX_VIEWS: usize = 2000;

/// Why an upload was refused; each names the problem for the person who sent it.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The multipart body itself is malformed or too large.
    #[error("{message}")]
    Body {
        /// 400 or 413.
        status: StatusCode,
        /// The parser's explanation.
        message: String,
    },
    /// A field is missing, repeated, unknown or malformed.
    #[error("{0}")]
    Field(String),
    /// The `config` options are invalid.
    #[error("{0}")]
    Config(String),
    /// The dataset zip cannot be used.
    #[error("dataset zip: {0}")]
    Zip(String),
    /// The dataset's contents are invalid (images, poses, masks).
    #[error("dataset: {0}")]
    Dataset(String),
    /// The model cannot run here.
    #[error("{model} is not available on this server: {reason}")]
    ModelUnavailable {
        /// The model asked for.
        model: ModelName,
        /// Why (as `/api/health` says).
        reason: String,
    },
    /// The server could not store the upload.
    #[error("storage: {0}")]
    Storage(String),
}

impl From<MultipartError> for UploadError {
    fn from(e: MultipartError) -> Self {
        UploadError::Body { status: e.status(), message: format!("upload: {}", e.body_text()) }
    }
}

/// The fields of an upload, its files already on disk under `staging`.
#[derive(Debug)]
pub struct Upload {
    /// The model asked for.
    pub model: ModelName,
    /// The options (a JSON object; `{}` when absent).
    pub options: serde_json::Value,
    /// What to call the job.
    pub name: String,
    /// What was sent.
    pub source: Source,
}

/// The uploaded data.
#[derive(Debug)]
pub enum Source {
    /// A dataset zip at this path.
    Zip(PathBuf),
    /// Image files in this folder (+ `transforms.json` when poses came along).
    Views {
        /// The folder.
        dir: PathBuf,
        /// How many images.
        count: usize,
        /// Whether a `poses` field was sent.
        poses: bool,
    },
}

/// Reads every field, streaming files into `staging` (which must exist).
pub async fn read(mut multipart: Multipart, staging: &Path) -> Result<Upload, UploadError> {
    let mut model = None;
    let mut options = None;
    let mut name = None;
    let mut zip = None;
    let mut zip_name = None;
    let mut views = 0usize;
    let mut poses = false;
    let views_dir = staging.join("views");
    while let Some(field) = multipart.next_field().await? {
        let field_name = field.name().unwrap_or_default().to_owned();
        match field_name.as_str() {
            "model" => {
                let text = text(field, "model").await?;
                let parsed = ModelName::parse(text.trim()).ok_or_else(|| {
                    UploadError::Field(format!(
                        "unknown model `{}`: choose nvdiffrec or reconviagen",
                        text.trim()
                    ))
                })?;
                once(&mut model, parsed, "model")?;
            }
            "config" => {
                let text = text(field, "config").await?;
                let value: serde_json::Value = serde_json::from_str(&text)
                    .map_err(|e| UploadError::Config(format!("config is not valid JSON: {e}")))?;
                if !value.is_object() {
                    return Err(UploadError::Config(
                        "config must be a JSON object, e.g. {\"preset\":\"tiny\"}".into(),
                    ));
                }
                once(&mut options, value, "config")?;
            }
            "name" => {
                let text = text(field, "name").await?;
                once(&mut name, text.trim().chars().take(200).collect::<String>(), "name")?;
            }
            "dataset" => {
                let file_name = field.file_name().map(str::to_owned);
                let path = staging.join("dataset.zip");
                save(field, &path).await?;
                zip_name = file_name;
                once(&mut zip, path, "dataset")?;
            }
            "views" => {
                let file_name = field.file_name().map(str::to_owned).unwrap_or_default();
                let safe = safe_file_name(&file_name).ok_or_else(|| {
                    UploadError::Field(format!("views: `{file_name}` is not a usable file name"))
                })?;
                views += 1;
                if views > MAX_VIEWS {
                    return Err(UploadError::Field(format!("at most {MAX_VIEWS} views per job")));
                }
                tokio::fs::create_dir_all(&views_dir)
                    .await
                    .map_err(|e| UploadError::Storage(e.to_string()))?;
                save(field, &views_dir.join(safe)).await?;
            }
            "poses" => {
                if poses {
                    return Err(UploadError::Field("the field `poses` was sent twice".into()));
                }
                let text = text(field, "poses").await?;
                serde_json::from_str::<serde_json::Value>(&text)
                    .map_err(|e| UploadError::Field(format!("poses is not valid JSON: {e}")))?;
                tokio::fs::create_dir_all(&views_dir)
                    .await
                    .map_err(|e| UploadError::Storage(e.to_string()))?;
                tokio::fs::write(views_dir.join("transforms.json"), text)
                    .await
                    .map_err(|e| UploadError::Storage(e.to_string()))?;
                poses = true;
            }
            other => {
                return Err(UploadError::Field(format!(
                    "unknown field `{other}`: expected model, config, name, dataset, views or poses"
                )));
            }
        }
    }
    let model = model.ok_or_else(|| {
        UploadError::Field("the field `model` is missing (nvdiffrec or reconviagen)".into())
    })?;
    let source = match (zip, views) {
        (Some(_), 1..) => {
            return Err(UploadError::Field("send either a dataset zip or views, not both".into()));
        }
        (Some(path), 0) => Source::Zip(path),
        (None, 0) => {
            return Err(UploadError::Field(
                "nothing to reconstruct: add a dataset zip (field `dataset`) or images (field `views`)"
                    .into(),
            ));
        }
        (None, count) => Source::Views { dir: views_dir, count, poses },
    };
    let name = name.filter(|n| !n.is_empty()).or(zip_name).unwrap_or_else(|| match &source {
        Source::Views { count, .. } => format!("{count} views"),
        Source::Zip(_) => "dataset".to_owned(),
    });
    Ok(Upload { model, options: options.unwrap_or_else(|| serde_json::json!({})), name, source })
}

fn once<T>(slot: &mut Option<T>, value: T, field: &str) -> Result<(), UploadError> {
    if slot.replace(value).is_some() {
        return Err(UploadError::Field(format!("the field `{field}` was sent twice")));
    }
    Ok(())
}

async fn text(mut field: Field<'_>, what: &str) -> Result<String, UploadError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_TEXT_BYTES {
            return Err(UploadError::Field(format!("the field `{what}` is larger than 1 MiB")));
        }
    }
    String::from_utf8(bytes)
        .map_err(|_| UploadError::Field(format!("the field `{what}` is not UTF-8 text")))
}

async fn save(mut field: Field<'_>, path: &Path) -> Result<(), UploadError> {
    let storage = |e: std::io::Error| UploadError::Storage(e.to_string());
    let mut file = tokio::fs::File::create(path).await.map_err(storage)?;
    while let Some(chunk) = field.chunk().await? {
        file.write_all(&chunk).await.map_err(storage)?;
    }
    file.flush().await.map_err(storage)
}

/// The last path component of a browser-sent file name, when it is a plain name.
fn safe_file_name(name: &str) -> Option<&str> {
    let base = name.rsplit(['/', '\\']).next()?;
    let ok = !base.is_empty()
        && base != "."
        && base != ".."
        && !base.starts_with('.')
        && base != "transforms.json"
        && base.chars().all(|c| !c.is_control());
    ok.then_some(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_reduced_to_plain_names() {
        assert_eq!(safe_file_name("photos/r_0.png"), Some("r_0.png"));
        assert_eq!(safe_file_name("C:\\x\\r_1.jpg"), Some("r_1.jpg"));
        assert_eq!(safe_file_name("../"), None);
        assert_eq!(safe_file_name(".."), None);
        assert_eq!(safe_file_name(".hidden"), None);
        assert_eq!(safe_file_name("transforms.json"), None);
    }
}
