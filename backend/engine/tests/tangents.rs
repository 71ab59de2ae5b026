//! Tangent frames (glTF's TANGENT) and the change between world and tangent space, on CPU and
//! CUDA: hand-checked frames on a plane, mirrored UVs, and round trips on random frames.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

mod common;

use meshcast_engine::geometry::tangents::{tangent_to_world, vertex_tangents, world_to_tangent};
use tch::{Device, Kind, Tensor};

/// A 2×2-cell square in z = 0 facing +z, uvs from `uv_of(x, y)` with x, y in [0, 1].
fn plane(device: Device, uv_of: impl Fn(f32, f32) -> [f32; 2]) -> (Tensor, Tensor, Tensor) {
    let (mut positions, mut uvs) = (Vec::new(), Vec::new());
    for j in 0..3 {
        for i in 0..3 {
            let (x, y) = (i as f32 / 2.0, j as f32 / 2.0);
            positions.extend([x, y, 0.0]);
            uvs.extend(uv_of(x, y));
        }
    }
    let at = |i: i32, j: i32| j * 3 + i;
    let mut triangles = Vec::new();
    for j in 0..2 {
        for i in 0..2 {
            triangles.extend([at(i, j), at(i + 1, j), at(i + 1, j + 1)]);
            triangles.extend([at(i, j), at(i + 1, j + 1), at(i, j + 1)]);
        }
    }
    (
        Tensor::from_slice(&positions).reshape([-1, 3]).to_device(device),
        Tensor::from_slice(&uvs).reshape([-1, 2]).to_device(device),
        Tensor::from_slice(&triangles).reshape([-1, 3]).to_device(device),
    )
}

fn rows(t: &Tensor) -> Vec<Vec<f32>> {
    let n = t.size()[1];
    Vec::<f32>::try_from(t.to_device(Device::Cpu).reshape([-1]))
        .unwrap()
        .chunks(n as usize)
        .map(<[f32]>::to_vec)
        .collect()
}

#[test]
fn plane_frames_follow_u_and_the_top_of_the_image() {
    for device in common::test_devices() {
        let up = Tensor::from_slice(&[0.0f32, 0.0, 1.0]).to_device(device).repeat([9, 1]);
        // glTF uvs: u along +x, v = 0 at the top of the image, which is +y.
        let (p, uv, t) = plane(device, |x, y| [x, 1.0 - y]);
        for row in rows(&vertex_tangents(&p, &uv, &t, &up).unwrap()) {
            assert_eq!(row, [1.0, 0.0, 0.0, 1.0], "{device:?}");
        }
        // Mirrored in u: the tangent turns round and the bitangent keeps pointing up (w = −1).
        let (p, uv, t) = plane(device, |x, y| [1.0 - x, 1.0 - y]);
        for row in rows(&vertex_tangents(&p, &uv, &t, &up).unwrap()) {
            assert_eq!(row, [-1.0, 0.0, 0.0, -1.0], "{device:?}");
        }
        // Rotated by 90°: u along +y, the top of the image is −x.
        let (p, uv, t) = plane(device, |x, y| [y, x]);
        let frames = vertex_tangents(&p, &uv, &t, &up).unwrap();
        for row in rows(&frames) {
            assert_eq!(row, [0.0, 1.0, 0.0, 1.0], "{device:?}");
        }
        // The green channel then measures −x: a normal tilted towards −x reads (0, +, +).
        let tilted = Tensor::from_slice(&[-0.6f32, 0.0, 0.8]).to_device(device).repeat([9, 1]);
        for row in rows(&world_to_tangent(&tilted, &frames, &up).unwrap()) {
            assert!((row[0]).abs() < 1e-6 && (row[1] - 0.6).abs() < 1e-6, "{device:?}: {row:?}");
        }
        // No UV extent: any unit tangent orthogonal to the normal.
        let (p, _, t) = plane(device, |_, _| [0.5, 0.5]);
        let flat = Tensor::full([9, 2], 0.5, (Kind::Float, device));
        for row in rows(&vertex_tangents(&p, &flat, &t, &up).unwrap()) {
            let length = (row[0] * row[0] + row[1] * row[1] + row[2] * row[2]).sqrt();
            assert!((length - 1.0).abs() < 1e-6 && row[2].abs() < 1e-6, "{device:?}: {row:?}");
            assert_eq!(row[3], 1.0);
        }
    }
}

#[test]
fn world_and_tangent_space_round_trip() {
    for device in common::test_devices() {
        tch::manual_seed(5);
        let n = 1000;
        let unit = |t: Tensor| &t / t.norm_scalaropt_dim(2, [1i64].as_slice(), true);
        let normals = unit(Tensor::randn([n, 3], (Kind::Float, device)));
        // Tangents not quite orthogonal and w of both signs, as interpolation leaves them.
        let raw = Tensor::randn([n, 3], (Kind::Float, device));
        let w = Tensor::randn([n, 1], (Kind::Float, device)).sign();
        let tangents = Tensor::cat(&[raw, w], 1);
        let world = unit(Tensor::randn([n, 3], (Kind::Float, device)));
        let local = world_to_tangent(&world, &tangents, &normals).unwrap();
        let length = local.norm_scalaropt_dim(2, [1i64].as_slice(), false);
        assert!((length - 1.0).abs().max().double_value(&[]) < 1e-5, "{device:?}: not orthonormal");
        let back = tangent_to_world(&local, &tangents, &normals).unwrap();
        let err = (back - &world).abs().max().double_value(&[]);
        assert!(err < 1e-5, "{device:?}: round trip off by {err}");
    }
}
