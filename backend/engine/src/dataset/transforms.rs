//! `transforms.json` in its two common dialects, read into frames with one camera each:
//!
//! - NeRF-synthetic (`transforms_{train,val,test}.json`): `camera_angle_x` (horizontal field of
//!   view), image size taken from the images, `file_path` relative and often without extension.
//! - nerfstudio / instant-ngp (`transforms.json`): intrinsics `fl_x`, `fl_y`, `cx`, `cy`, `w`,
//!   `h` at the top level or per frame (per frame wins), optional `mask_path`.
//!
//! Both give `transform_matrix` as camera-to-world with OpenGL axes (−Z forward, +Y up).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::DatasetError;

/// Intrinsics as written in the file; missing values come from the image or the top level.
#[derive(Debug, Clone, Default, Deserialize)]
pub(super) struct Intrinsics {
    pub camera_angle_x: Option<f64>,
    pub camera_angle_y: Option<f64>,
    pub fl_x: Option<f64>,
    pub fl_y: Option<f64>,
    pub cx: Option<f64>,
    pub cy: Option<f64>,
    pub w: Option<u32>,
    pub h: Option<u32>,
}

impl Intrinsics {
    /// `self` with gaps filled from `outer` (the file's top level).
    fn or(&self, outer: &Intrinsics) -> Intrinsics {
        Intrinsics {
            camera_angle_x: self.camera_angle_x.or(outer.camera_angle_x),
            camera_angle_y: self.camera_angle_y.or(outer.camera_angle_y),
            fl_x: self.fl_x.or(outer.fl_x),
            fl_y: self.fl_y.or(outer.fl_y),
            cx: self.cx.or(outer.cx),
            cy: self.cy.or(outer.cy),
            w: self.w.or(outer.w),
            h: self.h.or(outer.h),
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawFrame {
    file_path: String,
    transform_matrix: Vec<Vec<f64>>,
    mask_path: Option<String>,
    #[serde(flatten)]
    intrinsics: Intrinsics,
}

#[derive(Debug, Deserialize)]
struct RawFile {
    frames: Vec<RawFrame>,
    #[serde(flatten)]
    intrinsics: Intrinsics,
}

/// One view as listed in a transforms file.
#[derive(Debug, Clone)]
pub(super) struct Frame {
    /// The image, resolved against the dataset folder (extension added when the file has none).
    pub image: PathBuf,
    pub mask: Option<PathBuf>,
    pub world_from_camera: [[f64; 4]; 4],
    pub intrinsics: Intrinsics,
}

/// Reads the frames of one transforms file; image paths are resolved relative to its folder.
pub(super) fn read(path: &Path) -> Result<Vec<Frame>, DatasetError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| DatasetError::Io { path: path.to_owned(), source })?;
    let raw: RawFile = serde_json::from_str(&text)
        .map_err(|e| DatasetError::Json { path: path.to_owned(), message: e.to_string() })?;
    if raw.frames.is_empty() {
        return Err(DatasetError::Empty(path.to_owned()));
    }
    let root = path.parent().unwrap_or(Path::new("."));
    raw.frames
        .iter()
        .enumerate()
        .map(|(index, frame)| {
            let fail = |reason: String| DatasetError::Frame {
                path: path.to_owned(),
                frame: index,
                reason,
            };
            let world_from_camera = matrix(&frame.transform_matrix).map_err(fail)?;
            let intrinsics = frame.intrinsics.or(&raw.intrinsics);
            if intrinsics.camera_angle_x.is_none() && intrinsics.fl_x.is_none() {
                return Err(DatasetError::Frame {
                    path: path.to_owned(),
                    frame: index,
                    reason: "no focal length: neither camera_angle_x nor fl_x is given".into(),
                });
            }
            Ok(Frame {
                image: resolve_image(root, &frame.file_path),
                mask: frame.mask_path.as_deref().map(|m| resolve_image(root, m)),
                world_from_camera,
                intrinsics,
            })
        })
        .collect()
}

/// A finite 4×4 (or 3×4) camera-to-world matrix with an invertible rotation part.
fn matrix(rows: &[Vec<f64>]) -> Result<[[f64; 4]; 4], String> {
    if !(rows.len() == 4 || rows.len() == 3) || rows.iter().any(|r| r.len() != 4) {
        return Err("transform_matrix must be 4×4 (or 3×4)".into());
    }
    let mut m = [[0.0, 0.0, 0.0, 0.0], [0.0; 4], [0.0; 4], [0.0, 0.0, 0.0, 1.0]];
    for (dst, src) in m.iter_mut().zip(rows) {
        dst.copy_from_slice(src);
    }
    if m.iter().flatten().any(|v| !v.is_finite()) {
        return Err("transform_matrix has a NaN or infinite entry".into());
    }
    let r = |i: usize, j: usize| m[i][j];
    let det = r(0, 0) * (r(1, 1) * r(2, 2) - r(1, 2) * r(2, 1))
        - r(0, 1) * (r(1, 0) * r(2, 2) - r(1, 2) * r(2, 0))
        + r(0, 2) * (r(1, 0) * r(2, 1) - r(1, 1) * r(2, 0));
    if det.abs() < 1e-9 {
        return Err(format!("transform_matrix is degenerate (rotation determinant {det:.3e})"));
    }
    Ok(m)
}

/// `file_path` relative to `root`; NeRF-synthetic omits the extension, so try the usual ones.
fn resolve_image(root: &Path, file: &str) -> PathBuf {
    let path = root.join(file);
    if path.extension().is_some() && path.exists() {
        return path;
    }
    ["png", "PNG", "jpg", "jpeg", "JPG", "webp"]
        .iter()
        .map(|ext| {
            let mut name = path.clone().into_os_string();
            name.push(".");
            name.push(ext);
            PathBuf::from(name)
        })
        .find(|candidate| candidate.exists())
        .unwrap_or(path)
}
