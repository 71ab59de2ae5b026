//! PNG encoding of textures, several at a time: large textures dominate export time.

use image::codecs::png::PngEncoder;
use image::{ImageBuffer, ImageEncoder, Pixel, PixelWithColorType};

use super::ExportError;

/// `image` as PNG file bytes; `texture` names it in errors.
pub(super) fn encode<P>(
    image: &ImageBuffer<P, Vec<u8>>,
    texture: &'static str,
) -> Result<Vec<u8>, ExportError>
where
    P: Pixel<Subpixel = u8> + PixelWithColorType,
{
    let mut bytes = Vec::new();
    PngEncoder::new(&mut bytes)
        .write_image(image.as_raw(), image.width(), image.height(), P::COLOR_TYPE)
        .map_err(|source| ExportError::Image { texture, source })?;
    Ok(bytes)
}

/// [`encode`] for an optional image.
pub(super) fn encode_opt<P>(
    image: Option<&ImageBuffer<P, Vec<u8>>>,
    texture: &'static str,
) -> Result<Option<Vec<u8>>, ExportError>
where
    P: Pixel<Subpixel = u8> + PixelWithColorType,
{
    image.map(|image| encode(image, texture)).transpose()
}
