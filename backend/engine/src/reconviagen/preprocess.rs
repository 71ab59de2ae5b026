//! The pipeline's image preprocessing (`preprocess_image` of ReconViaGen's TRELLIS pipeline) for
//! views with an alpha channel: crop a square 1.1× the object's bounding box (alpha > 0.8) around
//! its centre, pad it to a square on a transparent canvas, resize to 518² bilinearly (no
//! antialiasing, colour and alpha separately), black out everything whose alpha is not above
//! 0.8, and quantize to 8 bits as the reference does before its model input.
//!
//! Views without alpha need a foreground mask first; the reference runs BiRefNet for that, which
//! is not ported yet, so such views are refused with that reason.

use image::RgbaImage;
use tch::{Device, Kind, Tensor};

/// Side of the model input.
pub const INPUT_SIZE: i64 = 518;

/// A view that cannot be preprocessed.
#[derive(Debug, thiserror::Error)]
pub enum PreprocessError {
    /// Alpha is 255 everywhere: there is no mask to crop to.
    #[error(
        "view {view} has no transparent background; views need an alpha mask (BiRefNet segmentation is not available yet)"
    )]
    NoMask {
        /// Index of the view.
        view: usize,
    },
    /// libtorch failed.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

/// The crop box `(left, top, right, bottom)` (right/bottom exclusive, clamped to the image) of
/// the reference: centre of the inclusive bounding box of alpha > 204, side `⌊1.1 · max(dx, dy)⌋`,
/// corners truncated towards zero.
pub fn crop_box(image: &RgbaImage) -> Option<(u32, u32, u32, u32)> {
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    for (x, y, p) in image.enumerate_pixels() {
        if p[3] > 204 {
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
    }
    if x0 > x1 {
        return None;
    }
    let (cx, cy) = (f64::from(x0 + x1) / 2.0, f64::from(y0 + y1) / 2.0);
    let size = (f64::from((x1 - x0).max(y1 - y0)) * 1.1) as i64;
    let half = (size / 2) as f64;
    let clamp = |v: f64, hi: u32| (v.trunc() as i64).clamp(0, i64::from(hi)) as u32;
    let (w, h) = image.dimensions();
    Some((clamp(cx - half, w), clamp(cy - half, h), clamp(cx + half, w), clamp(cy + half, h)))
}

/// One view → `[3, 518, 518]` float32 in [0, 1] on `device`.
pub fn preprocess(
    image: &RgbaImage,
    view: usize,
    device: Device,
) -> Result<Tensor, PreprocessError> {
    preprocess_to(image, view, INPUT_SIZE, device)
}

/// [`preprocess`] to a `side`² input (the encoders' image size).
pub fn preprocess_to(
    image: &RgbaImage,
    view: usize,
    side_px: i64,
    device: Device,
) -> Result<Tensor, PreprocessError> {
    if image.pixels().all(|p| p[3] == 255) {
        return Err(PreprocessError::NoMask { view });
    }
    let Some((left, top, right, bottom)) = crop_box(image) else {
        return Err(PreprocessError::NoMask { view });
    };
    let (w, h) = (right - left, bottom - top);
    let side = w.max(h).max(1);
    // Transparent square canvas, the crop pasted centred (a copy, not a composite).
    let mut canvas = RgbaImage::new(side, side);
    let (ox, oy) = if w > h { (0, (w - h) / 2) } else { ((h - w) / 2, 0) };
    for y in 0..h {
        for x in 0..w {
            canvas.put_pixel(x + ox, y + oy, *image.get_pixel(left + x, top + y));
        }
    }
    let pixels = Tensor::from_slice(canvas.as_raw())
        .f_to_device(device)?
        .f_reshape([i64::from(side), i64::from(side), 4])?
        .f_permute([2, 0, 1])?
        .f_unsqueeze(0)?
        .f_to_kind(Kind::Float)?
        .f_div_scalar(255.0)?;
    let resized =
        pixels.f_upsample_bilinear2d([side_px, side_px], false, None, None)?.f_squeeze_dim(0)?;
    let alpha = resized.f_narrow(0, 3, 1)?;
    let rgb = resized.f_narrow(0, 0, 3)?.f_mul(&alpha.f_gt(0.8)?.f_to_kind(Kind::Float)?)?;
    // The reference stores the result as 8-bit (truncating) before its model reads it back.
    Ok(rgb.f_mul_scalar(255.0)?.f_floor()?.f_div_scalar(255.0)?)
}
