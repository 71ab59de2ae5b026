//! One view's pixels: decoded, alpha from the image or a mask file, converted to linear light,
//! premultiplied and resized.

use std::path::Path;

use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageBuffer, ImageDecoder, Rgba};

use super::DatasetError;

/// The image's size as it will be seen (after its EXIF orientation), without decoding it all.
pub(super) fn dimensions(path: &Path) -> Result<(u32, u32), DatasetError> {
    let mut decoder = reader(path)?.into_decoder().map_err(|e| image_error(path, &e))?;
    let (w, h) = decoder.dimensions();
    let turned = matches!(
        decoder.orientation().unwrap_or(Orientation::NoTransforms),
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    );
    Ok(if turned { (h, w) } else { (w, h) })
}

fn reader(
    path: &Path,
) -> Result<image::ImageReader<std::io::BufReader<std::fs::File>>, DatasetError> {
    image::ImageReader::open(path)
        .map_err(|e| image_error(path, &image::ImageError::IoError(e)))?
        .with_guessed_format()
        .map_err(|e| DatasetError::Image { path: path.to_owned(), reason: e.to_string() })
}

fn image_error(path: &Path, error: &image::ImageError) -> DatasetError {
    let reason = match error {
        image::ImageError::IoError(e) if e.kind() == std::io::ErrorKind::NotFound => {
            "file not found".to_owned()
        }
        other => other.to_string(),
    };
    DatasetError::Image { path: path.to_owned(), reason }
}

/// Decodes an image (PNG, JPEG, WebP) upright: the EXIF orientation phones write instead of
/// rotating the pixels is applied.
pub fn decode(path: &Path) -> Result<DynamicImage, DatasetError> {
    let mut decoder = reader(path)?.into_decoder().map_err(|e| image_error(path, &e))?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| image_error(path, &e))?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// sRGB transfer function (IEC 61966-2-1) to linear, for one channel in [0, 1].
fn srgb_to_linear(v: f32) -> f32 {
    if v <= 0.04045 { v / 12.92 } else { ((v + 0.055) / 1.055).powf(2.4) }
}

/// Loads `path` (alpha from `mask` when given, else from the image) at `width × height`: linear
/// RGB premultiplied by alpha, then alpha, row-major from the top-left pixel.
///
/// Colour is made linear and premultiplied before resizing, so edges do not pick up the colour
/// of transparent pixels.
pub(super) fn load(
    path: &Path,
    mask: Option<&Path>,
    width: u32,
    height: u32,
) -> Result<Vec<f32>, DatasetError> {
    let decoded = decode(path)?;
    let (w, h) = (decoded.width(), decoded.height());
    let alpha: Option<Vec<f32>> = match mask {
        Some(mask_path) => {
            let m = decode(mask_path)?;
            if (m.width(), m.height()) != (w, h) {
                return Err(DatasetError::Image {
                    path: mask_path.to_owned(),
                    reason: format!(
                        "mask is {}×{} but its image is {w}×{h}",
                        m.width(),
                        m.height()
                    ),
                });
            }
            Some(m.to_luma32f().into_raw())
        }
        None if decoded.color().has_alpha() => None,
        None => {
            return Err(DatasetError::Image {
                path: path.to_owned(),
                reason: "no alpha channel and no mask_path for this frame; views need the \
                         object's mask"
                    .into(),
            });
        }
    };
    let mut rgba = decoded.to_rgba32f();
    for (i, px) in rgba.pixels_mut().enumerate() {
        let a = alpha.as_ref().map_or(px[3], |m| m[i]).clamp(0.0, 1.0);
        for c in 0..3 {
            px[c] = srgb_to_linear(px[c].clamp(0.0, 1.0)) * a;
        }
        px[3] = a;
    }
    let rgba: ImageBuffer<Rgba<f32>, Vec<f32>> = if (w, h) == (width, height) {
        rgba
    } else {
        image::imageops::resize(&rgba, width, height, FilterType::Triangle)
    };
    Ok(rgba.into_raw())
}
