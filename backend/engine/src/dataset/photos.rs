//! Plain photos (no poses, no alpha) → a posed, masked dataset `load` reads: the photos are
//! decoded upright and checked, COLMAP computes the poses ([`Colmap::solve`]), and a
//! [`MaskEstimator`] separates the object from the background in each undistorted view, inside
//! the region where the view sees the sparse points (the object: a plain background yields no
//! features).

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use image::Luma;
use image::imageops::FilterType;

use super::colmap::solve::{Colmap, SolveError, SolveStep, Solved};
use super::colmap::{ColmapError, ColmapImage, ColmapModel};
use super::mask::MaskEstimator;
use super::{DatasetError, decode_upright};

/// File extensions taken as photos.
const EXTENSIONS: [&str; 4] = ["jpg", "jpeg", "png", "webp"];

/// Why photos did not become a dataset.
#[derive(Debug, thiserror::Error)]
pub enum PhotosError {
    /// Too few photos to reconstruct from.
    #[error("{found} photos; at least {min} views around the object are needed")]
    TooFewViews {
        /// Photos found.
        found: usize,
        /// The minimum.
        min: usize,
    },
    /// A frame with no content to match (black, or one colour).
    #[error("photo {path} is uniform (all black or a single colour); retake or remove it")]
    Uniform {
        /// The photo.
        path: PathBuf,
    },
    /// Photos of different sizes (COLMAP is given one shared camera).
    #[error(
        "photo {path} is {got:?} pixels but the first photo is {want:?}; use one camera and orientation for all photos"
    )]
    MixedSizes {
        /// The photo.
        path: PathBuf,
        /// Its size.
        got: (u32, u32),
        /// The first photo's size.
        want: (u32, u32),
    },
    /// A `masks/` folder was uploaded without a mask for this photo.
    #[error(
        "photo {photo} has no mask in the uploaded masks folder (looked for {file}, {file}.png and {stem}.png); upload a mask for every photo or none"
    )]
    MissingMask {
        /// The photo.
        photo: PathBuf,
        /// Its file name.
        file: String,
        /// Its name without extension.
        stem: String,
    },
    /// An uploaded mask of another size than its photo.
    #[error("mask {path} is {got:?} pixels but its photo is {want:?}")]
    MaskSize {
        /// The mask.
        path: PathBuf,
        /// The mask's size.
        got: (u32, u32),
        /// The photo's size (upright).
        want: (u32, u32),
    },
    /// A photo or mask that does not decode.
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    /// COLMAP gave no poses.
    #[error(transparent)]
    Poses(#[from] SolveError),
    /// The model COLMAP wrote does not read.
    #[error(transparent)]
    Model(#[from] ColmapError),
    /// Writing the workspace.
    #[error("cannot write {path}: {reason}")]
    Write {
        /// The path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Progress of [`prepare`], stage by stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoStage {
    /// Decoding and checking the photos.
    Decode,
    /// A COLMAP step.
    Poses(SolveStep),
    /// Estimating the masks.
    Masks,
    /// Undistorting the uploaded masks as the views were.
    UploadedMasks,
}

impl PhotoStage {
    /// What the stage does, for progress bars and the job page.
    pub fn label(self) -> &'static str {
        match self {
            PhotoStage::Decode => "reading photos",
            PhotoStage::Poses(SolveStep::Features) => "COLMAP: finding features",
            PhotoStage::Poses(SolveStep::Matching) => "COLMAP: matching features",
            PhotoStage::Poses(SolveStep::Mapping) => "COLMAP: registering views",
            PhotoStage::Poses(SolveStep::Undistortion) => "COLMAP: undistorting views",
            PhotoStage::Masks => "estimating masks",
            PhotoStage::UploadedMasks => "undistorting the uploaded masks",
        }
    }
}

/// Settings of [`prepare`].
#[derive(Debug, Clone)]
pub struct PhotoOptions {
    /// Longest side photos are resized to before COLMAP sees them.
    pub max_side: u32,
    /// Fewest photos accepted.
    pub min_views: usize,
    /// A photo whose luma standard deviation (0–255) is below this is refused as uniform.
    pub min_contrast: f64,
}

impl Default for PhotoOptions {
    fn default() -> Self {
        Self { max_side: 1600, min_views: 8, min_contrast: 2.0 }
    }
}

/// The folder [`prepare`] writes the masks to for `workspace` (one PNG per registered view, named
/// as its image), for showing them to the person.
pub fn masks_dir(workspace: &Path) -> PathBuf {
    workspace.join("colmap").join("undistorted").join("masks")
}

/// The uploaded masks folder of a photo folder `dir`, if there is one: `dir/masks`.
pub fn uploaded_masks(dir: &Path) -> Option<PathBuf> {
    Some(dir.join("masks")).filter(|m| m.is_dir())
}

/// The photos in `dir` (or `dir/images`), sorted by name; empty if there are none.
pub fn photo_files(dir: &Path) -> Vec<PathBuf> {
    let folder = if dir.join("images").is_dir() { dir.join("images") } else { dir.to_owned() };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.is_file()
                        && p.extension()
                            .is_some_and(|e| EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Turns the photos in `dir` into a dataset folder under `workspace` (returned in
/// [`Solved::dir`]: `images/`, `sparse/`, `masks/`). Every photo (and uploaded mask) is checked
/// before COLMAP starts. Masks come from `dir/masks/` when it exists — one per photo, named as
/// the photo, as the photo + `.png`, or as its stem + `.png`, undistorted by COLMAP as the
/// photos were — else from `masks`.
pub fn prepare(
    dir: &Path,
    workspace: &Path,
    options: &PhotoOptions,
    colmap: &Colmap,
    masks: &dyn MaskEstimator,
    cancel: &AtomicBool,
    mut on_progress: impl FnMut(PhotoStage, f64),
) -> Result<Solved, PhotosError> {
    let write_error = |path: &Path, e: &dyn std::fmt::Display| PhotosError::Write {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    let input = workspace.join("input");
    let input_masks = workspace.join("input_masks");
    for folder in [&input, &input_masks] {
        if folder.exists() {
            std::fs::remove_dir_all(folder).map_err(|e| write_error(folder, &e))?;
        }
    }
    std::fs::create_dir_all(&input).map_err(|e| write_error(&input, &e))?;
    let mut uploaded = false;
    let count = for_each_photo(dir, options, |i, total, file, photo, mask| {
        on_progress(PhotoStage::Decode, i as f64 / total as f64);
        let stem =
            file.file_stem().map_or_else(|| format!("{i}"), |s| s.to_string_lossy().into_owned());
        // JPEG at high quality: PNG copies of phone photos cost several MB each, twice over
        // (COLMAP's undistorted copies keep the format), for no gain in matching.
        let name = format!("{i:04}_{stem}.jpg");
        let out = input.join(&name);
        write_jpeg(&out, &fit(photo, options.max_side).into())?;
        if let Some(mask) = mask {
            // Named as its photo, so that COLMAP undistorts it with that view's camera.
            std::fs::create_dir_all(&input_masks).map_err(|e| write_error(&input_masks, &e))?;
            write_jpeg(&input_masks.join(&name), &fit(mask, options.max_side).into())?;
            uploaded = true;
        }
        Ok(())
    })?;
    on_progress(PhotoStage::Decode, 1.0);
    let solved = colmap.solve(&input, count, &workspace.join("colmap"), cancel, |step, f| {
        on_progress(PhotoStage::Poses(step), f);
    })?;
    if uploaded {
        let undistorted = workspace.join("colmap").join("undistorted_masks");
        colmap.undistort(&solved, &input_masks, &undistorted, cancel, |f| {
            on_progress(PhotoStage::UploadedMasks, f);
        })?;
        copy_masks(&solved.dir, &undistorted.join("images"))?;
    } else {
        write_masks(&solved.dir, masks, &mut |f| on_progress(PhotoStage::Masks, f))?;
    }
    Ok(solved)
}

/// `image` scaled down so that its longer side is at most `max_side`.
fn fit<P: image::Pixel<Subpixel = u8> + 'static>(
    image: image::ImageBuffer<P, Vec<u8>>,
    max_side: u32,
) -> image::ImageBuffer<P, Vec<u8>> {
    let (w, h) = image.dimensions();
    let scale = (f64::from(max_side) / f64::from(w.max(h))).min(1.0);
    if scale < 1.0 {
        let w = ((f64::from(w) * scale).round() as u32).max(1);
        let h = ((f64::from(h) * scale).round() as u32).max(1);
        image::imageops::resize(&image, w, h, FilterType::Lanczos3)
    } else {
        image
    }
}

/// Writes `image` as a JPEG of quality 95 (masks are thresholded after COLMAP resamples them,
/// so its artefacts do not matter there either).
fn write_jpeg(path: &Path, image: &image::DynamicImage) -> Result<(), PhotosError> {
    let error = |e: &dyn std::fmt::Display| PhotosError::Write {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    let file = std::fs::File::create(path).map_err(|e| error(&e))?;
    let encoder =
        image::codecs::jpeg::JpegEncoder::new_with_quality(std::io::BufWriter::new(file), 95);
    image.write_with_encoder(encoder).map_err(|e| error(&e))
}

/// `masks/<name>.png` for every registered view of `dir` from COLMAP's undistorted copy of its
/// uploaded mask in `undistorted`, thresholded at half.
fn copy_masks(dir: &Path, undistorted: &Path) -> Result<(), PhotosError> {
    let model = ColmapModel::read(&dir.join("sparse"))?;
    let masks = dir.join("masks");
    std::fs::create_dir_all(&masks)
        .map_err(|e| PhotosError::Write { path: masks.clone(), reason: e.to_string() })?;
    for image in model.images.values() {
        let mut mask = decode_upright(&undistorted.join(&image.name))?.to_luma8();
        for p in mask.pixels_mut() {
            p.0[0] = if p.0[0] >= 128 { 255 } else { 0 };
        }
        let out = masks.join(format!("{}.png", image.name));
        mask.save_with_format(&out, image::ImageFormat::Png)
            .map_err(|e| PhotosError::Write { path: out.clone(), reason: e.to_string() })?;
    }
    Ok(())
}

/// Checks the photos in `dir` as [`prepare`] does before COLMAP runs (count, decoding, sizes,
/// uniform frames), without writing anything; the number of photos.
pub fn check(dir: &Path, options: &PhotoOptions) -> Result<usize, PhotosError> {
    for_each_photo(dir, options, |_, _, _, _, _| Ok(()))
}

/// Decodes and checks every photo of `dir` in name order, and its uploaded mask if there is a
/// masks folder, handing each to `each(index, count, path, pixels, mask)`; the number of photos.
fn for_each_photo(
    dir: &Path,
    options: &PhotoOptions,
    mut each: impl FnMut(
        usize,
        usize,
        &Path,
        image::RgbImage,
        Option<image::GrayImage>,
    ) -> Result<(), PhotosError>,
) -> Result<usize, PhotosError> {
    let files = photo_files(dir);
    if files.len() < options.min_views {
        return Err(PhotosError::TooFewViews { found: files.len(), min: options.min_views });
    }
    let masks = uploaded_masks(dir);
    let mut first_size = None;
    for (i, file) in files.iter().enumerate() {
        let photo = decode_upright(file)?.to_rgb8();
        let size = photo.dimensions();
        let want = *first_size.get_or_insert(size);
        if size != want {
            return Err(PhotosError::MixedSizes { path: file.clone(), got: size, want });
        }
        if contrast(&photo) < options.min_contrast {
            return Err(PhotosError::Uniform { path: file.clone() });
        }
        let mask = masks.as_deref().map(|masks| mask_of(masks, file, size)).transpose()?;
        each(i, files.len(), file, photo, mask)?;
    }
    Ok(files.len())
}

/// The uploaded mask of `photo` in `masks`, checked against the photo's `size`.
fn mask_of(masks: &Path, photo: &Path, size: (u32, u32)) -> Result<image::GrayImage, PhotosError> {
    let name = |p: Option<&std::ffi::OsStr>| p.map(|s| s.to_string_lossy().into_owned());
    let (file, stem) = (name(photo.file_name()), name(photo.file_stem()));
    let (file, stem) = (file.unwrap_or_default(), stem.unwrap_or_default());
    let path =
        [masks.join(&file), masks.join(format!("{file}.png")), masks.join(format!("{stem}.png"))]
            .into_iter()
            .find(|p| p.is_file())
            .ok_or_else(|| PhotosError::MissingMask { photo: photo.to_owned(), file, stem })?;
    let mask = decode_upright(&path)?.to_luma8();
    if mask.dimensions() != size {
        return Err(PhotosError::MaskSize { path, got: mask.dimensions(), want: size });
    }
    Ok(mask)
}

/// Standard deviation of the luma, 0–255.
fn contrast(image: &image::RgbImage) -> f64 {
    let n = f64::from(image.width()) * f64::from(image.height());
    let (mut sum, mut sq) = (0.0, 0.0);
    for p in image.pixels() {
        let y = 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]);
        sum += y;
        sq += y * y;
    }
    (sq / n - (sum / n).powi(2)).max(0.0).sqrt()
}

/// `masks/<name>.png` for every registered view of the undistorted model in `dir`: the
/// estimator's mask, cleared outside the view's region of interest.
fn write_masks(
    dir: &Path,
    estimator: &dyn MaskEstimator,
    on_progress: &mut dyn FnMut(f64),
) -> Result<(), PhotosError> {
    let model = ColmapModel::read(&dir.join("sparse"))?;
    let masks = dir.join("masks");
    std::fs::create_dir_all(&masks)
        .map_err(|e| PhotosError::Write { path: masks.clone(), reason: e.to_string() })?;
    let count = model.images.len().max(1);
    for (i, image) in model.images.values().enumerate() {
        on_progress(i as f64 / count as f64);
        let path = dir.join("images").join(&image.name);
        let photo = decode_upright(&path)?.to_rgb8();
        let mut mask = estimator.estimate(&photo);
        if let Some([x0, y0, x1, y1]) = region_of_interest(&model, image, photo.dimensions())? {
            for (x, y, p) in mask.enumerate_pixels_mut() {
                let (x, y) = (f64::from(x), f64::from(y));
                if x < x0 || x > x1 || y < y0 || y > y1 {
                    *p = Luma([0]);
                }
            }
        }
        // `<image name>.png`, one of the names `load` looks for.
        let out = masks.join(format!("{}.png", image.name));
        mask.save_with_format(&out, image::ImageFormat::Png)
            .map_err(|e| PhotosError::Write { path: out.clone(), reason: e.to_string() })?;
    }
    on_progress(1.0);
    Ok(())
}

/// The box `[x0, y0, x1, y1]` (pixels) around the sparse points a view sees — the 2nd to 98th
/// percentile of their projections, grown by a fifth of its size on each side — or `None` when
/// fewer than 20 points project into the view (then the estimator's mask stands alone).
pub fn region_of_interest(
    model: &ColmapModel,
    image: &ColmapImage,
    (width, height): (u32, u32),
) -> Result<Option<[f64; 4]>, ColmapError> {
    let (mut us, mut vs): (Vec<f64>, Vec<f64>) = model
        .project(image)?
        .into_iter()
        .filter(|&[u, v]| u >= 0.0 && v >= 0.0 && u < f64::from(width) && v < f64::from(height))
        .map(|[u, v]| (u, v))
        .unzip();
    if us.len() < 20 {
        return Ok(None);
    }
    let percentile = |values: &mut Vec<f64>, q: f64| {
        values.sort_by(f64::total_cmp);
        values[((values.len() - 1) as f64 * q).round() as usize]
    };
    let (u0, u1) = (percentile(&mut us, 0.02), percentile(&mut us, 0.98));
    let (v0, v1) = (percentile(&mut vs, 0.02), percentile(&mut vs, 0.98));
    let (gu, gv) = (0.2 * (u1 - u0), 0.2 * (v1 - v0));
    Ok(Some([u0 - gu, v0 - gv, u1 + gu, v1 + gv]))
}
