//! Mask estimation for photos without alpha: rendered views with a known alpha, flattened onto
//! a plain light background with sensor-like noise, must be recovered with IoU ≥ 0.9.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // test helpers: a panic is the failure report

use std::path::Path;

use image::{GrayImage, Luma, Rgb, RgbImage};
use meshcast_engine::dataset::mask::{BorderColourModel, MaskEstimator, mask_iou};

#[test]
fn rendered_views_on_a_plain_background_are_segmented() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/suzanne-96/train");
    let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    let estimator = BorderColourModel::default();
    let mut worst: f64 = 1.0;
    let mut seed = 12345u32;
    for path in names.iter().take(12) {
        let rgba = image::open(path).unwrap().to_rgba8();
        let truth = GrayImage::from_fn(rgba.width(), rgba.height(), |x, y| {
            Luma([if rgba.get_pixel(x, y)[3] > 127 { 255 } else { 0 }])
        });
        // Over (236, 234, 229) with ±4 of noise, as a photo on a sheet of paper.
        let photo = RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
            let p = rgba.get_pixel(x, y);
            let a = f64::from(p[3]) / 255.0;
            let background = [236.0, 234.0, 229.0];
            Rgb([0, 1, 2].map(|c| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = f64::from(seed >> 24) / 255.0 * 8.0 - 4.0;
                (a * f64::from(p[c]) + (1.0 - a) * background[c] + noise).clamp(0.0, 255.0) as u8
            }))
        });
        let iou = mask_iou(&estimator.estimate(&photo), &truth);
        println!("{}: IoU {iou:.3}", path.file_name().unwrap().to_string_lossy());
        worst = worst.min(iou);
    }
    assert!(worst >= 0.9, "worst IoU {worst}");
}

#[test]
fn a_plain_image_has_no_object() {
    let plain = RgbImage::from_pixel(40, 30, Rgb([200, 200, 200]));
    let mask = BorderColourModel::default().estimate(&plain);
    assert!(mask.pixels().all(|p| p[0] == 0));
    assert_eq!(mask_iou(&mask, &GrayImage::new(40, 30)), 1.0);
}
