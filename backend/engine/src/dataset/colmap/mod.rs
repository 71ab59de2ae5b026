//! COLMAP sparse models (`cameras`, `images`, `points3D`, as `.txt` or `.bin`) and their
//! conversion to the engine's cameras: COLMAP stores camera-from-world poses (a unit quaternion
//! and a translation) in OpenCV axes (x right, y down, z forward); the engine wants
//! camera-to-world in OpenGL axes (y up, looking down −z). Only undistorted models are accepted
//! (`PINHOLE`, `SIMPLE_PINHOLE`, or a radial model whose coefficients are all zero): images with
//! distortion must go through `colmap image_undistorter` first.

mod binary;
pub mod solve;
mod text;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::camera::Camera;

/// A model that cannot be read or used.
#[derive(Debug, thiserror::Error)]
pub enum ColmapError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The folder holds neither the text nor the binary form of a file.
    #[error("{dir} has no {name}.txt or {name}.bin")]
    Missing {
        /// The folder.
        dir: PathBuf,
        /// `cameras`, `images` or `points3D`.
        name: &'static str,
    },
    /// Content that does not parse; `line` is 0 for binary files.
    #[error("{path}{}: {reason}", if *line > 0 { format!(" line {line}") } else { String::new() })]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of a text file.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A camera the engine cannot use as it is.
    #[error(
        "camera {id} is {model} with non-zero distortion {params:?}; undistort the images (colmap image_undistorter) first"
    )]
    Distorted {
        /// Camera id.
        id: u32,
        /// COLMAP model name.
        model: String,
        /// Its parameters.
        params: Vec<f64>,
    },
    /// An image that refers to a camera the model lacks.
    #[error("image {image} refers to camera {camera}, which cameras does not define")]
    UnknownCamera {
        /// Image id.
        image: u32,
        /// Camera id.
        camera: u32,
    },
}

/// One COLMAP camera (intrinsics).
#[derive(Debug, Clone, PartialEq)]
pub struct ColmapCamera {
    /// COLMAP's model name (`PINHOLE`, …).
    pub model: String,
    /// Image width in pixels.
    pub width: u64,
    /// Image height in pixels.
    pub height: u64,
    /// The model's parameters in COLMAP's order.
    pub params: Vec<f64>,
}

/// One registered image (extrinsics).
#[derive(Debug, Clone, PartialEq)]
pub struct ColmapImage {
    /// Camera-from-world rotation as a quaternion (w, x, y, z).
    pub rotation: [f64; 4],
    /// Camera-from-world translation.
    pub translation: [f64; 3],
    /// Its camera.
    pub camera: u32,
    /// Image file name, relative to the image folder.
    pub name: String,
}

/// One triangulated point.
#[derive(Debug, Clone, PartialEq)]
pub struct ColmapPoint {
    /// World position.
    pub position: [f64; 3],
    /// Colour.
    pub color: [u8; 3],
    /// Reprojection error in pixels.
    pub error: f64,
}

/// A sparse model.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ColmapModel {
    /// Cameras by id.
    pub cameras: BTreeMap<u32, ColmapCamera>,
    /// Images by id.
    pub images: BTreeMap<u32, ColmapImage>,
    /// Points by id.
    pub points: BTreeMap<u64, ColmapPoint>,
}

/// Parameter count of each COLMAP camera model, by its name and numeric id.
pub(crate) const MODELS: [(&str, usize); 11] = [
    ("SIMPLE_PINHOLE", 3),
    ("PINHOLE", 4),
    ("SIMPLE_RADIAL", 4),
    ("RADIAL", 5),
    ("OPENCV", 8),
    ("OPENCV_FISHEYE", 8),
    ("FULL_OPENCV", 12),
    ("FOV", 5),
    ("SIMPLE_RADIAL_FISHEYE", 4),
    ("RADIAL_FISHEYE", 5),
    ("THIN_PRISM_FISHEYE", 12),
];

impl ColmapModel {
    /// Reads the model in `dir`, each file as `.bin` when present, else `.txt`.
    pub fn read(dir: &Path) -> Result<Self, ColmapError> {
        let pick = |name: &'static str| -> Result<(PathBuf, bool), ColmapError> {
            let bin = dir.join(format!("{name}.bin"));
            let txt = dir.join(format!("{name}.txt"));
            if bin.is_file() {
                Ok((bin, true))
            } else if txt.is_file() {
                Ok((txt, false))
            } else {
                Err(ColmapError::Missing { dir: dir.to_owned(), name })
            }
        };
        let read = |path: &Path| {
            std::fs::read(path).map_err(|source| ColmapError::Io { path: path.to_owned(), source })
        };
        let (path, bin) = pick("cameras")?;
        let bytes = read(&path)?;
        let cameras =
            if bin { binary::cameras(&path, &bytes)? } else { text::cameras(&path, &bytes)? };
        let (path, bin) = pick("images")?;
        let bytes = read(&path)?;
        let images =
            if bin { binary::images(&path, &bytes)? } else { text::images(&path, &bytes)? };
        let (path, bin) = pick("points3D")?;
        let bytes = read(&path)?;
        let points =
            if bin { binary::points(&path, &bytes)? } else { text::points(&path, &bytes)? };
        let model = Self { cameras, images, points };
        for (&image, i) in &model.images {
            if !model.cameras.contains_key(&i.camera) {
                return Err(ColmapError::UnknownCamera { image, camera: i.camera });
            }
        }
        Ok(model)
    }

    /// Each registered image's name and engine camera, in image-id order.
    pub fn cameras(&self) -> Result<Vec<(String, Camera)>, ColmapError> {
        self.images
            .iter()
            .map(|(&id, image)| {
                let camera = self
                    .cameras
                    .get(&image.camera)
                    .ok_or(ColmapError::UnknownCamera { image: id, camera: image.camera })?;
                Ok((image.name.clone(), engine_camera(image.camera, camera, image)?))
            })
            .collect()
    }
}

/// A similarity that centres and scales a scene: `p' = scale · (p − centre)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normalization {
    /// Subtracted first.
    pub centre: [f64; 3],
    /// Applied after.
    pub scale: f64,
}

impl ColmapModel {
    /// Centre and scale from the sparse points, robust to stray ones: the per-axis median is the
    /// centre and the 90th-percentile distance from it becomes 1, so the object fits the
    /// reconstruction grid whatever units the reconstruction came out in. Without points, the
    /// cameras' centroid and mean distance (divided by 3, the usual object-to-camera ratio).
    pub fn normalization(&self) -> Normalization {
        let mut positions: Vec<[f64; 3]> = self.points.values().map(|p| p.position).collect();
        let from_cameras = positions.len() < 8;
        if from_cameras {
            positions = self.images.values().map(camera_centre).collect();
        }
        if positions.is_empty() {
            return Normalization { centre: [0.0; 3], scale: 1.0 };
        }
        let median = |axis: usize| {
            let mut v: Vec<f64> = positions.iter().map(|p| p[axis]).collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let centre = [median(0), median(1), median(2)];
        let mut d: Vec<f64> = positions
            .iter()
            .map(|p| {
                ((p[0] - centre[0]).powi(2)
                    + (p[1] - centre[1]).powi(2)
                    + (p[2] - centre[2]).powi(2))
                .sqrt()
            })
            .collect();
        d.sort_by(f64::total_cmp);
        let radius = d[(d.len() * 9 / 10).min(d.len() - 1)];
        let radius = if from_cameras { radius / 3.0 } else { radius };
        Normalization {
            centre,
            scale: if radius > 0.0 && radius.is_finite() { 1.0 / radius } else { 1.0 },
        }
    }
}

impl ColmapModel {
    /// Pixel positions of the sparse points in front of `image`'s (undistorted) camera, inside
    /// the image or not.
    pub fn project(&self, image: &ColmapImage) -> Result<Vec<[f64; 2]>, ColmapError> {
        let camera = self
            .cameras
            .get(&image.camera)
            .ok_or(ColmapError::UnknownCamera { image: 0, camera: image.camera })?;
        let (focal, principal) = pinhole(image.camera, camera)?;
        let r = rotation(image.rotation);
        Ok(self
            .points
            .values()
            .filter_map(|point| {
                let p = point.position;
                let c = [0, 1, 2].map(|i| {
                    r[i][0] * p[0] + r[i][1] * p[1] + r[i][2] * p[2] + image.translation[i]
                });
                (c[2] > 1e-9).then(|| [0, 1].map(|i| focal[i] * c[i] / c[2] + principal[i]))
            })
            .collect())
    }
}

/// Camera centre in world coordinates: −Rᵀt.
fn camera_centre(image: &ColmapImage) -> [f64; 3] {
    let r = rotation(image.rotation);
    [0, 1, 2].map(|row| -(0..3).map(|k| r[k][row] * image.translation[k]).sum::<f64>())
}

/// `camera` moved into the normalized scene: its centre transformed, its axes unchanged.
pub fn normalized(camera: &Camera, n: Normalization) -> Camera {
    let mut camera = camera.clone();
    for row in 0..3 {
        camera.world_from_camera[row][3] =
            n.scale * (camera.world_from_camera[row][3] - n.centre[row]);
    }
    camera
}

/// Focal lengths and principal point of an undistorted camera.
fn pinhole(id: u32, camera: &ColmapCamera) -> Result<([f64; 2], [f64; 2]), ColmapError> {
    let p = &camera.params;
    let distorted =
        || ColmapError::Distorted { id, model: camera.model.clone(), params: p.clone() };
    match camera.model.as_str() {
        "SIMPLE_PINHOLE" => Ok(([p[0], p[0]], [p[1], p[2]])),
        "PINHOLE" => Ok(([p[0], p[1]], [p[2], p[3]])),
        "SIMPLE_RADIAL" | "RADIAL" if p[3..].iter().all(|&k| k == 0.0) => {
            Ok(([p[0], p[0]], [p[1], p[2]]))
        }
        "OPENCV" if p[4..].iter().all(|&k| k == 0.0) => Ok(([p[0], p[1]], [p[2], p[3]])),
        _ => Err(distorted()),
    }
}

/// Rotation matrix of a unit quaternion (w, x, y, z), normalized first.
fn rotation(q: [f64; 4]) -> [[f64; 3]; 3] {
    let n = q.iter().map(|v| v * v).sum::<f64>().sqrt();
    let [w, x, y, z] = q.map(|v| v / n);
    [
        [1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y - w * z), 2.0 * (x * z + w * y)],
        [2.0 * (x * y + w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z - w * x)],
        [2.0 * (x * z - w * y), 2.0 * (y * z + w * x), 1.0 - 2.0 * (x * x + y * y)],
    ]
}

/// The engine camera of a COLMAP image: camera-to-world = (R, t)⁻¹ = (Rᵀ, −Rᵀt), with the
/// camera's y and z axes negated (OpenCV → OpenGL).
fn engine_camera(
    id: u32,
    camera: &ColmapCamera,
    image: &ColmapImage,
) -> Result<Camera, ColmapError> {
    let (focal_px, principal_px) = pinhole(id, camera)?;
    let r = rotation(image.rotation);
    let t = image.translation;
    let mut world_from_camera = [[0.0; 4]; 4];
    for row in 0..3 {
        // Column c of Rᵀ is row c of R; y and z columns flip sign for OpenGL axes.
        for (col, sign) in [(0, 1.0), (1, -1.0), (2, -1.0)] {
            world_from_camera[row][col] = sign * r[col][row];
        }
        world_from_camera[row][3] = -(0..3).map(|k| r[k][row] * t[k]).sum::<f64>();
    }
    world_from_camera[3][3] = 1.0;
    let size = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    Ok(Camera {
        world_from_camera,
        focal_px,
        principal_px,
        size_px: [size(camera.width), size(camera.height)],
    })
}
