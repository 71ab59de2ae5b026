//! COLMAP's text model files: one record per line (images: two lines each), `#` comments.

use std::collections::BTreeMap;
use std::path::Path;

use super::{ColmapCamera, ColmapError, ColmapImage, ColmapPoint, MODELS};

/// Non-comment lines with their 1-based numbers (blank lines kept: an image's point line may
/// be empty).
fn records(path: &Path, bytes: &[u8]) -> Result<Vec<(usize, Vec<String>)>, ColmapError> {
    let text = std::str::from_utf8(bytes).map_err(|e| ColmapError::Parse {
        path: path.to_owned(),
        line: 0,
        reason: format!("not UTF-8 text ({e})"),
    })?;
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with('#'))
        .map(|(i, l)| (i + 1, l.split_whitespace().map(str::to_owned).collect()))
        .collect())
}

fn field<T: std::str::FromStr>(
    path: &Path,
    line: usize,
    fields: &[String],
    i: usize,
    what: &str,
) -> Result<T, ColmapError> {
    let fail = |reason: String| ColmapError::Parse { path: path.to_owned(), line, reason };
    let raw = fields.get(i).ok_or_else(|| fail(format!("missing {what}")))?;
    raw.parse().map_err(|_| fail(format!("{what} `{raw}` is not a valid number")))
}

/// `CAMERA_ID MODEL WIDTH HEIGHT PARAMS…`
pub(super) fn cameras(
    path: &Path,
    bytes: &[u8],
) -> Result<BTreeMap<u32, ColmapCamera>, ColmapError> {
    let mut cameras = BTreeMap::new();
    for (line, f) in records(path, bytes)?.into_iter().filter(|(_, f)| !f.is_empty()) {
        let fail = |reason: String| ColmapError::Parse { path: path.to_owned(), line, reason };
        let id: u32 = field(path, line, &f, 0, "camera id")?;
        let model = f.get(1).ok_or_else(|| fail("missing camera model".into()))?.clone();
        let Some(&(_, count)) = MODELS.iter().find(|(name, _)| *name == model) else {
            return Err(fail(format!("unknown camera model `{model}`")));
        };
        if f.len() != 4 + count {
            return Err(fail(format!(
                "{model} has {count} parameters, the line has {}",
                f.len().saturating_sub(4)
            )));
        }
        let params = (4..4 + count)
            .map(|i| field(path, line, &f, i, "parameter"))
            .collect::<Result<Vec<f64>, _>>()?;
        let width = field(path, line, &f, 2, "width")?;
        let height = field(path, line, &f, 3, "height")?;
        if cameras.insert(id, ColmapCamera { model, width, height, params }).is_some() {
            return Err(fail(format!("camera {id} is defined twice")));
        }
    }
    Ok(cameras)
}

/// `IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME`, then a line of 2D points (ignored).
pub(super) fn images(path: &Path, bytes: &[u8]) -> Result<BTreeMap<u32, ColmapImage>, ColmapError> {
    let mut images = BTreeMap::new();
    let lines = records(path, bytes)?;
    let mut i = 0;
    while i < lines.len() {
        let (line, f) = &lines[i];
        if f.is_empty() {
            i += 1;
            continue;
        }
        let fail =
            |reason: String| ColmapError::Parse { path: path.to_owned(), line: *line, reason };
        if f.len() < 10 {
            return Err(fail(format!("an image line has 10 fields, this one {}", f.len())));
        }
        let id: u32 = field(path, *line, f, 0, "image id")?;
        let number = |k: usize| field::<f64>(path, *line, f, k, "pose value");
        let rotation = [number(1)?, number(2)?, number(3)?, number(4)?];
        let translation = [number(5)?, number(6)?, number(7)?];
        if rotation.iter().chain(&translation).any(|v| !v.is_finite())
            || rotation.iter().all(|&v| v == 0.0)
        {
            return Err(fail("the pose is not finite or the quaternion is zero".into()));
        }
        let camera = field(path, *line, f, 8, "camera id")?;
        // Names may contain spaces: everything after the camera id.
        let name = f[9..].join(" ");
        if images.insert(id, ColmapImage { rotation, translation, camera, name }).is_some() {
            return Err(fail(format!("image {id} is defined twice")));
        }
        i += 2; // skip the points line
    }
    Ok(images)
}

/// `POINT3D_ID X Y Z R G B ERROR TRACK…`
pub(super) fn points(path: &Path, bytes: &[u8]) -> Result<BTreeMap<u64, ColmapPoint>, ColmapError> {
    let mut points = BTreeMap::new();
    for (line, f) in records(path, bytes)?.into_iter().filter(|(_, f)| !f.is_empty()) {
        let id: u64 = field(path, line, &f, 0, "point id")?;
        let position = [
            field(path, line, &f, 1, "x")?,
            field(path, line, &f, 2, "y")?,
            field(path, line, &f, 3, "z")?,
        ];
        let color = [
            field(path, line, &f, 4, "red")?,
            field(path, line, &f, 5, "green")?,
            field(path, line, &f, 6, "blue")?,
        ];
        let error = field(path, line, &f, 7, "error")?;
        points.insert(id, ColmapPoint { position, color, error });
    }
    Ok(points)
}
