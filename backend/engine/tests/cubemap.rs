//! Cube maps: OpenGL face layout, continuity across seams, mip levels, gradients against central
//! differences, undefined directions.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

mod common;

use meshcast_engine::ops::cubemap::{CubeMipmaps, texture_cube};
use tch::{Device, Kind, Tensor};

/// OpenGL's face table, written out: direction through face coordinates (s, t) ∈ [0, 1]².
fn gl_direction(face: usize, s: f64, t: f64) -> [f64; 3] {
    let (a, b) = (2.0 * s - 1.0, 2.0 * t - 1.0);
    match face {
        0 => [1.0, -b, -a],
        1 => [-1.0, -b, a],
        2 => [a, 1.0, b],
        3 => [a, -1.0, -b],
        4 => [a, -b, 1.0],
        _ => [-a, -b, -1.0],
    }
}

/// A cube whose texel (face, row y, column x) holds face·1000 + x + 100·y.
fn index_cube(size: i64, device: Device) -> Tensor {
    let face = Tensor::arange(6, (Kind::Double, device)).reshape([6, 1, 1]) * 1000.0;
    let x = Tensor::arange(size, (Kind::Double, device)).reshape([1, 1, size]);
    let y = Tensor::arange(size, (Kind::Double, device)).reshape([1, size, 1]) * 100.0;
    (face + x + y).reshape([1, 6, size, size, 1])
}

fn sample(cube: &Tensor, dirs: &[[f64; 3]], lod: Option<f64>) -> Vec<f64> {
    let device = cube.device();
    let dir =
        Tensor::from_slice(dirs.as_flattened()).reshape([1, 1, dirs.len() as i64, 3]).to(device);
    let mips = CubeMipmaps::build(cube, 16).unwrap();
    let lod = lod.map(|l| Tensor::full([1, 1, dirs.len() as i64], l, (Kind::Double, device)));
    let out = texture_cube(&mips, &dir, lod.as_ref()).unwrap();
    Vec::<f64>::try_from(out.to_device(Device::Cpu).reshape([-1])).unwrap()
}

#[test]
fn faces_follow_the_opengl_layout() {
    let size = 8;
    for device in common::test_devices() {
        let cube = index_cube(size, device);
        let mut dirs = Vec::new();
        let mut want = Vec::new();
        for face in 0..6 {
            for (s, t) in [(0.3, 0.4), (0.71, 0.22), (0.5, 0.8)] {
                let d = gl_direction(face, s, t);
                // Scale must not matter.
                dirs.push(d.map(|c| c * 2.5));
                let (x, y) = (s * size as f64 - 0.5, t * size as f64 - 0.5);
                want.push(face as f64 * 1000.0 + x + 100.0 * y);
            }
        }
        for (got, want) in sample(&cube, &dirs, None).iter().zip(&want) {
            assert!((got - want).abs() < 1e-9, "{device:?}: {got} vs {want}");
        }
    }
}

#[test]
fn filtering_is_continuous_across_seams() {
    // Texels hold the x component of their unit direction: smooth on the sphere.
    let size = 16;
    for device in common::test_devices() {
        let mut values = Vec::new();
        for face in 0..6 {
            for y in 0..size {
                for x in 0..size {
                    let d = gl_direction(
                        face,
                        (x as f64 + 0.5) / size as f64,
                        (y as f64 + 0.5) / size as f64,
                    );
                    let n = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
                    values.push(d[0] / n);
                }
            }
        }
        let cube = Tensor::from_slice(&values).reshape([1, 6, size, size, 1]).to(device);
        // A great circle through the +x/+z edge, the +z/−x edge and the +y face's edges.
        let steps = 720;
        let path: Vec<[f64; 3]> = (0..steps)
            .map(|i| {
                let a = i as f64 / steps as f64 * std::f64::consts::TAU;
                [a.cos(), 0.37 * a.sin(), a.sin()]
            })
            .collect();
        let got = sample(&cube, &path, None);
        for (i, pair) in got.windows(2).enumerate() {
            assert!(
                (pair[1] - pair[0]).abs() < 0.03,
                "{device:?}: jump of {} at step {i}",
                pair[1] - pair[0]
            );
        }
        for (d, g) in path.iter().zip(&got) {
            let n = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
            assert!((g - d[0] / n).abs() < 0.03, "{device:?}: {g} vs {} at {d:?}", d[0] / n);
        }
    }
}

#[test]
fn mip_levels_average_each_face() {
    for device in common::test_devices() {
        let cube = index_cube(4, device);
        let mips = CubeMipmaps::build(&cube, 16).unwrap();
        assert_eq!(mips.len(), 3);
        // Level 2 is one texel per face: the face mean, 1000·face + 1.5 + 150.
        for face in 0..6 {
            let d = gl_direction(face, 0.5, 0.5);
            let got = sample(&cube, &[d], Some(2.0))[0];
            assert!(
                (got - (face as f64 * 1000.0 + 151.5)).abs() < 1e-9,
                "{device:?} face {face}: {got}"
            );
            // Halfway between levels 1 and 2 at the face centre: both give the mean there.
            let half = sample(&cube, &[d], Some(1.5))[0];
            assert!(
                (half - (face as f64 * 1000.0 + 151.5)).abs() < 1e-9,
                "{device:?} face {face}: {half}"
            );
        }
    }
}

#[test]
fn gradients_match_central_differences() {
    for device in common::test_devices() {
        tch::manual_seed(4);
        let cube = Tensor::rand([1, 6, 4, 4, 2], (Kind::Double, device));
        let dir = Tensor::randn([1, 2, 3, 3], (Kind::Double, device));
        let lod = Tensor::rand([1, 2, 3], (Kind::Double, device)) * 2.0;
        let weights = Tensor::rand([1, 2, 3, 2], (Kind::Double, device));
        let loss = |cube: &Tensor, dir: &Tensor| {
            let mips = CubeMipmaps::build(cube, 8).unwrap();
            (texture_cube(&mips, dir, Some(&lod)).unwrap() * &weights).sum(Kind::Double)
        };
        let vars = [cube.detach().set_requires_grad(true), dir.detach().set_requires_grad(true)];
        loss(&vars[0], &vars[1]).backward();
        for (which, name) in ["tex", "dir"].iter().enumerate() {
            let grad =
                Vec::<f64>::try_from(vars[which].grad().to_device(Device::Cpu).reshape([-1]))
                    .unwrap();
            for (i, analytic) in grad.iter().copied().enumerate() {
                let bump = |delta: f64| {
                    let mut inputs = [cube.copy(), dir.copy()];
                    let flat = inputs[which].reshape([-1]);
                    let _ = flat.narrow(0, i as i64, 1).g_add_scalar_(delta);
                    inputs[which] = flat.reshape(inputs[which].size());
                    loss(&inputs[0], &inputs[1]).double_value(&[])
                };
                let numeric = (bump(1e-6) - bump(-1e-6)) / 2e-6;
                assert!(
                    (numeric - analytic).abs() < 1e-5 * (1.0 + numeric.abs()),
                    "{device:?} d/d{name}[{i}]: {analytic} vs {numeric}"
                );
            }
        }
    }
}

#[test]
fn undefined_directions_sample_zero_and_bad_shapes_are_errors() {
    for device in common::test_devices() {
        let cube = Tensor::ones([1, 6, 4, 4, 3], (Kind::Float, device));
        let got = sample(
            &cube.to_kind(Kind::Double),
            &[[0.0, 0.0, 0.0], [f64::NAN, 1.0, 0.0], [f64::INFINITY, 0.0, 0.0], [0.0, 1.0, 0.0]],
            None,
        );
        assert_eq!(&got[..9], &[0.0; 9], "{device:?}: undefined directions must give zero");
        assert_eq!(&got[9..], &[1.0; 3], "{device:?}");
        let e = CubeMipmaps::build(&cube.narrow(3, 0, 2), 4).unwrap_err().to_string();
        assert!(e.contains("texture_cube") && e.contains("`tex`"), "{e}");
        let mips = CubeMipmaps::build(&cube, 4).unwrap();
        let e = texture_cube(&mips, &Tensor::zeros([1, 2, 2, 2], (Kind::Float, device)), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`dir`"), "{e}");
    }
}
