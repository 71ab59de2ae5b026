//! The pipeline's view preprocessing on hand-checked images: the crop box, black background,
//! centring, padding of crops cut by the image border, and views without a mask refused.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

use image::{Rgba, RgbaImage};
use meshcast_engine::reconviagen::preprocess::{PreprocessError, crop_box, preprocess};
use tch::Device;

/// A transparent red 200 × 100 image with an opaque green rectangle `x0..=x1`, `y0..=y1`.
fn view(x0: u32, y0: u32, x1: u32, y1: u32) -> RgbaImage {
    RgbaImage::from_fn(200, 100, |x, y| {
        if (x0..=x1).contains(&x) && (y0..=y1).contains(&y) {
            Rgba([0, 255, 0, 255])
        } else {
            Rgba([255, 0, 0, 0])
        }
    })
}

fn pixel(t: &tch::Tensor, x: i64, y: i64) -> [f64; 3] {
    [0, 1, 2].map(|c| t.double_value(&[c, y, x]))
}

#[test]
fn the_object_is_cropped_centred_on_black() {
    // Bounding box 50..=89 × 20..=59: centre (69.5, 39.5), side ⌊39 · 1.1⌋ = 42, half 21.
    let image = view(50, 20, 89, 59);
    assert_eq!(crop_box(&image), Some((48, 18, 90, 60)));
    let t = preprocess(&image, 0, Device::Cpu).unwrap();
    assert_eq!(t.size(), [3, 518, 518]);
    assert_eq!(pixel(&t, 259, 259), [0.0, 1.0, 0.0], "the object fills the centre");
    assert_eq!(pixel(&t, 3, 3), [0.0; 3], "the transparent red background is black");
    // The object spans 2..42 of the 42-pixel crop: its left edge lands near 518 · 2/42 ≈ 25.
    assert_eq!(pixel(&t, 20, 259), [0.0; 3]);
    assert_eq!(pixel(&t, 40, 259), [0.0, 1.0, 0.0]);
}

#[test]
fn a_crop_cut_by_the_border_is_padded_to_a_square() {
    // At the top edge: the box is clamped to y ≥ 0, so the crop is wider than tall and is
    // pasted centred vertically on a transparent square.
    let image = view(100, 0, 139, 39);
    let (left, top, right, bottom) = crop_box(&image).unwrap();
    assert_eq!((top, right - left), (0, 42));
    assert!(bottom - top < right - left);
    let t = preprocess(&image, 0, Device::Cpu).unwrap();
    assert_eq!(pixel(&t, 259, 2), [0.0; 3], "padding above the crop is black");
    assert_eq!(pixel(&t, 259, 259), [0.0, 1.0, 0.0]);
}

#[test]
fn views_without_a_mask_are_refused() {
    let opaque = RgbaImage::from_pixel(64, 64, Rgba([10, 20, 30, 255]));
    let err = preprocess(&opaque, 3, Device::Cpu).unwrap_err();
    assert!(matches!(err, PreprocessError::NoMask { view: 3 }), "{err}");
    assert!(err.to_string().contains("view 3 has no transparent background"));
    let empty = RgbaImage::from_pixel(64, 64, Rgba([10, 20, 30, 0]));
    assert!(matches!(preprocess(&empty, 0, Device::Cpu), Err(PreprocessError::NoMask { .. })));
}
