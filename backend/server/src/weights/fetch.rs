//! Downloading the manifest's files: resumable (`<file>.part` grows until complete and is then
//! renamed into place), with a progress bar, and checked against the size and SHA-256 the
//! manifest gives or, failing that, the ones the server announces (Hugging Face sends the
//! SHA-256 of LFS files as `X-Linked-Etag` on the unredirected response).

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use super::manifest::ManifestEntry;

/// A file that could not be fetched; every message names the file and how to retry.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Connection or transfer failure.
    #[error(
        "cannot download {path} from {url}: {reason}. Check the connection and run `meshcast weights fetch` again; the download resumes where it stopped"
    )]
    Network {
        /// Destination, relative to the weights folder.
        path: PathBuf,
        /// Source.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The server answered with an error status.
    #[error("cannot download {path}: {url} answered HTTP {status}")]
    Status {
        /// Destination.
        path: PathBuf,
        /// Source.
        url: String,
        /// HTTP status.
        status: u16,
    },
    /// The bytes are not the expected ones; the partial file was deleted.
    #[error(
        "{path} is corrupt: expected {what} {expected}, got {found}; the download was discarded, run `meshcast weights fetch` again"
    )]
    Mismatch {
        /// Destination.
        path: PathBuf,
        /// `size` or `SHA-256`.
        what: &'static str,
        /// What the manifest or server said.
        expected: String,
        /// What arrived.
        found: String,
    },
    /// The downloaded pickle could not be converted; it was deleted.
    #[error(
        "{path} was downloaded but cannot be converted ({reason}); it was deleted, run `meshcast weights fetch` again"
    )]
    Convert {
        /// The downloaded file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Local file system failure.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetched {
    /// Already there; not touched.
    Present,
    /// Downloaded (resumed from this many bytes) and verified.
    Downloaded {
        /// Bytes that were already in the `.part` file.
        resumed_from: u64,
        /// Whether a SHA-256 was checked.
        verified: bool,
    },
}

fn agent(redirects: u32) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(20)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .http_status_as_error(false)
        .max_redirects(redirects)
        .max_redirects_will_error(false)
        .build()
        .into()
}

/// Fetches `entry` into `dir` unless it is there already, converting it when the manifest
/// says so.
pub fn fetch(entry: &ManifestEntry, dir: &Path) -> Result<Fetched, FetchError> {
    if dir.join(entry.local_path()).is_file() {
        return Ok(Fetched::Present);
    }
    let target = dir.join(&entry.path);
    let fetched = if target.is_file() { Fetched::Present } else { download(entry, &target)? };
    if entry.convert.is_some() {
        let converted = dir.join(entry.local_path());
        if let Err(e) = meshcast_engine::weights::pickle_to_safetensors(&target, &converted) {
            // A broken download must not block the next attempt.
            let _ = std::fs::remove_file(&target);
            return Err(FetchError::Convert { path: entry.path.clone(), reason: e.to_string() });
        }
        std::fs::remove_file(&target)
            .map_err(|source| FetchError::Io { path: target.clone(), source })?;
    }
    Ok(fetched)
}

fn download(entry: &ManifestEntry, target: &Path) -> Result<Fetched, FetchError> {
    let network = |reason: String| FetchError::Network {
        path: entry.path.clone(),
        url: entry.url.clone(),
        reason,
    };
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| FetchError::Io { path, source }
    };
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }

    // What the server says about the file before any redirect to a CDN.
    let head = agent(0).head(&entry.url).call().map_err(|e| network(e.to_string()))?;
    let header = |name: &str| {
        head.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim_matches('"').to_owned())
    };
    let announced_sha = header("x-linked-etag")
        .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()));
    let announced_size = header("x-linked-size").and_then(|s| s.parse::<u64>().ok());
    let expected_sha = entry.sha256.clone().or(announced_sha).map(|s| s.to_ascii_lowercase());

    let part = target.with_extension(format!(
        "{}part",
        target.extension().map(|e| format!("{}.", e.to_string_lossy())).unwrap_or_default()
    ));
    let mut resumed_from = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    let mut request = agent(10).get(&entry.url);
    if resumed_from > 0 {
        request = request.header("Range", format!("bytes={resumed_from}-"));
    }
    let response = request.call().map_err(|e| network(e.to_string()))?;
    let status = response.status().as_u16();
    let append = match status {
        206 => true,
        200 => {
            resumed_from = 0;
            false
        }
        // Everything was already there.
        416 if resumed_from > 0 => true,
        _ => {
            return Err(FetchError::Status {
                path: entry.path.clone(),
                url: entry.url.clone(),
                status,
            });
        }
    };
    // `Content-Range: bytes START-END/TOTAL` (206) or `bytes */TOTAL` (416) says whether the
    // server resumed where we asked and how long the whole file is.
    let range =
        response.headers().get("content-range").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let range_total = range.as_deref().and_then(|r| r.rsplit('/').next()?.parse::<u64>().ok());
    if status == 206 {
        let start = range
            .as_deref()
            .and_then(|r| r.strip_prefix("bytes ")?.split('-').next()?.parse::<u64>().ok());
        if start != Some(resumed_from) {
            let _ = std::fs::remove_file(&part);
            return Err(network(format!(
                "the server resumed at {range:?} instead of byte {resumed_from}; the partial file was discarded"
            )));
        }
    }
    if status == 416 && range_total != Some(resumed_from) {
        let _ = std::fs::remove_file(&part);
        return Err(network(format!(
            "the partial file ({resumed_from} bytes) does not match the server's ({range:?}); it was discarded"
        )));
    }
    let body_length = if status == 416 {
        Some(0)
    } else {
        response.headers().get("content-length").and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
    };
    let expected_size =
        entry.size.or(announced_size).or(range_total).or(body_length.map(|n| n + resumed_from));

    let mut hasher = Sha256::new();
    let mut file = if append {
        // The bytes already on disk are part of the checksum.
        let mut existing = File::open(&part).map_err(io(&part))?;
        std::io::copy(&mut existing, &mut hasher).map_err(io(&part))?;
        OpenOptions::new().append(true).open(&part).map_err(io(&part))?
    } else {
        File::create(&part).map_err(io(&part))?
    };
    let bar = ProgressBar::new(expected_size.unwrap_or(0));
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(entry.path.display().to_string());
    bar.set_position(resumed_from);
    let mut reader = response.into_body().into_reader();
    let mut buffer = vec![0u8; 1 << 20];
    let mut total = resumed_from;
    if status != 416 {
        loop {
            let n = reader.read(&mut buffer).map_err(|e| network(e.to_string()))?;
            if n == 0 {
                break;
            }
            file.write_all(&buffer[..n]).map_err(io(&part))?;
            hasher.update(&buffer[..n]);
            total += n as u64;
            bar.set_position(total);
        }
    }
    file.sync_all().map_err(io(&part))?;
    drop(file);
    bar.finish_and_clear();

    let discard = |what, expected: String, found: String| {
        let _ = std::fs::remove_file(&part);
        FetchError::Mismatch { path: entry.path.clone(), what, expected, found }
    };
    if let Some(size) = expected_size
        && size != total
    {
        return Err(discard("size", size.to_string(), total.to_string()));
    }
    let found_sha = format!("{:x}", hasher.finalize());
    if let Some(sha) = &expected_sha
        && *sha != found_sha
    {
        return Err(discard("SHA-256", sha.clone(), found_sha));
    }
    std::fs::rename(&part, target).map_err(io(target))?;
    Ok(Fetched::Downloaded { resumed_from, verified: expected_sha.is_some() })
}
