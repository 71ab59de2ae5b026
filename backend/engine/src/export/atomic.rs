//! Atomic file writes: the data goes to a temporary file beside the target, which is synced and
//! renamed over it, so readers (and a crash) see the old file or the whole new one.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::ExportError;

/// Writes `path` with whatever `write` produces; on any error the temporary file is removed and
/// `path` is untouched.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), ExportError> {
    let io_error = |source| ExportError::Io { path: path.to_owned(), source };
    let Some(name) = path.file_name() else {
        return Err(io_error(io::Error::new(io::ErrorKind::InvalidInput, "not a file path")));
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    // tempfile's default is 0600; exports are ordinary files (the umask still applies).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut temp = builder.tempfile_in(dir).map_err(io_error)?;

    let mut out = BufWriter::new(temp.as_file_mut());
    write(&mut out).map_err(io_error)?;
    out.flush().map_err(io_error)?;
    drop(out);
    temp.as_file().sync_all().map_err(io_error)?;
    // On failure the returned error owns the temporary file and deletes it when dropped.
    temp.persist(path).map_err(|e| io_error(e.error))?;
    Ok(())
}
