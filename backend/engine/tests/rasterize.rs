//! Rasterize and interpolate: every device against a float64 reference, gradients against
//! central differences, CPU vs CUDA, bad input, degenerate geometry, and the camera convention
//! pinned by Suzanne's alpha masks.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

mod common;

use meshcast_engine::camera::{Camera, transform_points};
use meshcast_engine::ops::raster::{
    barycentrics, interpolate, rasterize, visibility, visibility_into,
};
use tch::{Device, Kind, Tensor};

/// A deterministic generator, so scenes are the same on every device.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }
}

/// `b` images of `t` random triangles in front of the camera (w > 0), some partly off screen.
fn random_scene(seed: u64, b: usize, t: usize) -> (Vec<[f64; 4]>, Vec<[i32; 3]>) {
    let mut rng = Lcg(seed);
    let mut verts = Vec::new();
    for _ in 0..b * 3 * t {
        let w = rng.range(0.6, 2.0);
        verts.push([
            rng.range(-1.2, 1.2) * w,
            rng.range(-1.2, 1.2) * w,
            rng.range(-0.95, 0.95) * w,
            w,
        ]);
    }
    let tris = (0..t as i32).map(|i| [3 * i, 3 * i + 1, 3 * i + 2]).collect();
    (verts, tris)
}

fn tensors(
    verts: &[[f64; 4]],
    tris: &[[i32; 3]],
    b: usize,
    device: Device,
    kind: Kind,
) -> (Tensor, Tensor) {
    let v = verts.len() / b;
    let pos = Tensor::from_slice(verts.as_flattened())
        .reshape([b as i64, v as i64, 4])
        .to_kind(kind)
        .to(device);
    let tris = Tensor::from_slice(tris.as_flattened()).reshape([-1, 3]).to(device);
    (pos, tris)
}

/// float64 reference by a different route: screen-space edge functions, perspective division.
/// Returns per pixel `Some((tri, [u, v, z/w]))`, or `None`; `ambiguous` marks pixels within
/// rounding of an edge, a depth tie or the clip planes, which are skipped in comparisons.
struct Reference {
    hits: Vec<Option<(usize, [f64; 3])>>,
    ambiguous: Vec<bool>,
}

fn reference(verts: &[[f64; 4]], tris: &[[i32; 3]], h: usize, w: usize) -> Reference {
    let eps = 1e-5;
    let mut hits = Vec::new();
    let mut ambiguous = Vec::new();
    for py in 0..h {
        for px in 0..w {
            let x = (2 * px + 1) as f64 / w as f64 - 1.0;
            let y = (2 * py + 1) as f64 / h as f64 - 1.0;
            let mut candidates: Vec<(f64, usize, [f64; 3])> = Vec::new();
            let mut unsure = false;
            for (t, tri) in tris.iter().enumerate() {
                let p = tri.map(|i| verts[i as usize]);
                let s = p.map(|v| [v[0] / v[3], v[1] / v[3], v[2] / v[3]]);
                let edge = |a: [f64; 3], b: [f64; 3]| {
                    (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0])
                };
                let full = (s[1][0] - s[0][0]) * (s[2][1] - s[0][1])
                    - (s[1][1] - s[0][1]) * (s[2][0] - s[0][0]);
                if full.abs() < 1e-12 {
                    continue;
                }
                let l = [edge(s[1], s[2]) / full, edge(s[2], s[0]) / full, edge(s[0], s[1]) / full];
                let min_l = l[0].min(l[1]).min(l[2]);
                if min_l.abs() < eps {
                    unsure = true;
                }
                if min_l < 0.0 {
                    continue;
                }
                let depth = l[0] * s[0][2] + l[1] * s[1][2] + l[2] * s[2][2];
                if (depth.abs() - 1.0).abs() < eps {
                    unsure = true;
                }
                if depth.abs() > 1.0 {
                    continue;
                }
                let q = [l[0] / p[0][3], l[1] / p[1][3], l[2] / p[2][3]];
                let sum = q[0] + q[1] + q[2];
                candidates.push((depth, t, [q[0] / sum, q[1] / sum, depth]));
            }
            candidates.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            if candidates.len() > 1 && candidates[1].0 - candidates[0].0 < eps {
                unsure = true;
            }
            hits.push(candidates.first().map(|c| (c.1, c.2)));
            ambiguous.push(unsure);
        }
    }
    Reference { hits, ambiguous }
}

#[test]
fn visibility_and_barycentrics_match_float64_reference() {
    let (b, t, h, w) = (2, 40, 48, 64);
    let (verts, tris) = random_scene(1, b, t);
    for device in common::test_devices() {
        let (pos, tris_t) = tensors(&verts, &tris, b, device, Kind::Float);
        let ids = Tensor::full([b as i64, h as i64, w as i64], -7, (Kind::Int, device));
        visibility_into(&pos, &tris_t, &ids).unwrap();
        assert_eq!(ids.eq(-7).sum(Kind::Int64).int64_value(&[]), 0, "{device:?}: unwritten pixels");
        let rast = rasterize(&pos, &tris_t, (h as i64, w as i64), false)
            .unwrap()
            .rast
            .to_device(Device::Cpu);
        let rast = Vec::<f32>::try_from(rast.reshape([-1])).unwrap();
        let (mut compared, mut covered) = (0, 0);
        for image in 0..b {
            let v = verts.len() / b;
            let reference = reference(&verts[image * v..(image + 1) * v], &tris, h, w);
            for (i, (hit, unsure)) in reference.hits.iter().zip(&reference.ambiguous).enumerate() {
                if *unsure {
                    continue;
                }
                compared += 1;
                let ours = &rast[(image * h * w + i) * 4..][..4];
                match hit {
                    None => assert_eq!(
                        ours[3], 0.0,
                        "{device:?} image {image} pixel {i}: expected background"
                    ),
                    Some((tri, [u, v, zw])) => {
                        covered += 1;
                        assert_eq!(
                            ours[3],
                            (*tri + 1) as f32,
                            "{device:?} image {image} pixel {i}: triangle"
                        );
                        for (got, want) in ours[..3].iter().zip([u, v, zw]) {
                            assert!(
                                (f64::from(*got) - want).abs() < 2e-4,
                                "{device:?} pixel {i}: {ours:?} vs {u} {v} {zw}"
                            );
                        }
                    }
                }
            }
        }
        assert!(compared > b * h * w * 9 / 10, "{device:?}: only {compared} unambiguous pixels");
        assert!(covered > b * h * w / 4, "{device:?}: scene too sparse ({covered} covered)");
    }
}

#[test]
fn cpu_and_cuda_agree_pixel_for_pixel() {
    let (verts, tris) = random_scene(2, 3, 500);
    let (pos, tris_t) = tensors(&verts, &tris, 3, Device::Cpu, Kind::Float);
    let cpu = rasterize(&pos, &tris_t, (121, 97), true).unwrap();
    for device in common::test_devices().into_iter().filter(|d| d.is_cuda()) {
        let gpu = rasterize(&pos.to(device), &tris_t.to(device), (121, 97), true).unwrap();
        let ids_gpu = gpu.rast.select(3, 3).to_device(Device::Cpu);
        let mismatched =
            ids_gpu.ne_tensor(&cpu.rast.select(3, 3)).sum(Kind::Int64).int64_value(&[]);
        assert_eq!(mismatched, 0, "{device:?}: triangle ids differ from the CPU");
        let diff = (gpu.rast.to_device(Device::Cpu) - &cpu.rast).abs().max().double_value(&[]);
        assert!(diff < 1e-4, "{device:?}: rast differs by {diff}"); // float32 tensor ops, CPU vs GPU rounding
        let diff = (gpu.rast_db.unwrap().to_device(Device::Cpu) - cpu.rast_db.as_ref().unwrap())
            .abs()
            .max()
            .double_value(&[]);
        assert!(diff < 1e-4, "{device:?}: rast_db differs by {diff}");
    }
}

/// Loss over rasterize + interpolate with fixed triangle ids, in float64.
fn loss(pos: &Tensor, attr: &Tensor, tris: &Tensor, ids: &Tensor, weights: &Tensor) -> Tensor {
    let (rast, _) = barycentrics(pos, tris, ids, false).unwrap();
    let colour = interpolate(attr, &rast, tris, None).unwrap().out;
    (rast.narrow(3, 0, 3) * weights.narrow(3, 0, 3)).sum(Kind::Double)
        + (colour * weights.narrow(3, 3, 2)).sum(Kind::Double)
}

#[test]
fn gradients_match_central_differences() {
    let (verts, tris) = random_scene(3, 1, 6);
    for device in common::test_devices() {
        let (pos, tris_t) = tensors(&verts, &tris, 1, device, Kind::Double);
        let ids = visibility(&pos, &tris_t, (20, 24)).unwrap();
        tch::manual_seed(5);
        let attr = Tensor::rand([verts.len() as i64, 2], (Kind::Double, device));
        let weights = Tensor::rand([1, 20, 24, 5], (Kind::Double, device));
        let pos_var = pos.detach().set_requires_grad(true);
        let attr_var = attr.detach().set_requires_grad(true);
        loss(&pos_var, &attr_var, &tris_t, &ids, &weights).backward();
        for (name, input, grad) in [("pos", &pos, pos_var.grad()), ("attr", &attr, attr_var.grad())]
        {
            let flat_grad =
                Vec::<f64>::try_from(grad.to_device(Device::Cpu).reshape([-1])).unwrap();
            let eps = 1e-6;
            for (i, analytic) in flat_grad.iter().copied().enumerate() {
                let bump = |delta: f64| {
                    let moved = input.reshape([-1]).copy();
                    let _ = moved.narrow(0, i as i64, 1).g_add_scalar_(delta);
                    let moved = moved.reshape(input.size());
                    let l = if name == "pos" {
                        loss(&moved, &attr, &tris_t, &ids, &weights)
                    } else {
                        loss(&pos, &moved, &tris_t, &ids, &weights)
                    };
                    l.double_value(&[])
                };
                let numeric = (bump(eps) - bump(-eps)) / (2.0 * eps);
                let tol = 1e-5 * (1.0 + numeric.abs());
                assert!(
                    (numeric - analytic).abs() < tol,
                    "{device:?} d/d{name}[{i}]: autograd {analytic} vs central difference {numeric}"
                );
            }
        }
    }
}

#[test]
fn screen_derivatives_match_neighbour_differences_on_affine_triangles() {
    // Equal w on all vertices: barycentrics are affine in screen space, so a one-pixel difference
    // equals the derivative exactly.
    let verts = vec![[-0.9, -0.8, 0.1, 1.0], [0.85, -0.6, 0.2, 1.0], [-0.2, 0.9, 0.3, 1.0]];
    let tris = vec![[0, 1, 2]];
    for device in common::test_devices() {
        let (pos, tris_t) = tensors(&verts, &tris, 1, device, Kind::Double);
        let out = rasterize(&pos, &tris_t, (32, 32), true).unwrap();
        let (rast, db) =
            (out.rast.to_device(Device::Cpu), out.rast_db.unwrap().to_device(Device::Cpu));
        let at = |t: &Tensor, y: i64, x: i64, c: i64| t.double_value(&[0, y, x, c]);
        let (y, x) = (14, 15);
        assert!(
            at(&rast, y, x, 3) > 0.0
                && at(&rast, y, x + 1, 3) > 0.0
                && at(&rast, y + 1, x, 3) > 0.0
        );
        let dudx = at(&rast, y, x + 1, 0) - at(&rast, y, x, 0);
        let dudy = at(&rast, y + 1, x, 0) - at(&rast, y, x, 0);
        let dvdx = at(&rast, y, x + 1, 1) - at(&rast, y, x, 1);
        let dvdy = at(&rast, y + 1, x, 1) - at(&rast, y, x, 1);
        for (c, want) in [dudx, dudy, dvdx, dvdy].into_iter().enumerate() {
            let got = at(&db, y, x, c as i64);
            assert!((got - want).abs() < 1e-9, "{device:?} channel {c}: {got} vs {want}");
        }
        // Attribute derivatives follow the chain rule: A = 0·u + 1·v + 4·(1 − u − v).
        let attr = Tensor::from_slice(&[0.0f64, 1.0, 4.0]).reshape([3, 1]).to(device);
        let db_device = db.to(device);
        let da = interpolate(&attr, &out.rast, &tris_t, Some(&db_device))
            .unwrap()
            .out_da
            .unwrap()
            .to_device(Device::Cpu);
        let want_dx = dvdx - 4.0 * (dudx + dvdx);
        let want_dy = dvdy - 4.0 * (dudy + dvdy);
        assert!((at(&da, y, x, 0) - want_dx).abs() < 1e-9, "{device:?}: dA/dx");
        assert!((at(&da, y, x, 1) - want_dy).abs() < 1e-9, "{device:?}: dA/dy");
    }
}

#[test]
fn bad_input_is_a_typed_error_naming_op_and_argument() {
    let (verts, tris) = random_scene(4, 1, 3);
    let (pos, tris_t) = tensors(&verts, &tris, 1, Device::Cpu, Kind::Float);
    let err = |r: Result<
        meshcast_engine::ops::raster::Rasterized,
        meshcast_engine::EngineError,
    >| r.unwrap_err().to_string();
    assert!(err(rasterize(&pos.to_kind(Kind::Int), &tris_t, (8, 8), false)).contains("`pos`"));
    assert!(err(rasterize(&pos.narrow(2, 0, 3), &tris_t, (8, 8), false)).contains("`pos`"));
    assert!(err(rasterize(&pos, &tris_t.to_kind(Kind::Int64), (8, 8), false)).contains("`tris`"));
    assert!(err(rasterize(&pos, &(&tris_t + 100), (8, 8), false)).contains("`tris`"));
    assert!(err(rasterize(&pos, &(&tris_t - 1), (8, 8), false)).contains("`tris`"));
    assert!(err(rasterize(&pos, &tris_t, (0, 8), false)).contains("`resolution`"));
    let rast = rasterize(&pos, &tris_t, (8, 8), false).unwrap().rast;
    let attr = Tensor::zeros([9, 2], (Kind::Float, Device::Cpu));
    let e = interpolate(&attr.narrow(0, 0, 4), &rast, &tris_t, None).unwrap_err().to_string();
    assert!(e.contains("interpolate") && e.contains("`tris`"), "{e}");
    let e = interpolate(&attr, &rast.narrow(3, 0, 3), &tris_t, None).unwrap_err().to_string();
    assert!(e.contains("`rast`"), "{e}");
    for device in common::test_devices().into_iter().filter(|d| d.is_cuda()) {
        let e = err(rasterize(&pos.to(device), &tris_t, (8, 8), false));
        assert!(e.contains("`tris`"), "{e}");
    }
}

#[test]
fn degenerate_geometry_has_defined_results() {
    let nan = f64::NAN;
    let verts = vec![
        // 0: NaN vertex → not drawn.
        [nan, 0.0, 0.0, 1.0],
        [0.5, 0.0, 0.0, 1.0],
        [0.0, 0.5, 0.0, 1.0],
        // 1: zero area → not drawn.
        [-0.5, -0.5, 0.0, 1.0],
        [0.5, 0.5, 0.0, 1.0],
        [0.0, 0.0, 0.0, 1.0],
        // 2: entirely behind the camera → not drawn.
        [-0.5, -0.5, 0.0, -1.0],
        [0.5, -0.5, 0.0, -1.0],
        [0.0, 0.5, 0.0, -1.0],
        // 3: crosses the camera plane → only points in front, no panic.
        [-0.5, -0.5, 0.0, 1.0],
        [0.5, -0.5, 0.0, 1.0],
        [0.0, 0.5, 0.0, -0.5],
    ];
    let tris: Vec<[i32; 3]> = (0..4).map(|i| [3 * i, 3 * i + 1, 3 * i + 2]).collect();
    for device in common::test_devices() {
        let (pos, tris_t) = tensors(&verts, &tris, 1, device, Kind::Float);
        let rast = rasterize(&pos, &tris_t, (40, 40), false).unwrap().rast.to_device(Device::Cpu);
        let ids = rast.select(3, 3);
        for tri in 1..=3 {
            assert_eq!(
                ids.eq(tri as f64).sum(Kind::Int64).int64_value(&[]),
                0,
                "{device:?}: triangle {} drawn",
                tri - 1
            );
        }
        let crossing = ids.eq(4.0);
        assert!(
            crossing.sum(Kind::Int64).int64_value(&[]) > 0,
            "{device:?}: crossing triangle vanished"
        );
        // Where drawn, barycentrics are a convex combination and the point is in front.
        let u = rast.select(3, 0).masked_select(&crossing);
        let v = rast.select(3, 1).masked_select(&crossing);
        let w_interp: Tensor = &u + &v - (-&u - &v + 1.0) * 0.5;
        assert_eq!(
            w_interp.le(0.0).sum(Kind::Int64).int64_value(&[]),
            0,
            "{device:?}: drew behind the camera"
        );
        assert_eq!(rast.isnan().sum(Kind::Int64).int64_value(&[]), 0, "{device:?}: NaN in output");
    }
}

/// Suzanne's ground-truth mesh through each test camera must cover the alpha mask.
#[test]
fn suzanne_silhouettes_match_alpha_masks() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/suzanne");
    let (models, _) = tobj::load_obj(root.join("gt_mesh.obj"), &tobj::GPU_LOAD_OPTIONS).unwrap();
    let mesh = &models[0].mesh;
    let points = Tensor::from_slice(&mesh.positions).reshape([-1, 3]).to_kind(Kind::Double);
    let tris: Vec<i32> = mesh.indices.iter().map(|&i| i as i32).collect();
    let transforms: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("transforms_test.json")).unwrap())
            .unwrap();
    let fov = transforms["camera_angle_x"].as_f64().unwrap();
    let mut clip = Vec::new();
    let mut masks = Vec::new();
    for frame in transforms["frames"].as_array().unwrap() {
        let m: Vec<Vec<f64>> = serde_json::from_value(frame["transform_matrix"].clone()).unwrap();
        let world_from_camera = [0, 1, 2, 3].map(|r| [0, 1, 2, 3].map(|c| m[r][c]));
        let camera = Camera::from_fov_x(world_from_camera, fov, 400, 400);
        clip.push(transform_points(&points, &camera.clip_from_world(0.1, 10.0).unwrap()).unwrap());
        let file = root.join(format!("{}.png", frame["file_path"].as_str().unwrap()));
        let alpha: Vec<u8> =
            image::open(file).unwrap().to_rgba8().pixels().map(|p| p.0[3]).collect();
        masks.push(Tensor::from_slice(&alpha).reshape([400, 400]).gt(127));
    }
    let pos = Tensor::stack(&clip, 0).to_kind(Kind::Float);
    let masks = Tensor::stack(&masks, 0);
    let tris = Tensor::from_slice(&tris).reshape([-1, 3]);
    for device in common::test_devices() {
        let rast = rasterize(&pos.to(device), &tris.to(device), (400, 400), false).unwrap().rast;
        // Rows are bottom-up; images are top-down.
        let covered = rast.select(3, 3).gt(0.0).flip([1]).to_device(Device::Cpu);
        for i in 0..masks.size()[0] {
            let (ours, truth) = (covered.get(i), masks.get(i));
            let inter = ours.logical_and(&truth).sum(Kind::Int64).int64_value(&[]) as f64;
            let union = ours.logical_or(&truth).sum(Kind::Int64).int64_value(&[]) as f64;
            let iou = inter / union;
            assert!(iou >= 0.98, "{device:?} frame {i}: IoU {iou:.4}");
        }
    }
}
