//! Posed image datasets: `transforms.json` (NeRF-synthetic and nerfstudio/instant-ngp dialects)
//! with RGBA images or masks, loaded into cameras and one image tensor per split.

pub mod colmap;
mod error;
mod image;
pub mod mask;
pub mod photos;
mod transforms;

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use tch::Tensor;

pub use error::DatasetError;
pub use image::decode as decode_upright;

use crate::camera::Camera;

/// The views of one split.
#[derive(Debug)]
pub struct Views {
    /// Image file names, for reports.
    pub names: Vec<String>,
    /// One camera per view, for the loaded resolution.
    pub cameras: Vec<Camera>,
    /// `[N, H, W, 4]` float32 on the CPU: linear RGB premultiplied by alpha, then alpha; rows
    /// from the top of the image.
    pub images: Tensor,
}

impl Views {
    /// Number of views.
    pub fn len(&self) -> usize {
        self.cameras.len()
    }

    /// Whether the split is empty.
    pub fn is_empty(&self) -> bool {
        self.cameras.is_empty()
    }
}

/// A loaded dataset.
#[derive(Debug)]
pub struct Dataset {
    /// The folder it came from.
    pub root: PathBuf,
    /// Views to optimize on.
    pub train: Views,
    /// Held-out views for PSNR (the file's test split, or every 8th view of a single list).
    pub test: Views,
    /// Image width and height after resizing.
    pub size: (u32, u32),
}

/// How to load a dataset.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// Longest image side after resizing; images are only ever made smaller.
    pub max_side: u32,
}

/// Images larger than this on a side are refused before decoding (decompression bombs).
pub const MAX_IMAGE_SIDE: u32 = 8192;

/// Loads the dataset in `dir`: `transforms_train.json` (+ `transforms_test.json` or
/// `transforms_val.json`), a single `transforms.json`, or a COLMAP model (see
/// [`colmap_frames`]).
pub fn load(dir: &Path, options: LoadOptions) -> Result<Dataset, DatasetError> {
    let (train, test) = if dir.join("transforms_train.json").is_file() {
        let train = transforms::read(&dir.join("transforms_train.json"))?;
        let test = ["transforms_test.json", "transforms_val.json"]
            .iter()
            .map(|name| dir.join(name))
            .find(|p| p.is_file())
            .map(|p| transforms::read(&p))
            .transpose()?;
        match test {
            Some(test) => (train, test),
            None => hold_out(train),
        }
    } else if dir.join("transforms.json").is_file() {
        hold_out(transforms::read(&dir.join("transforms.json"))?)
    } else if let Some(model) = colmap_model_dir(dir) {
        hold_out(colmap_frames(dir, &model)?)
    } else {
        return Err(DatasetError::NoTransforms(dir.to_owned()));
    };
    let first = &train[0].image;
    let (w0, h0) = image::dimensions(first)?;
    if w0.max(h0) > MAX_IMAGE_SIDE {
        return Err(DatasetError::Image {
            path: first.clone(),
            reason: format!("is {w0}×{h0}; the largest accepted side is {MAX_IMAGE_SIDE} pixels"),
        });
    }
    for frame in train.iter().chain(&test) {
        let got = image::dimensions(&frame.image)?;
        if got != (w0, h0) {
            return Err(DatasetError::MixedSizes {
                path: frame.image.clone(),
                got,
                want: (w0, h0),
            });
        }
    }
    let scale = (f64::from(options.max_side.max(1)) / f64::from(w0.max(h0))).min(1.0);
    let size = (
        ((f64::from(w0) * scale).round() as u32).max(1),
        ((f64::from(h0) * scale).round() as u32).max(1),
    );
    Ok(Dataset {
        root: dir.to_owned(),
        train: views(&train, (w0, h0), size)?,
        test: views(&test, (w0, h0), size)?,
        size,
    })
}

/// Whether `dir` holds poses `load` reads (transforms JSON or a COLMAP model); a folder of
/// photos without them goes through [`photos::prepare`] first.
pub fn is_posed(dir: &Path) -> bool {
    dir.join("transforms_train.json").is_file()
        || dir.join("transforms.json").is_file()
        || colmap_model_dir(dir).is_some()
}

/// The folder of a COLMAP model in `dir`: `sparse/0`, `sparse` or `dir` itself.
fn colmap_model_dir(dir: &Path) -> Option<PathBuf> {
    [dir.join("sparse/0"), dir.join("sparse"), dir.to_owned()]
        .into_iter()
        .find(|d| d.join("cameras.bin").is_file() || d.join("cameras.txt").is_file())
}

/// Frames of a COLMAP reconstruction: the model in `model_dir`, images in `dir/images/` (as
/// `colmap image_undistorter` lays them out), masks in `dir/masks/` under the image's name or
/// with `.png` appended when present; the scene centred and scaled from its sparse points.
fn colmap_frames(dir: &Path, model_dir: &Path) -> Result<Vec<transforms::Frame>, DatasetError> {
    let model = colmap::ColmapModel::read(model_dir)?;
    if model.images.is_empty() {
        return Err(DatasetError::Empty(model_dir.to_owned()));
    }
    let normalization = model.normalization();
    model
        .cameras()?
        .into_iter()
        .map(|(name, camera)| {
            // Names come from the (possibly uploaded) model: they must stay inside images/.
            let relative = Path::new(&name);
            if !relative.components().all(|c| matches!(c, std::path::Component::Normal(_))) {
                return Err(DatasetError::Image {
                    path: relative.to_owned(),
                    reason: "the COLMAP image name leaves the images folder".into(),
                });
            }
            let camera = colmap::normalized(&camera, normalization);
            let masks = dir.join("masks");
            let mask = [masks.join(&name), masks.join(format!("{name}.png"))]
                .into_iter()
                .find(|p| p.is_file());
            Ok(transforms::Frame {
                image: dir.join("images").join(&name),
                mask,
                world_from_camera: camera.world_from_camera,
                intrinsics: transforms::Intrinsics {
                    fl_x: Some(camera.focal_px[0]),
                    fl_y: Some(camera.focal_px[1]),
                    cx: Some(camera.principal_px[0]),
                    cy: Some(camera.principal_px[1]),
                    w: Some(camera.size_px[0]),
                    h: Some(camera.size_px[1]),
                    ..Default::default()
                },
            })
        })
        .collect()
}

/// Splits a single frame list: every 8th view is held out for testing (none below 8 views).
fn hold_out(frames: Vec<transforms::Frame>) -> (Vec<transforms::Frame>, Vec<transforms::Frame>) {
    if frames.len() < 8 {
        return (frames, Vec::new());
    }
    let (test, train): (Vec<_>, Vec<_>) =
        frames.into_iter().enumerate().partition(|(i, _)| i % 8 == 0);
    (train.into_iter().map(|(_, f)| f).collect(), test.into_iter().map(|(_, f)| f).collect())
}

/// Decodes the frames' images in parallel at `size` and builds their cameras.
fn views(
    frames: &[transforms::Frame],
    native: (u32, u32),
    size: (u32, u32),
) -> Result<Views, DatasetError> {
    let pixels: Vec<Vec<f32>> = frames
        .par_iter()
        .map(|f| image::load(&f.image, f.mask.as_deref(), size.0, size.1))
        .collect::<Result<_, _>>()?;
    let cameras = frames.iter().map(|f| camera(f, native).resized(size.0, size.1)).collect();
    let names = frames
        .iter()
        .map(|f| f.image.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()))
        .collect();
    let mut data = Vec::with_capacity(pixels.len() * (size.0 * size.1 * 4) as usize);
    for p in &pixels {
        data.extend_from_slice(p);
    }
    let images = Tensor::from_slice(&data).f_reshape([
        frames.len() as i64,
        i64::from(size.1),
        i64::from(size.0),
        4,
    ])?;
    Ok(Views { names, cameras, images })
}

/// The frame's camera at the images' native size; intrinsics written for another size (`w`, `h`)
/// are scaled to it.
fn camera(frame: &transforms::Frame, (width, height): (u32, u32)) -> Camera {
    let k = &frame.intrinsics;
    let (file_w, file_h) = (f64::from(k.w.unwrap_or(width)), f64::from(k.h.unwrap_or(height)));
    let fx = k.fl_x.unwrap_or_else(|| {
        0.5 * file_w / (0.5 * k.camera_angle_x.unwrap_or(std::f64::consts::FRAC_PI_2)).tan()
    });
    let fy =
        k.fl_y.or_else(|| k.camera_angle_y.map(|a| 0.5 * file_h / (0.5 * a).tan())).unwrap_or(fx);
    let (sx, sy) = (f64::from(width) / file_w, f64::from(height) / file_h);
    Camera {
        world_from_camera: frame.world_from_camera,
        focal_px: [fx * sx, fy * sy],
        principal_px: [k.cx.unwrap_or(file_w / 2.0) * sx, k.cy.unwrap_or(file_h / 2.0) * sy],
        size_px: [width, height],
    }
}
