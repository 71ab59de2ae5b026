//! Tet grid and marching tetrahedra: a conforming, positively oriented grid; a sphere's SDF gives
//! a closed, outward-facing genus-0 mesh close to the sphere; surface positions are
//! differentiable in the SDF (checked against central differences).

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

mod common;

use std::collections::HashMap;

use meshcast_engine::geometry::tet_grid::signed_volumes;
use meshcast_engine::geometry::{TetGrid, marching_tets, vertex_normals};
use tch::{Device, Kind, Tensor};

#[test]
fn grid_is_conforming_and_positively_oriented() {
    for device in common::test_devices() {
        let grid = TetGrid::new(4, 1.0, device).unwrap();
        assert_eq!(grid.num_vertices(), 125);
        assert_eq!(grid.tets.size(), [4 * 4 * 4 * 6, 4]);
        let volumes = signed_volumes(&grid.vertices, &grid.tets).unwrap();
        let cell = 0.5f64.powi(3);
        // 6 × volume = cell / 1 per tetrahedron (a cell is 6 tets of volume cell/6).
        let (lo, hi) = (volumes.min().double_value(&[]), volumes.max().double_value(&[]));
        assert!((lo - cell).abs() < 1e-6 && (hi - cell).abs() < 1e-6, "{device:?}: {lo}..{hi}");
        // Conforming: every interior triangle is shared by exactly two tetrahedra.
        let tets = Vec::<i64>::try_from(grid.tets.to_device(Device::Cpu).reshape([-1])).unwrap();
        let mut faces: HashMap<[i64; 3], usize> = HashMap::new();
        for t in tets.chunks_exact(4) {
            for skip in 0..4 {
                let mut f: Vec<i64> = (0..4).filter(|&i| i != skip).map(|i| t[i]).collect();
                f.sort_unstable();
                *faces.entry([f[0], f[1], f[2]]).or_default() += 1;
            }
        }
        assert!(faces.values().all(|&n| n <= 2));
        // Boundary faces: 6 sides × 16 cells × 2 triangles.
        assert_eq!(faces.values().filter(|&&n| n == 1).count(), 6 * 16 * 2);
        // Edges: unique, and the tet → edge table points at matching pairs.
        let edges = grid.edges.to_device(Device::Cpu);
        let te = grid.tet_edges.to_device(Device::Cpu);
        let from_table = edges.index_select(0, &te.select(1, 5));
        let direct =
            grid.tets.to_device(Device::Cpu).index_select(1, &Tensor::from_slice(&[2i64, 3]));
        let sorted = direct.sort(1, false).0;
        assert!(from_table.equal(&sorted), "{device:?}: edge 5 is (2, 3)");
    }
}

fn sphere_sdf(grid: &TetGrid, radius: f64) -> Tensor {
    grid.vertices.norm_scalaropt_dim(2, [1i64].as_slice(), false) - radius
}

#[test]
fn sphere_is_closed_outward_and_accurate() {
    for device in common::test_devices() {
        let grid = TetGrid::new(24, 1.0, device).unwrap();
        let radius = 0.7;
        let mesh = marching_tets(&grid, &grid.vertices, &sphere_sdf(&grid, radius)).unwrap();
        let v = mesh.vertices.to_device(Device::Cpu).to_kind(Kind::Double);
        let f = mesh.triangles.to_device(Device::Cpu);
        let (nv, nf) = (v.size()[0], f.size()[0]);
        assert!(nf > 1000, "{device:?}: {nf} triangles");
        // Closed 2-manifold: every directed edge appears once and its reverse once.
        let tris = Vec::<i32>::try_from(f.reshape([-1])).unwrap();
        let mut directed: HashMap<(i32, i32), usize> = HashMap::new();
        for t in tris.chunks_exact(3) {
            for k in 0..3 {
                *directed.entry((t[k], t[(k + 1) % 3])).or_default() += 1;
            }
        }
        for (&(a, b), &n) in &directed {
            assert_eq!(n, 1, "{device:?}: edge {a}→{b} used {n} times");
            assert_eq!(directed.get(&(b, a)), Some(&1), "{device:?}: edge {a}→{b} has no twin");
        }
        let edges = directed.len() as i64 / 2;
        assert_eq!(nv - edges + nf, 2, "{device:?}: Euler characteristic of a sphere");
        // On the sphere up to the linear interpolation error (≪ cell size 1/12).
        let r = v.norm_scalaropt_dim(2, [1i64].as_slice(), false);
        let err = (r - radius).abs().max().double_value(&[]);
        assert!(err < 0.01, "{device:?}: radius off by {err}");
        // Outward: normals agree with the position direction; area ≈ 4πr².
        let t = f.to_kind(Kind::Int64);
        let c = |i: i64| v.index_select(0, &t.select(1, i));
        let cross = (c(1) - c(0)).linalg_cross(&(c(2) - c(0)), -1);
        let centre = (c(0) + c(1) + c(2)) / 3.0;
        let outward = (&cross * centre).sum_dim_intlist([1i64].as_slice(), false, Kind::Double);
        assert!(outward.min().double_value(&[]) > 0.0, "{device:?}: inward triangle");
        let area = cross
            .norm_scalaropt_dim(2, [1i64].as_slice(), false)
            .sum(Kind::Double)
            .double_value(&[])
            / 2.0;
        let exact = 4.0 * std::f64::consts::PI * radius * radius;
        assert!((area / exact - 1.0).abs() < 0.02, "{device:?}: area {area} vs {exact}");
        // Vertex normals of a sphere point radially.
        let normals = vertex_normals(&v, &f).unwrap();
        let radial = &v / v.norm_scalaropt_dim(2, [1i64].as_slice(), true);
        let cos = (normals * radial).sum_dim_intlist([1i64].as_slice(), false, Kind::Double);
        assert!(cos.min().double_value(&[]) > 0.97, "{device:?}: normals");
    }
}

#[test]
fn positions_are_differentiable_in_sdf() {
    for device in common::test_devices() {
        let grid = TetGrid::new(3, 1.0, device).unwrap();
        let vertices = grid.vertices.to_kind(Kind::Double);
        let base = sphere_sdf(&grid, 0.8).to_kind(Kind::Double);
        tch::manual_seed(1);
        let sdf = (&base + Tensor::rand_like(&base) * 0.05).detach();
        let mesh = marching_tets(&grid, &vertices, &sdf).unwrap();
        let weights = Tensor::rand_like(&mesh.vertices);
        let var = sdf.set_requires_grad(true);
        let loss = |s: &Tensor| {
            (marching_tets(&grid, &vertices, s).unwrap().vertices * &weights).sum(Kind::Double)
        };
        loss(&var).backward();
        let grad = Vec::<f64>::try_from(var.grad().to_device(Device::Cpu)).unwrap();
        assert!(grad.iter().any(|g| g.abs() > 1e-3), "{device:?}: no gradient");
        let eps = 1e-7;
        for (i, analytic) in grad.iter().enumerate() {
            let bump = |d: f64| {
                let moved = sdf.detach().copy();
                let _ = moved.narrow(0, i as i64, 1).g_add_scalar_(d);
                loss(&moved).double_value(&[])
            };
            let numeric = (bump(eps) - bump(-eps)) / (2.0 * eps);
            assert!(
                (numeric - analytic).abs() < 1e-5 * (1.0 + numeric.abs()),
                "{device:?} sdf[{i}]: {analytic} vs {numeric}"
            );
        }
    }
}

#[test]
fn empty_and_full_fields_give_empty_meshes_and_bad_shapes_fail() {
    let grid = TetGrid::new(4, 1.0, Device::Cpu).unwrap();
    for value in [1.0, -1.0] {
        let sdf = Tensor::full([grid.num_vertices()], value, (Kind::Float, Device::Cpu));
        let mesh = marching_tets(&grid, &grid.vertices, &sdf).unwrap();
        assert_eq!(mesh.triangles.size(), [0, 3]);
    }
    let error =
        marching_tets(&grid, &grid.vertices, &Tensor::zeros([7], (Kind::Float, Device::Cpu)))
            .unwrap_err();
    assert!(error.to_string().contains("marching_tets"), "{error}");
    assert!(TetGrid::new(0, 1.0, Device::Cpu).is_err());
}

#[test]
fn chamfer_and_area_of_nested_spheres() {
    use meshcast_engine::geometry::chamfer::{chamfer_l1, surface_area};
    let grid = TetGrid::new(32, 1.0, Device::Cpu).unwrap();
    let sphere = |r: f64| marching_tets(&grid, &grid.vertices, &sphere_sdf(&grid, r)).unwrap();
    let (a, b) = (sphere(0.5), sphere(0.6));
    let area = surface_area(&a.vertices, &a.triangles).unwrap();
    assert!((area / (std::f64::consts::PI * 4.0 * 0.25) - 1.0).abs() < 0.02, "{area}");
    tch::manual_seed(0);
    let d = chamfer_l1((&a.vertices, &a.triangles), (&b.vertices, &b.triangles), 4000, Device::Cpu)
        .unwrap();
    assert!((d - 0.1).abs() < 0.01, "nested spheres 0.1 apart: {d}");
    let same =
        chamfer_l1((&a.vertices, &a.triangles), (&a.vertices, &a.triangles), 4000, Device::Cpu)
            .unwrap();
    assert!(same < 0.02, "a surface against itself: {same}");
}

/// A known similarity (scale 2.5, a rotation about z, a shift) is recovered
/// from noiseless points to 1e-9; a mirrored copy still gets a proper rotation; coincident
/// points are refused.
#[test]
fn similarity_fit_recovers_a_known_transform() {
    use meshcast_engine::geometry::similarity::Similarity;
    tch::manual_seed(2);
    let points = Tensor::randn([50, 3], (Kind::Double, Device::Cpu));
    let (c, s) = (0.6f64.cos(), 0.6f64.sin());
    let truth = Similarity {
        scale: 2.5,
        rotation: [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]],
        translation: [1.0, -2.0, 0.5],
    };
    let moved = truth.apply(&points);
    let fit = Similarity::fit(&points, &moved).unwrap();
    assert!((fit.scale - 2.5).abs() < 1e-9, "{}", fit.scale);
    for r in 0..3 {
        assert!((fit.translation[r] - truth.translation[r]).abs() < 1e-9);
        for k in 0..3 {
            assert!((fit.rotation[r][k] - truth.rotation[r][k]).abs() < 1e-9);
        }
    }
    let mirrored = &moved * Tensor::from_slice(&[1.0, 1.0, -1.0]);
    let fit = Similarity::fit(&points, &mirrored).unwrap();
    let r = Tensor::from_slice(&fit.rotation.concat()).reshape([3, 3]);
    assert!((r.det().double_value(&[]) - 1.0).abs() < 1e-9, "not a proper rotation");
    let line = Tensor::from_slice(&[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]).reshape([3, 3]);
    assert!(Similarity::fit(&line, &line).is_none());
}
