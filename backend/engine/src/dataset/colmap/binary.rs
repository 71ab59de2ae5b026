//! COLMAP's binary model files (little-endian; counts as u64, ids as u32 for cameras and images
//! and u64 for points, names NUL-terminated), read with bounds checks: a truncated file is an
//! error naming the file and what was being read.

use std::collections::BTreeMap;
use std::path::Path;

use super::{ColmapCamera, ColmapError, ColmapImage, ColmapPoint, MODELS};

struct Reader<'a> {
    path: &'a Path,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(path: &'a Path, bytes: &'a [u8]) -> Self {
        Self { path, bytes, at: 0 }
    }

    fn fail(&self, reason: String) -> ColmapError {
        ColmapError::Parse { path: self.path.to_owned(), line: 0, reason }
    }

    fn take<const N: usize>(&mut self, what: &str) -> Result<[u8; N], ColmapError> {
        let end = self.at.checked_add(N).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(self.fail(format!("truncated at byte {} while reading {what}", self.at)));
        };
        let mut out = [0; N];
        out.copy_from_slice(&self.bytes[self.at..end]);
        self.at = end;
        Ok(out)
    }

    fn u32(&mut self, what: &str) -> Result<u32, ColmapError> {
        Ok(u32::from_le_bytes(self.take(what)?))
    }

    fn i32(&mut self, what: &str) -> Result<i32, ColmapError> {
        Ok(i32::from_le_bytes(self.take(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64, ColmapError> {
        Ok(u64::from_le_bytes(self.take(what)?))
    }

    fn f64(&mut self, what: &str) -> Result<f64, ColmapError> {
        Ok(f64::from_le_bytes(self.take(what)?))
    }

    /// A count of records each at least `min_bytes` long, checked against the bytes left so
    /// that a corrupt count cannot make us allocate or loop absurdly.
    fn count(&mut self, what: &str, min_bytes: usize) -> Result<usize, ColmapError> {
        let n = self.u64(what)?;
        let left = (self.bytes.len() - self.at) as u64;
        if n.saturating_mul(min_bytes as u64) > left {
            return Err(self.fail(format!("{what} says {n}, but only {left} bytes follow")));
        }
        Ok(n as usize)
    }

    fn name(&mut self) -> Result<String, ColmapError> {
        let rest = &self.bytes[self.at..];
        let Some(end) = rest.iter().position(|&b| b == 0) else {
            return Err(self.fail("an image name has no terminating NUL".into()));
        };
        let name = String::from_utf8(rest[..end].to_vec())
            .map_err(|_| self.fail("an image name is not UTF-8".into()))?;
        self.at += end + 1;
        Ok(name)
    }

    fn finish(&self) -> Result<(), ColmapError> {
        if self.at == self.bytes.len() {
            Ok(())
        } else {
            Err(self.fail(format!("{} unexpected bytes at the end", self.bytes.len() - self.at)))
        }
    }
}

pub(super) fn cameras(
    path: &Path,
    bytes: &[u8],
) -> Result<BTreeMap<u32, ColmapCamera>, ColmapError> {
    let mut r = Reader::new(path, bytes);
    let n = r.count("the camera count", 24)?;
    let mut cameras = BTreeMap::new();
    for _ in 0..n {
        let id = r.u32("a camera id")?;
        let model_id = r.i32("a camera model")?;
        let Some(&(model, count)) = usize::try_from(model_id).ok().and_then(|i| MODELS.get(i))
        else {
            return Err(r.fail(format!("camera {id} has unknown model id {model_id}")));
        };
        let width = r.u64("a camera width")?;
        let height = r.u64("a camera height")?;
        let params =
            (0..count).map(|_| r.f64("camera parameters")).collect::<Result<Vec<_>, _>>()?;
        cameras.insert(id, ColmapCamera { model: model.to_owned(), width, height, params });
    }
    r.finish()?;
    Ok(cameras)
}

pub(super) fn images(path: &Path, bytes: &[u8]) -> Result<BTreeMap<u32, ColmapImage>, ColmapError> {
    let mut r = Reader::new(path, bytes);
    let n = r.count("the image count", 64)?;
    let mut images = BTreeMap::new();
    for _ in 0..n {
        let id = r.u32("an image id")?;
        let rotation = [r.f64("a pose")?, r.f64("a pose")?, r.f64("a pose")?, r.f64("a pose")?];
        let translation = [r.f64("a pose")?, r.f64("a pose")?, r.f64("a pose")?];
        if rotation.iter().chain(&translation).any(|v| !v.is_finite())
            || rotation.iter().all(|&v| v == 0.0)
        {
            return Err(
                r.fail(format!("image {id}'s pose is not finite or its quaternion is zero"))
            );
        }
        let camera = r.u32("a camera id")?;
        let name = r.name()?;
        let points = r.count("a 2D point count", 24)?;
        for _ in 0..points {
            r.take::<24>("2D points")?;
        }
        images.insert(id, ColmapImage { rotation, translation, camera, name });
    }
    r.finish()?;
    Ok(images)
}

pub(super) fn points(path: &Path, bytes: &[u8]) -> Result<BTreeMap<u64, ColmapPoint>, ColmapError> {
    let mut r = Reader::new(path, bytes);
    let n = r.count("the point count", 43)?;
    let mut points = BTreeMap::new();
    for _ in 0..n {
        let id = r.u64("a point id")?;
        let position = [r.f64("a position")?, r.f64("a position")?, r.f64("a position")?];
        let color = r.take::<3>("a colour")?;
        let error = r.f64("an error")?;
        let track = r.count("a track length", 8)?;
        for _ in 0..track {
            r.take::<8>("a track")?;
        }
        points.insert(id, ColmapPoint { position, color, error });
    }
    r.finish()?;
    Ok(points)
}
