//! COLMAP sparse models: a hand-checked text model, the same model in binary form, the pose
//! conversion (camera-from-world, OpenCV axes → camera-to-world, OpenGL axes) checked by
//! projecting points both ways, and broken models refused with the file and line named.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

use std::path::Path;

use meshcast_engine::dataset::colmap::{ColmapError, ColmapModel};
use tch::Tensor;

const CAMERAS: &str = "# Camera list with one line of data per camera:\n\
    1 PINHOLE 640 480 500 510 320 240\n\
    2 SIMPLE_RADIAL 800 600 700 400 300 0\n";
const IMAGES: &str = "# Image list with two lines of data per image:\n\
    1 1 0 0 0 0 0 4 1 a.png\n\
    100.5 200.25 7 300 40 -1\n\
    2 0.7071067811865476 0 0.7071067811865476 0 0.5 -0.25 3 2 b c.png\n\
    \n";
const POINTS: &str = "# 3D point list\n7 0.1 0.2 0.3 255 0 10 0.5 1 0 2 1\n";

fn write_text(dir: &Path, cameras: &str, images: &str, points: &str) {
    std::fs::write(dir.join("cameras.txt"), cameras).unwrap();
    std::fs::write(dir.join("images.txt"), images).unwrap();
    std::fs::write(dir.join("points3D.txt"), points).unwrap();
}

/// The model in COLMAP's binary layout (what `colmap model_converter --output_type BIN` writes).
fn write_binary(dir: &Path, model: &ColmapModel) {
    let ids = ["SIMPLE_PINHOLE", "PINHOLE", "SIMPLE_RADIAL"];
    let mut c = (model.cameras.len() as u64).to_le_bytes().to_vec();
    for (id, cam) in &model.cameras {
        c.extend(id.to_le_bytes());
        c.extend((ids.iter().position(|m| *m == cam.model).unwrap() as i32).to_le_bytes());
        c.extend(cam.width.to_le_bytes());
        c.extend(cam.height.to_le_bytes());
        cam.params.iter().for_each(|p| c.extend(p.to_le_bytes()));
    }
    let mut i = (model.images.len() as u64).to_le_bytes().to_vec();
    for (id, image) in &model.images {
        i.extend(id.to_le_bytes());
        image.rotation.iter().chain(&image.translation).for_each(|v| i.extend(v.to_le_bytes()));
        i.extend(image.camera.to_le_bytes());
        i.extend(image.name.as_bytes());
        i.push(0);
        i.extend(1u64.to_le_bytes()); // one 2D point
        i.extend(100.5f64.to_le_bytes());
        i.extend(200.25f64.to_le_bytes());
        i.extend(u64::MAX.to_le_bytes());
    }
    let mut p = (model.points.len() as u64).to_le_bytes().to_vec();
    for (id, point) in &model.points {
        p.extend(id.to_le_bytes());
        point.position.iter().for_each(|v| p.extend(v.to_le_bytes()));
        p.extend(point.color);
        p.extend(point.error.to_le_bytes());
        p.extend(2u64.to_le_bytes());
        p.extend([1u32, 0, 2, 1].iter().flat_map(|v| v.to_le_bytes()));
    }
    std::fs::write(dir.join("cameras.bin"), c).unwrap();
    std::fs::write(dir.join("images.bin"), i).unwrap();
    std::fs::write(dir.join("points3D.bin"), p).unwrap();
}

#[test]
fn text_and_binary_models_read_alike() {
    let dir = tempfile::tempdir().unwrap();
    write_text(dir.path(), CAMERAS, IMAGES, POINTS);
    let model = ColmapModel::read(dir.path()).unwrap();
    assert_eq!(model.cameras.len(), 2);
    assert_eq!(model.cameras[&1].params, [500.0, 510.0, 320.0, 240.0]);
    assert_eq!(model.images[&2].name, "b c.png");
    assert_eq!(model.images[&2].camera, 2);
    assert_eq!(model.points[&7].color, [255, 0, 10]);

    let bin = tempfile::tempdir().unwrap();
    write_binary(bin.path(), &model);
    assert_eq!(ColmapModel::read(bin.path()).unwrap(), model);
}

#[test]
fn poses_become_opengl_cameras_that_project_like_colmap() {
    let dir = tempfile::tempdir().unwrap();
    write_text(dir.path(), CAMERAS, IMAGES, POINTS);
    let model = ColmapModel::read(dir.path()).unwrap();
    let cameras = model.cameras().unwrap();
    assert_eq!(cameras[0].0, "a.png");
    // Identity rotation, t = (0, 0, 4): the camera sits at z = −4 looking down +z (OpenCV
    // forward), so its OpenGL axes are x, −y, −z.
    let a = &cameras[0].1;
    assert_eq!(
        a.world_from_camera,
        [[1.0, 0.0, 0.0, 0.0], [0.0, -1.0, 0.0, 0.0], [0.0, 0.0, -1.0, -4.0], [0.0, 0.0, 0.0, 1.0]]
    );
    assert_eq!(
        (a.focal_px, a.principal_px, a.size_px),
        ([500.0, 510.0], [320.0, 240.0], [640, 480])
    );

    // Any world point lands on the same pixel through COLMAP's model and through ours.
    for ((_, camera), image) in cameras.iter().zip(model.images.values()) {
        let colmap_camera = &model.cameras[&image.camera];
        let (f, c) = match colmap_camera.model.as_str() {
            "PINHOLE" => (
                [colmap_camera.params[0], colmap_camera.params[1]],
                [colmap_camera.params[2], colmap_camera.params[3]],
            ),
            _ => ([colmap_camera.params[0]; 2], [colmap_camera.params[1], colmap_camera.params[2]]),
        };
        let clip_from_world = camera.clip_from_world(0.1, 100.0).unwrap();
        for point in [[0.1, 0.2, 0.3], [-0.4, 0.3, 0.2], [0.25, -0.3, -0.5]] {
            // COLMAP: x_cam = R·X + t, pixel = f·(x/z, y/z) + c.
            let [w, qx, qy, qz] = image.rotation;
            let r = [
                [
                    1.0 - 2.0 * (qy * qy + qz * qz),
                    2.0 * (qx * qy - w * qz),
                    2.0 * (qx * qz + w * qy),
                ],
                [
                    2.0 * (qx * qy + w * qz),
                    1.0 - 2.0 * (qx * qx + qz * qz),
                    2.0 * (qy * qz - w * qx),
                ],
                [
                    2.0 * (qx * qz - w * qy),
                    2.0 * (qy * qz + w * qx),
                    1.0 - 2.0 * (qx * qx + qy * qy),
                ],
            ];
            let x = [0, 1, 2]
                .map(|i| (0..3).map(|k| r[i][k] * point[k]).sum::<f64>() + image.translation[i]);
            let expected = [f[0] * x[0] / x[2] + c[0], f[1] * x[1] / x[2] + c[1]];
            // Ours: clip → NDC (y up) → pixels from the top-left corner.
            let h = Tensor::from_slice(&[point[0], point[1], point[2], 1.0]);
            let clip = Vec::<f64>::try_from(clip_from_world.matmul(&h)).unwrap();
            let ndc = [clip[0] / clip[3], clip[1] / clip[3]];
            let [width, height] = camera.size_px.map(f64::from);
            let ours = [(ndc[0] + 1.0) / 2.0 * width, (1.0 - ndc[1]) / 2.0 * height];
            for k in 0..2 {
                assert!(
                    (ours[k] - expected[k]).abs() < 1e-9,
                    "{}: {ours:?} vs {expected:?}",
                    image.name
                );
            }
        }
    }
}

#[test]
fn broken_models_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let err = |cameras: &str, images: &str| {
        write_text(dir.path(), cameras, images, POINTS);
        ColmapModel::read(dir.path()).and_then(|m| m.cameras()).unwrap_err()
    };
    let e = err("1 PINHOLE 640 480 500 510 320\n", IMAGES);
    assert!(
        e.to_string().contains("cameras.txt line 1: PINHOLE has 4 parameters, the line has 3"),
        "{e}"
    );
    let e = err("1 KANNALA 640 480 1 2 3 4\n", IMAGES);
    assert!(e.to_string().contains("unknown camera model `KANNALA`"), "{e}");
    let e = err(CAMERAS, "1 1 0 0 0 0 0 4 9 a.png\n\n");
    assert!(matches!(e, ColmapError::UnknownCamera { image: 1, camera: 9 }), "{e}");
    let e = err(CAMERAS, "1 0 0 0 0 0 0 4 1 a.png\n\n");
    assert!(
        e.to_string().contains("images.txt line 1") && e.to_string().contains("quaternion is zero"),
        "{e}"
    );
    let e = err(
        "1 SIMPLE_RADIAL 640 480 500 320 240 0.1\n",
        IMAGES.replace(" 2 b c.png", " 1 b c.png").as_str(),
    );
    assert!(matches!(e, ColmapError::Distorted { id: 1, .. }), "{e}");
    assert!(e.to_string().contains("image_undistorter"), "{e}");

    // A truncated binary file names the file and what was being read.
    write_text(dir.path(), CAMERAS, IMAGES, POINTS);
    let model = ColmapModel::read(dir.path()).unwrap();
    let bin = tempfile::tempdir().unwrap();
    write_binary(bin.path(), &model);
    let images = std::fs::read(bin.path().join("images.bin")).unwrap();
    std::fs::write(bin.path().join("images.bin"), &images[..images.len() - 5]).unwrap();
    let e = ColmapModel::read(bin.path()).unwrap_err().to_string();
    assert!(e.contains("images.bin: a 2D point count says 1, but only 19 bytes follow"), "{e}");
    // Inside the second image's pose (its record starts at byte 110, the pose at 114).
    std::fs::write(bin.path().join("images.bin"), &images[..150]).unwrap();
    let e = ColmapModel::read(bin.path()).unwrap_err().to_string();
    assert!(e.contains("images.bin: truncated at byte 146 while reading a pose"), "{e}");
    // A corrupt count cannot make the reader allocate or loop for billions of records.
    std::fs::write(bin.path().join("images.bin"), u64::MAX.to_le_bytes()).unwrap();
    let e = ColmapModel::read(bin.path()).unwrap_err();
    assert!(e.to_string().contains("the image count says"), "{e}");

    let empty = tempfile::tempdir().unwrap();
    let e = ColmapModel::read(empty.path()).unwrap_err();
    assert!(matches!(e, ColmapError::Missing { name: "cameras", .. }), "{e}");
}

/// Rotation matrix → unit quaternion (w, x, y, z).
fn quaternion(r: [[f64; 3]; 3]) -> [f64; 4] {
    let trace = r[0][0] + r[1][1] + r[2][2];
    if trace > 0.0 {
        let s = (trace + 1.0).sqrt() * 2.0;
        [0.25 * s, (r[2][1] - r[1][2]) / s, (r[0][2] - r[2][0]) / s, (r[1][0] - r[0][1]) / s]
    } else if r[0][0] > r[1][1] && r[0][0] > r[2][2] {
        let s = (1.0 + r[0][0] - r[1][1] - r[2][2]).sqrt() * 2.0;
        [(r[2][1] - r[1][2]) / s, 0.25 * s, (r[0][1] + r[1][0]) / s, (r[0][2] + r[2][0]) / s]
    } else if r[1][1] > r[2][2] {
        let s = (1.0 + r[1][1] - r[0][0] - r[2][2]).sqrt() * 2.0;
        [(r[0][2] - r[2][0]) / s, (r[0][1] + r[1][0]) / s, 0.25 * s, (r[1][2] + r[2][1]) / s]
    } else {
        let s = (1.0 + r[2][2] - r[0][0] - r[1][1]).sqrt() * 2.0;
        [(r[1][0] - r[0][1]) / s, (r[0][2] + r[2][0]) / s, (r[1][2] + r[2][1]) / s, 0.25 * s]
    }
}

/// The 96-px Suzanne's training views written as a COLMAP reconstruction (poses from its transforms, OpenGL →
/// OpenCV; points on a sphere of radius 0.5 around (0.2, 0, 0)) loads as a dataset whose
/// cameras are the originals moved by the normalization, with the same pixels.
#[test]
fn a_colmap_folder_loads_as_a_normalized_dataset() {
    use meshcast_engine::dataset::{LoadOptions, load};

    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/suzanne-96");
    let original = load(&source, LoadOptions { max_side: 96 }).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("images")).unwrap();
    std::fs::create_dir_all(dir.path().join("sparse/0")).unwrap();
    // The training views only: test images reuse the same file names.
    let all = original.train.cameras.clone();
    let names = original.train.names.clone();
    let c0 = &all[0];
    let mut images_txt = String::new();
    for (i, (camera, name)) in all.iter().zip(&names).enumerate() {
        let file = Path::new(name).file_name().unwrap().to_string_lossy().into_owned();
        std::fs::copy(source.join("train").join(&file), dir.path().join("images").join(&file))
            .unwrap();
        let m = camera.world_from_camera;
        // OpenCV camera-to-world rotation: flip the y and z axes; then invert.
        let r_c2w = [0, 1, 2].map(|row| [m[row][0], -m[row][1], -m[row][2]]);
        let r = [0, 1, 2].map(|row| [0, 1, 2].map(|col| r_c2w[col][row]));
        let centre = [m[0][3], m[1][3], m[2][3]];
        let t = [0, 1, 2].map(|row| -(0..3).map(|k| r[row][k] * centre[k]).sum::<f64>());
        let q = quaternion(r);
        images_txt.push_str(&format!(
            "{} {} {} {} {} {} {} {} 1 {file}\n\n",
            i + 1,
            q[0],
            q[1],
            q[2],
            q[3],
            t[0],
            t[1],
            t[2]
        ));
    }
    std::fs::write(
        dir.path().join("sparse/0/cameras.txt"),
        format!(
            "1 PINHOLE 96 96 {} {} {} {}\n",
            c0.focal_px[0], c0.focal_px[1], c0.principal_px[0], c0.principal_px[1]
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("sparse/0/images.txt"), images_txt).unwrap();
    let points: String = (0..200)
        .map(|i| {
            let (a, b) = (i as f64 * 2.399, (i as f64 / 200.0) * std::f64::consts::PI);
            let p = [0.2 + 0.5 * b.sin() * a.cos(), 0.5 * b.sin() * a.sin(), 0.5 * b.cos()];
            format!("{} {} {} {} 128 128 128 0.5\n", i + 1, p[0], p[1], p[2])
        })
        .collect();
    std::fs::write(dir.path().join("sparse/0/points3D.txt"), points).unwrap();

    let loaded = load(dir.path(), LoadOptions { max_side: 96 }).unwrap();
    assert_eq!(loaded.train.len() + loaded.test.len(), all.len());
    let model = ColmapModel::read(&dir.path().join("sparse/0")).unwrap();
    let n = model.normalization();
    assert!((n.centre[0] - 0.2).abs() < 0.05 && n.centre[1].abs() < 0.05, "{n:?}");
    assert!((n.scale - 2.0).abs() < 0.2, "{n:?}: the 90th percentile radius is about 0.5");
    // Compared by name. 1e-5: the dataset's rotations are written with ~7 digits and are not
    // exactly orthonormal, while a quaternion always is.
    for (camera, name) in loaded.train.cameras.iter().zip(&loaded.train.names) {
        let file = Path::new(name).file_name().unwrap().to_string_lossy().into_owned();
        let k = names.iter().position(|n| Path::new(n).file_name() == Some(file.as_ref())).unwrap();
        let (ours, theirs) = (camera.world_from_camera, all[k].world_from_camera);
        for row in 0..3 {
            for col in 0..3 {
                assert!(
                    (ours[row][col] - theirs[row][col]).abs() < 1e-5,
                    "{file}: rotation {ours:?} vs {theirs:?}"
                );
            }
            let expected = n.scale * (theirs[row][3] - n.centre[row]);
            assert!((ours[row][3] - expected).abs() < 1e-5, "{file}: position");
        }
        assert_eq!((camera.focal_px, camera.size_px), (all[k].focal_px, all[k].size_px));
    }

    // An image name that climbs out of images/ is refused.
    std::fs::write(
        dir.path().join("sparse/0/images.txt"),
        "1 1 0 0 0 0 0 4 1 ../../secret.png\n\n",
    )
    .unwrap();
    let err = load(dir.path(), LoadOptions { max_side: 96 }).unwrap_err();
    assert!(err.to_string().contains("leaves the images folder"), "{err}");
}
