//! Antialias: box-filter coverage on analytic edges, silhouette gradients against central
//! differences, the opposite-vertex table, CPU vs CUDA.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

mod common;

use meshcast_engine::ops::raster::{
    Topology, antialias, barycentrics, interpolate, rasterize, visibility,
};
use tch::{Device, Kind, Tensor};

fn tensor_pos(verts: &[[f64; 4]], device: Device, kind: Kind) -> Tensor {
    Tensor::from_slice(verts.as_flattened()).reshape([1, -1, 4]).to_kind(kind).to(device)
}

fn tensor_tris(tris: &[[i32; 3]], device: Device) -> Tensor {
    Tensor::from_slice(tris.as_flattened()).reshape([-1, 3]).to(device)
}

/// A quad from x = −1.5 to `edge` (NDC), spanning the image vertically: its right edge is the only
/// visible silhouette. Returns the antialiased coverage image `[H, W]`.
fn quad_coverage(edge: f64, vertical_edge: bool, device: Device) -> Tensor {
    let corner = |a: f64, b: f64| if vertical_edge { [a, b, 0.0, 1.0] } else { [b, a, 0.0, 1.0] };
    let verts = [corner(-1.5, -1.5), corner(edge, -1.5), corner(edge, 1.5), corner(-1.5, 1.5)];
    let tris = [[0, 1, 2], [0, 2, 3]];
    let (pos, tris) = (tensor_pos(&verts, device, Kind::Float), tensor_tris(&tris, device));
    let rast = rasterize(&pos, &tris, (16, 20), false).unwrap().rast;
    let ones = Tensor::ones([4, 1], (Kind::Float, device));
    let color = interpolate(&ones, &rast, &tris, None).unwrap().out;
    let topology = Topology::new(&tris, device).unwrap();
    antialias(&color, &rast, &pos, &tris, &topology)
        .unwrap()
        .get(0)
        .select(2, 0)
        .to_device(Device::Cpu)
}

#[test]
fn edges_blend_by_box_filtered_coverage() {
    for device in common::test_devices() {
        for vertical in [true, false] {
            let size = if vertical { 20.0 } else { 16.0 };
            for edge_px in [10.3, 10.5, 10.8, 7.05] {
                let edge = edge_px / size * 2.0 - 1.0;
                let image = quad_coverage(edge, vertical, device);
                let line = if vertical { image.get(8) } else { image.select(1, 9) };
                let line = Vec::<f32>::try_from(line).unwrap();
                for (p, &got) in line.iter().enumerate() {
                    let want = (edge_px - p as f64).clamp(0.0, 1.0);
                    assert!(
                        (f64::from(got) - want).abs() < 1e-4,
                        "{device:?} vertical={vertical} edge {edge_px} px: pixel {p} = {got}, box filter {want}"
                    );
                }
            }
        }
    }
}

#[test]
fn interior_edges_of_a_closed_surface_are_not_blended() {
    // Two triangles of the same flat quad: the shared diagonal must not blend anything.
    for device in common::test_devices() {
        let verts = [
            [-0.8, -0.8, 0.0, 1.0],
            [0.8, -0.8, 0.0, 1.0],
            [0.8, 0.8, 0.0, 1.0],
            [-0.8, 0.8, 0.0, 1.0],
        ];
        let tris = tensor_tris(&[[0, 1, 2], [0, 2, 3]], device);
        let pos = tensor_pos(&verts, device, Kind::Float);
        let rast = rasterize(&pos, &tris, (24, 24), false).unwrap().rast;
        let color =
            Tensor::ones([1, 24, 24, 1], (Kind::Float, device)) * rast.select(3, 3).unsqueeze(3);
        let topology = Topology::new(&tris, device).unwrap();
        let out = antialias(&color, &rast, &pos, &tris, &topology).unwrap();
        // Inside the quad, ids 1 and 2 meet on the diagonal; colours 1 and 2 there stay untouched.
        let inside = out.narrow(1, 6, 12).narrow(2, 6, 12);
        let before = color.narrow(1, 6, 12).narrow(2, 6, 12);
        let diff = (inside - before).abs().max().double_value(&[]);
        assert!(diff < 1e-6, "{device:?}: interior edge blended by {diff}");
    }
}

#[test]
fn topology_finds_neighbours_and_open_edges() {
    // Tetrahedron: closed, every edge has a neighbour; plus one loose triangle.
    let tris = tensor_tris(&[[0, 1, 2], [0, 3, 1], [1, 3, 2], [2, 3, 0], [4, 5, 6]], Device::Cpu);
    let topology = Topology::new(&tris, Device::Cpu).unwrap();
    let opposite = Vec::<i64>::try_from(topology.opposite.reshape([-1])).unwrap();
    // Triangle 0's edge 0 is (1, 2), shared with triangle 2 (1, 3, 2), whose third vertex is 3.
    assert_eq!(&opposite[0..3], &[3, 3, 3]);
    assert_eq!(&opposite[12..15], &[4, 5, 6], "open edges point at the triangle's own vertex");
}

/// The table by a hash map over undirected edges, pairing the first two triangles of each.
fn reference_opposite(tris: &[[i32; 3]]) -> Vec<i64> {
    use std::collections::HashMap;
    let mut seen: HashMap<(i32, i32), Vec<(usize, usize)>> = HashMap::new();
    for (f, t) in tris.iter().enumerate() {
        if t[0] == t[1] || t[1] == t[2] || t[2] == t[0] {
            continue;
        }
        for i in 0..3 {
            let (a, b) = (t[(i + 1) % 3], t[(i + 2) % 3]);
            seen.entry((a.min(b), a.max(b))).or_default().push((f, i));
        }
    }
    let mut out: Vec<i64> = tris.iter().flat_map(|t| t.map(i64::from)).collect();
    for slots in seen.values() {
        if let [(f0, i0), (f1, i1), ..] = slots[..] {
            out[f0 * 3 + i0] = i64::from(tris[f1][i1]);
            out[f1 * 3 + i1] = i64::from(tris[f0][i0]);
        }
    }
    out
}

#[test]
fn topology_matches_a_hash_map_reference_on_every_device() {
    // A closed grid surface (torus), plus a non-manifold fin, a degenerate and a loose triangle.
    let n = 12;
    let id = |i: i32, j: i32| (i.rem_euclid(n)) * n + j.rem_euclid(n);
    let mut tris = Vec::new();
    for i in 0..n {
        for j in 0..n {
            tris.push([id(i, j), id(i + 1, j), id(i, j + 1)]);
            tris.push([id(i + 1, j), id(i + 1, j + 1), id(i, j + 1)]);
        }
    }
    let extra = n * n;
    tris.extend([
        [id(0, 0), id(1, 0), extra],
        [extra, extra, 1],
        [extra + 1, extra + 2, extra + 3],
    ]);
    let expected = reference_opposite(&tris);
    for device in common::test_devices() {
        let topology = Topology::new(&tensor_tris(&tris, device), device).unwrap();
        let got =
            Vec::<i64>::try_from(topology.opposite.to_device(Device::Cpu).reshape([-1])).unwrap();
        assert_eq!(got, expected, "{device:?}");
    }
}

/// float64 loss through rasterize (fixed ids) + interpolate + antialias.
fn loss(
    pos: &Tensor,
    tris: &Tensor,
    ids: &Tensor,
    topology: &Topology,
    attr: &Tensor,
    weights: &Tensor,
) -> Tensor {
    let (rast, _) = barycentrics(pos, tris, ids, false).unwrap();
    let color = interpolate(attr, &rast, tris, None).unwrap().out;
    (antialias(&color, &rast, pos, tris, topology).unwrap() * weights).sum(Kind::Double)
}

#[test]
fn silhouette_gradients_match_central_differences() {
    let verts = [
        [-0.61, -0.52, 0.1, 1.0],
        [0.57, -0.33, 0.2, 1.3],
        [0.05, 0.66, -0.1, 0.9],
        [0.9, 0.8, 0.5, 1.1],
    ];
    let tris_host = [[0, 1, 2], [1, 3, 2]];
    for device in common::test_devices() {
        let pos = tensor_pos(&verts, device, Kind::Double);
        let tris = tensor_tris(&tris_host, device);
        let ids = visibility(&pos, &tris, (18, 22)).unwrap();
        let topology = Topology::new(&tris, device).unwrap();
        // Constant colour: interpolation passes no position gradient, so all of it is silhouette.
        let attr = Tensor::ones([4, 2], (Kind::Double, device));
        tch::manual_seed(3);
        let weights = Tensor::rand([1, 18, 22, 2], (Kind::Double, device));
        let var = pos.detach().set_requires_grad(true);
        loss(&var, &tris, &ids, &topology, &attr, &weights).backward();
        let grad = Vec::<f64>::try_from(var.grad().to_device(Device::Cpu).reshape([-1])).unwrap();
        assert!(
            grad.iter().map(|g| g.abs()).sum::<f64>() > 1e-3,
            "{device:?}: no silhouette gradient"
        );
        let eps = 1e-6;
        for (i, analytic) in grad.iter().copied().enumerate() {
            let bump = |delta: f64| {
                let moved = pos.reshape([-1]).copy();
                let _ = moved.narrow(0, i as i64, 1).g_add_scalar_(delta);
                loss(&moved.reshape(pos.size()), &tris, &ids, &topology, &attr, &weights)
                    .double_value(&[])
            };
            let numeric = (bump(eps) - bump(-eps)) / (2.0 * eps);
            assert!(
                (numeric - analytic).abs() < 1e-5 * (1.0 + numeric.abs()),
                "{device:?} d/dpos[{i}]: {analytic} vs {numeric}"
            );
        }
    }
}

#[test]
fn cpu_and_cuda_agree() {
    let mut verts = Vec::new();
    let mut tris = Vec::new();
    for i in 0..60 {
        let t = i as f64;
        let (cx, cy) = ((t * 0.37).sin() * 0.8, (t * 0.61).cos() * 0.8);
        let base = verts.len() as i32;
        verts.extend([
            [cx - 0.2, cy - 0.15, (t * 0.1).sin() * 0.5, 1.0],
            [cx + 0.21, cy - 0.1, 0.1, 1.0],
            [cx, cy + 0.23, -0.2, 1.0],
        ]);
        tris.push([base, base + 1, base + 2]);
    }
    let pos = tensor_pos(&verts, Device::Cpu, Kind::Float);
    let tris = tensor_tris(&tris, Device::Cpu);
    let attr = Tensor::rand([verts.len() as i64, 3], (Kind::Float, Device::Cpu));
    let run = |device: Device| {
        let (pos, tris, attr) = (pos.to(device), tris.to(device), attr.to(device));
        let rast = rasterize(&pos, &tris, (64, 80), false).unwrap().rast;
        let color = interpolate(&attr, &rast, &tris, None).unwrap().out;
        let topology = Topology::new(&tris, device).unwrap();
        antialias(&color, &rast, &pos, &tris, &topology).unwrap().to_device(Device::Cpu)
    };
    let cpu = run(Device::Cpu);
    for device in common::test_devices().into_iter().filter(|d| d.is_cuda()) {
        let diff = (run(device) - &cpu).abs().max().double_value(&[]);
        assert!(diff < 1e-4, "{device:?}: differs from the CPU by {diff}");
    }
}

#[test]
fn bad_input_names_the_argument() {
    let pos = tensor_pos(
        &[[0.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 1.0]],
        Device::Cpu,
        Kind::Float,
    );
    let tris = tensor_tris(&[[0, 1, 2]], Device::Cpu);
    let rast = rasterize(&pos, &tris, (8, 8), false).unwrap().rast;
    let color = Tensor::zeros([1, 8, 8, 3], (Kind::Float, Device::Cpu));
    let topology = Topology::new(&tris, Device::Cpu).unwrap();
    let e =
        antialias(&color.narrow(1, 0, 4), &rast, &pos, &tris, &topology).unwrap_err().to_string();
    assert!(e.contains("antialias") && e.contains("`rast`"), "{e}");
    let other =
        Topology::new(&tensor_tris(&[[0, 1, 2], [0, 2, 1]], Device::Cpu), Device::Cpu).unwrap();
    let e = antialias(&color, &rast, &pos, &tris, &other).unwrap_err().to_string();
    assert!(e.contains("`topology`"), "{e}");
}
