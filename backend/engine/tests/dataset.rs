//! Dataset loading: both transforms.json dialects, resizing, premultiplied linear colour, masks,
//! and a clear error naming the file or frame for each kind of bad input.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

use std::path::{Path, PathBuf};

use meshcast_engine::dataset::{DatasetError, LoadOptions, load};
use tch::Kind;

fn suzanne() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/suzanne-96")
}

const FOV_X: f64 = 0.6911112070083618;

#[test]
fn nerf_synthetic_splits_cameras_and_images() {
    let data = load(&suzanne(), LoadOptions { max_side: 400 }).unwrap();
    assert_eq!((data.train.len(), data.test.len()), (50, 10));
    assert_eq!(data.size, (96, 96), "never upscaled");
    assert_eq!(data.train.images.size(), [50, 96, 96, 4]);
    assert_eq!(data.train.images.kind(), Kind::Float);
    let camera = &data.train.cameras[0];
    let focal = 48.0 / (0.5 * FOV_X).tan();
    assert!((camera.focal_px[0] - focal).abs() < 1e-3, "{:?}", camera.focal_px);
    assert_eq!(camera.principal_px, [48.0, 48.0]);
    assert_eq!(data.train.names[0], "r_0.png");
    // Premultiplied: colour never exceeds alpha; the object covers part of the frame.
    let rgb = data.train.images.narrow(3, 0, 3);
    let alpha = data.train.images.narrow(3, 3, 1);
    let excess = (rgb - &alpha).max().double_value(&[]);
    assert!(excess <= 1e-6, "colour exceeds alpha by {excess}");
    let coverage = alpha.mean(Kind::Double).double_value(&[]);
    assert!((0.05..0.6).contains(&coverage), "coverage {coverage}");
}

#[test]
fn resizing_scales_intrinsics() {
    let data = load(&suzanne(), LoadOptions { max_side: 48 }).unwrap();
    assert_eq!(data.size, (48, 48));
    assert_eq!(data.test.images.size(), [10, 48, 48, 4]);
    let focal = 24.0 / (0.5 * FOV_X).tan();
    assert!((data.test.cameras[3].focal_px[1] - focal).abs() < 1e-3);
}

/// A nerfstudio-style copy of a few suzanne views: explicit intrinsics, extensions, masks.
fn nerfstudio_copy(dir: &Path, frames: &str) {
    std::fs::create_dir_all(dir.join("images")).unwrap();
    for i in 0..10 {
        let image = image::open(suzanne().join(format!("train/r_{}.png", 2 * i))).unwrap();
        image.save(dir.join(format!("images/{i}.png"))).unwrap();
        // The same view as an opaque JPEG plus a separate mask.
        image.to_rgb8().save(dir.join(format!("images/{i}.jpg"))).unwrap();
        let rgba = image.to_rgba8();
        let mask = image::GrayImage::from_fn(96, 96, |x, y| image::Luma([rgba.get_pixel(x, y)[3]]));
        mask.save(dir.join(format!("images/{i}_mask.png"))).unwrap();
    }
    std::fs::write(dir.join("transforms.json"), frames).unwrap();
}

fn frames_json(frame: impl Fn(usize) -> String) -> String {
    let frames: Vec<String> = (0..10).map(frame).collect();
    format!(
        r#"{{"fl_x": 200.0, "fl_y": 210.0, "cx": 190.0, "cy": 205.0, "w": 400, "h": 400,
            "frames": [{}]}}"#,
        frames.join(",")
    )
}

const POSE: &str = "[[1,0,0,0],[0,1,0,0],[0,0,1,4],[0,0,0,1]]";

#[test]
fn nerfstudio_intrinsics_masks_and_hold_out() {
    let dir = tempfile::tempdir().unwrap();
    let json = frames_json(|i| {
        if i == 3 {
            // Per-frame intrinsics win over the top level.
            format!(
                r#"{{"file_path": "images/{i}.png", "transform_matrix": {POSE}, "fl_x": 100.0}}"#
            )
        } else {
            format!(
                r#"{{"file_path": "images/{i}.jpg", "mask_path": "images/{i}_mask.png", "transform_matrix": {POSE}}}"#
            )
        }
    });
    nerfstudio_copy(dir.path(), &json);
    let data = load(dir.path(), LoadOptions { max_side: 96 }).unwrap();
    // Every 8th view is held out: frames 0 and 8.
    assert_eq!((data.train.len(), data.test.len()), (8, 2));
    // Intrinsics were written for 400×400 and scale to the 96-pixel images.
    let k = 96.0 / 400.0;
    let cam = &data.test.cameras[0];
    assert!(
        (cam.focal_px[0] - 200.0 * k).abs() < 1e-9 && (cam.focal_px[1] - 210.0 * k).abs() < 1e-9
    );
    assert!((cam.principal_px[0] - 190.0 * k).abs() < 1e-9);
    let per_frame = &data.train.cameras[2]; // frame 3
    assert!((per_frame.focal_px[0] - 100.0 * k).abs() < 1e-9);
    // The mask gives the same alpha as the RGBA original (frame 3 read its own alpha).
    let reference = load(&suzanne(), LoadOptions { max_side: 96 }).unwrap();
    let alpha_masked = data.test.images.get(0).narrow(2, 3, 1);
    let alpha_rgba = reference.train.images.get(0).narrow(2, 3, 1);
    let diff = (alpha_masked - alpha_rgba).abs().max().double_value(&[]);
    assert!(diff < 1e-6, "mask alpha differs by {diff}");
}

fn error_of(json: &str, tweak: impl Fn(&Path)) -> String {
    let dir = tempfile::tempdir().unwrap();
    nerfstudio_copy(dir.path(), json);
    tweak(dir.path());
    let error = load(dir.path(), LoadOptions { max_side: 64 }).unwrap_err();
    error.to_string()
}

#[test]
fn bad_input_names_the_problem() {
    let png =
        |i: usize| format!(r#"{{"file_path": "images/{i}.png", "transform_matrix": {POSE}}}"#);
    let contains = |error: String, needles: &[&str]| {
        for n in needles {
            assert!(error.contains(n), "`{error}` should mention `{n}`");
        }
    };
    contains(
        error_of(&frames_json(png), |d| std::fs::remove_file(d.join("images/4.png")).unwrap()),
        &["4.png", "not found"],
    );
    contains(
        error_of(&frames_json(png), |d| {
            image::RgbaImage::new(50, 40).save(d.join("images/6.png")).unwrap();
        }),
        &["6.png", "(50, 40)", "(96, 96)"],
    );
    contains(
        error_of(
            &frames_json(|i| {
                format!(r#"{{"file_path": "images/{i}.jpg", "transform_matrix": {POSE}}}"#)
            }),
            |_| {},
        ),
        &[".jpg", "no alpha channel"],
    );
    contains(
        error_of(
            &frames_json(|i| {
                let m = if i == 5 { "[[1,0,0,0],[0,1,0,0],[0,0,1,NaN],[0,0,0,1]]" } else { POSE };
                format!(r#"{{"file_path": "images/{i}.png", "transform_matrix": {m}}}"#)
            }),
            |_| {},
        ),
        &["transforms.json"],
    );
    contains(
        error_of(
            &frames_json(|i| {
                let m = if i == 5 { "[[0,0,0,0],[0,0,0,0],[0,0,0,4],[0,0,0,1]]" } else { POSE };
                format!(r#"{{"file_path": "images/{i}.png", "transform_matrix": {m}}}"#)
            }),
            |_| {},
        ),
        &["frame 5", "degenerate"],
    );
    contains(error_of(r#"{"fl_x": 10, "frames": []}"#, |_| {}), &["frame list is empty"]);
    contains(
        error_of(
            r#"{"frames": [{"file_path": "images/1.png", "transform_matrix": [[1,0,0,0],[0,1,0,0],[0,0,1,4],[0,0,0,1]]}]}"#,
            |_| {},
        ),
        &["frame 0", "no focal length"],
    );
    contains(error_of(r#"{"frames": 3}"#, |_| {}), &["transforms.json", "line 1"]);
    let empty = tempfile::tempdir().unwrap();
    let error = load(empty.path(), LoadOptions { max_side: 64 }).unwrap_err();
    assert!(matches!(error, DatasetError::NoTransforms(_)), "{error}");
}

/// A PNG whose EXIF orientation says "rotate 90° clockwise" (6), as phones write: it decodes
/// upright.
#[test]
fn exif_orientation_is_applied() {
    use image::{ImageEncoder, Rgb, RgbImage};

    // TIFF header (little-endian), one IFD entry: Orientation (0x0112), SHORT, 1, value 6.
    let mut exif = b"II*\0\x08\0\0\0\x01\0".to_vec();
    exif.extend([0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]);
    exif.extend([0, 0, 0, 0]);
    // 4 × 2, red at the top-left corner, the rest black.
    let stored =
        RgbImage::from_fn(
            4,
            2,
            |x, y| if (x, y) == (0, 0) { Rgb([255, 0, 0]) } else { Rgb([0, 0, 0]) },
        );
    let mut bytes = Vec::new();
    let mut encoder = image::codecs::png::PngEncoder::new(&mut bytes);
    encoder.set_exif_metadata(exif).unwrap();
    encoder.write_image(stored.as_raw(), 4, 2, image::ExtendedColorType::Rgb8).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.png");
    std::fs::write(&path, bytes).unwrap();

    let upright = meshcast_engine::dataset::decode_upright(&path).unwrap().to_rgb8();
    assert_eq!(upright.dimensions(), (2, 4), "rotated a quarter turn");
    // Turned clockwise, the stored top-left corner is now the top-right one.
    assert_eq!(upright.get_pixel(1, 0), &Rgb([255, 0, 0]));
    assert_eq!(upright.get_pixel(0, 0), &Rgb([0, 0, 0]));
}
