//! Safe extraction of an uploaded dataset zip.
//!
//! Entry names are checked with `enclosed_name` (no absolute paths, no `..`), and sizes are
//! counted while copying, because a zip's declared sizes can lie (zip bombs).

use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use super::UploadError;

/// Limits on what a zip may unpack to.
#[derive(Debug, Clone, Copy)]
pub struct ZipLimits {
    /// Most entries.
    pub max_entries: usize,
    /// Most bytes of one file, uncompressed.
    pub max_file_bytes: u64,
    /// Most bytes of all files, uncompressed.
    pub max_total_bytes: u64,
}

impl Default for ZipLimits {
    fn default() -> Self {
        Self { max_entries: 20_000, max_file_bytes: 512 << 20, max_total_bytes: 4 << 30 }
    }
}

/// Extracts `archive` into `dest` (which must exist) and returns the folder holding the dataset
/// (the shallowest one, so a zip of a folder works too): poses first, else photos.
pub fn extract<R: Read + Seek>(
    archive: R,
    dest: &Path,
    limits: ZipLimits,
) -> Result<PathBuf, UploadError> {
    let bad = |reason: String| UploadError::Zip(reason);
    let mut zip =
        zip::ZipArchive::new(archive).map_err(|e| bad(format!("not a readable zip: {e}")))?;
    if zip.len() > limits.max_entries {
        return Err(bad(format!(
            "{} entries; at most {} are accepted",
            zip.len(),
            limits.max_entries
        )));
    }
    let mut total = 0u64;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| bad(format!("entry {i}: {e}")))?;
        let name = entry.name().to_owned();
        let Some(relative) = entry.enclosed_name() else {
            return Err(bad(format!("entry `{name}` points outside the archive")));
        };
        // Finder and editor droppings are not part of the dataset.
        if relative.components().any(|c| {
            let c = c.as_os_str().to_string_lossy();
            c == "__MACOSX" || c.starts_with("._") || c == ".DS_Store"
        }) {
            continue;
        }
        let target = dest.join(&relative);
        if entry.is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| UploadError::Storage(e.to_string()))?;
            continue;
        }
        if entry.is_symlink() {
            return Err(bad(format!("entry `{name}` is a symbolic link")));
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| UploadError::Storage(e.to_string()))?;
        }
        let mut file =
            std::fs::File::create(&target).map_err(|e| UploadError::Storage(e.to_string()))?;
        let allowed = limits.max_file_bytes.min(limits.max_total_bytes - total);
        let copied = std::io::copy(&mut (&mut entry).take(allowed + 1), &mut file)
            .map_err(|e| bad(format!("entry `{name}` cannot be decompressed: {e}")))?;
        if copied > allowed {
            return Err(bad(format!(
                "entry `{name}` unpacks to more than {} MiB (per file at most {} MiB, in all {} MiB)",
                allowed >> 20,
                limits.max_file_bytes >> 20,
                limits.max_total_bytes >> 20
            )));
        }
        total += copied;
    }
    dataset_root(dest).ok_or_else(|| {
        bad("no transforms_train.json, transforms.json, COLMAP model or photos in the zip \
             (expected a NeRF-synthetic or nerfstudio dataset, a COLMAP project or photos)"
            .to_owned())
    })
}

/// The shallowest folder under `dir` (itself included) with poses (a transforms file or a COLMAP
/// model), else the shallowest with photos — not counting a `masks` folder, which belongs to
/// the photos beside it.
fn dataset_root(dir: &Path) -> Option<PathBuf> {
    find_folder(dir, meshcast_engine::dataset::is_posed).or_else(|| {
        find_folder(dir, |d| {
            d.file_name().is_none_or(|name| name != "masks")
                && !meshcast_engine::dataset::photos::photo_files(d).is_empty()
        })
    })
}

/// The first folder (breadth-first, four levels, names in order) that satisfies `wanted`.
fn find_folder(dir: &Path, wanted: impl Fn(&Path) -> bool) -> Option<PathBuf> {
    let mut level = vec![dir.to_owned()];
    for _ in 0..4 {
        if let Some(found) = level.iter().find(|d| wanted(d)) {
            return Some(found.clone());
        }
        let mut next = Vec::new();
        for d in &level {
            let Ok(entries) = std::fs::read_dir(d) else { continue };
            let mut dirs: Vec<PathBuf> =
                entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
            dirs.sort();
            next.extend(dirs);
        }
        level = next;
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::{Cursor, Write};

    use super::*;

    fn zip_of(files: &[(&str, &[u8])]) -> Cursor<Vec<u8>> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, bytes) in files {
            writer.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
            writer.write_all(bytes).unwrap();
        }
        Cursor::new(writer.finish().unwrap().into_inner())
    }

    #[test]
    fn finds_the_dataset_inside_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let zip = zip_of(&[("scene/transforms_train.json", b"{}"), ("scene/r_0.png", b"x")]);
        let root = extract(zip, dir.path(), ZipLimits::default()).unwrap();
        assert_eq!(root, dir.path().join("scene"));
    }

    #[test]
    fn refuses_escapes_bombs_and_missing_transforms() {
        let dir = tempfile::tempdir().unwrap();
        let escape = zip_of(&[("../evil.txt", b"x")]);
        let e = extract(escape, dir.path(), ZipLimits::default()).unwrap_err().to_string();
        assert!(e.contains("outside the archive"), "{e}");
        assert!(!dir.path().parent().unwrap().join("evil.txt").exists());

        let big = zip_of(&[("transforms.json", &[b' '; 4096])]);
        let limits = ZipLimits { max_file_bytes: 1024, ..ZipLimits::default() };
        let e = extract(big, dir.path(), limits).unwrap_err().to_string();
        assert!(e.contains("more than"), "{e}");

        let notes = zip_of(&[("readme.txt", b"x")]);
        let fresh = tempfile::tempdir().unwrap();
        let e = extract(notes, fresh.path(), ZipLimits::default()).unwrap_err().to_string();
        assert!(e.contains("no transforms") && e.contains("photos"), "{e}");

        // A zip of photos in a folder is a dataset of photos (poses come from COLMAP later).
        let photos = zip_of(&[("trip/a.jpg", b"x"), ("trip/b.jpg", b"y")]);
        let fresh = tempfile::tempdir().unwrap();
        let root = extract(photos, fresh.path(), ZipLimits::default()).unwrap();
        assert_eq!(root, fresh.path().join("trip"));

        let e = extract(Cursor::new(b"not a zip".to_vec()), dir.path(), ZipLimits::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a readable zip"), "{e}");
    }
}
