//! Temporary profiling harness for bake::unwrap (delete when done).
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::expect_used, dead_code)]

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use meshcast_engine::geometry::TriangleMesh;
use meshcast_engine::nvdiffrec::bake::{Unwrapped, bake, unwrap};
use meshcast_engine::nvdiffrec::material::MaterialField;
use tch::{Device, Kind, Tensor};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.windows(2).find(|w| w[0] == name).map(|w| w[1].clone())
}
fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

fn load(path: &str) -> (Vec<[f32; 3]>, Vec<u32>) {
    let bytes = std::fs::read(path).unwrap();
    let gltf = gltf::Gltf::from_slice(&bytes).unwrap();
    let blob = gltf.blob.clone().unwrap();
    let (mut pos, mut idx) = (Vec::new(), Vec::new());
    for mesh in gltf.meshes() {
        for prim in mesh.primitives() {
            let r = prim.reader(|_| Some(&blob[..]));
            let base = pos.len() as u32;
            pos.extend(r.read_positions().unwrap());
            idx.extend(r.read_indices().unwrap().into_u32().map(|i| i + base));
        }
    }
    // Weld by position.
    let mut map: HashMap<[u32; 3], u32> = HashMap::new();
    let mut wpos = Vec::new();
    let remap: Vec<u32> = pos
        .iter()
        .map(|p: &[f32; 3]| {
            *map.entry(p.map(f32::to_bits)).or_insert_with(|| {
                wpos.push(*p);
                (wpos.len() - 1) as u32
            })
        })
        .collect();
    println!("loaded {} verts -> welded {}, {} tris", pos.len(), wpos.len(), idx.len() / 3);
    (wpos, idx.iter().map(|&i| remap[i as usize]).collect())
}

fn stats(pos: &[[f32; 3]], idx: &[u32]) {
    let nf = idx.len() / 3;
    let mut edges: HashMap<(u32, u32), u32> = HashMap::new();
    let mut degenerate = 0;
    let mut slivers = 0;
    for t in idx.chunks_exact(3) {
        for k in 0..3 {
            let (a, b) = (t[k], t[(k + 1) % 3]);
            *edges.entry((a.min(b), a.max(b))).or_default() += 1;
        }
        let p = [0, 1, 2].map(|k| pos[t[k] as usize].map(f64::from));
        let e = |a: [f64; 3], b: [f64; 3]| [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
        let (u, v) = (e(p[0], p[1]), e(p[0], p[2]));
        let c = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
        let a2 = (c[0] * c[0] + c[1] * c[1] + c[2] * c[2]).sqrt();
        let l = |x: [f64; 3]| x[0] * x[0] + x[1] * x[1] + x[2] * x[2];
        let longest = l(u).max(l(v)).max(l(e(p[1], p[2])));
        if a2 == 0.0 {
            degenerate += 1;
        } else if a2 / longest < 0.05 {
            // min altitude / longest edge < 0.05
            slivers += 1;
        }
    }
    let boundary = edges.values().filter(|&&c| c == 1).count();
    let nonmanifold = edges.values().filter(|&&c| c > 2).count();
    // components (vertex-connected)
    let mut parent: Vec<u32> = (0..pos.len() as u32).collect();
    fn find(p: &mut [u32], mut x: u32) -> u32 {
        while p[x as usize] != x {
            p[x as usize] = p[p[x as usize] as usize];
            x = p[x as usize];
        }
        x
    }
    for t in idx.chunks_exact(3) {
        let a = find(&mut parent, t[0]);
        for &v in &t[1..] {
            let b = find(&mut parent, v);
            if a != b {
                parent[b as usize] = a;
            }
        }
    }
    let mut comp: HashMap<u32, usize> = HashMap::new();
    for t in idx.chunks_exact(3) {
        *comp.entry(find(&mut parent, t[0])).or_default() += 1;
    }
    let mut sizes: Vec<usize> = comp.values().copied().collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    let small = sizes.iter().filter(|&&s| s < 100).count();
    println!(
        "tris {nf}, edges {}, boundary edges {boundary}, non-manifold edges {nonmanifold}, \
         degenerate {degenerate}, slivers(alt/len<0.05) {slivers}",
        edges.len()
    );
    println!(
        "components {} (largest {:?}), components < 100 tris: {small}",
        sizes.len(),
        &sizes[..sizes.len().min(8)]
    );
}

/// One uvunwrap::generate call with stage timings.
fn timed_generate(input: &uvunwrap::MeshInput<'_>, options: &uvunwrap::Options) -> uvunwrap::Atlas {
    let start = Instant::now();
    let log: Mutex<Vec<(uvunwrap::Stage, f64, usize)>> = Mutex::new(Vec::new());
    let atlas = uvunwrap::generate_with_progress(std::slice::from_ref(input), options, |p| {
        let mut l = log.lock().unwrap();
        let t = start.elapsed().as_secs_f64();
        match l.last_mut() {
            Some(last) if last.0 == p.stage => {
                last.1 = t;
                last.2 = p.done;
            }
            _ => l.push((p.stage, t, p.done)),
        }
        true
    })
    .unwrap();
    let total = start.elapsed().as_secs_f64();
    let l = log.lock().unwrap();
    let mut prev = 0.0;
    let mut line = String::new();
    for (i, (stage, t, done)) in l.iter().enumerate() {
        // A stage ends when the next one's first report arrives.
        let end = l.get(i + 1).map_or(total, |n| n.1.min(total));
        let _ = t;
        line += &format!("{stage:?} {:.2}s (done {done}); ", end - prev);
        prev = end;
    }
    println!(
        "  generate {:.2}s: {line}charts {}, pages {}, {}x{}, density {:.1}, util {:.3}",
        total,
        atlas.chart_count,
        atlas.page_count,
        atlas.width,
        atlas.height,
        atlas.texels_per_unit,
        atlas.utilization
    );
    atlas
}

fn chart_hist(atlas: &uvunwrap::Atlas) {
    let mut faces: HashMap<u32, usize> = HashMap::new();
    let m = &atlas.meshes[0];
    for t in m.indices.chunks_exact(3) {
        if let Some(c) = m.vertices[t[0] as usize].chart {
            *faces.entry(c).or_default() += 1;
        }
    }
    let mut h = [0usize; 6];
    for &n in faces.values() {
        let b = match n {
            1 => 0,
            2..=4 => 1,
            5..=20 => 2,
            21..=100 => 3,
            101..=1000 => 4,
            _ => 5,
        };
        h[b] += 1;
    }
    println!(
        "  chart sizes (faces): 1:{} 2-4:{} 5-20:{} 21-100:{} 101-1000:{} >1000:{}",
        h[0], h[1], h[2], h[3], h[4], h[5]
    );
}

/// `positions` after `rounds` of uniform Laplacian smoothing (each vertex moved halfway to the
/// mean of its triangle neighbours).
fn smoothed_positions(positions: &[[f32; 3]], indices: &[u32], rounds: usize) -> Vec<[f32; 3]> {
    let n = positions.len();
    let mut start = vec![0usize; n + 1];
    for &v in indices {
        start[v as usize + 1] += 2;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut neighbours = vec![0u32; start[n]];
    for t in indices.chunks_exact(3) {
        for k in 0..3 {
            let v = t[k] as usize;
            neighbours[fill[v]] = t[(k + 1) % 3];
            neighbours[fill[v] + 1] = t[(k + 2) % 3];
            fill[v] += 2;
        }
    }
    let mut p: Vec<[f64; 3]> = positions.iter().map(|q| q.map(f64::from)).collect();
    let mut next = p.clone();
    for _ in 0..rounds {
        for v in 0..n {
            let ns = &neighbours[start[v]..start[v + 1]];
            if ns.is_empty() {
                continue;
            }
            let mut mean = [0.0; 3];
            for &u in ns {
                for c in 0..3 {
                    mean[c] += p[u as usize][c];
                }
            }
            let k = ns.len() as f64;
            next[v] = [0, 1, 2].map(|c| 0.5 * (p[v][c] + mean[c] / k));
        }
        std::mem::swap(&mut p, &mut next);
    }
    p.iter().map(|q| q.map(|x| x as f32)).collect()
}

/// The proposed bake::unwrap.
fn proposed_unwrap(
    mesh: &TriangleMesh,
    page_size: u32,
    rounds: usize,
    packing: uvunwrap::Packing,
    grow_once: bool,
) -> Unwrapped {
    let device = mesh.vertices.device();
    let positions = Vec::<f32>::try_from(
        mesh.vertices.detach().to_kind(Kind::Float).to_device(Device::Cpu).reshape([-1]),
    )
    .unwrap();
    let indices = Vec::<i64>::try_from(
        mesh.triangles.to_kind(Kind::Int64).to_device(Device::Cpu).reshape([-1]),
    )
    .unwrap();
    let indices: Vec<u32> = indices.iter().map(|&i| i as u32).collect();
    let positions: &[[f32; 3]] = positions.as_chunks::<3>().0;
    let t = Instant::now();
    let smoothed = smoothed_positions(positions, &indices, rounds);
    println!("  smoothing {rounds} rounds: {:.3}s", t.elapsed().as_secs_f64());
    let input = uvunwrap::MeshInput::new(&smoothed, &indices);
    let mut page = page_size;
    let atlas = loop {
        let options = uvunwrap::Options {
            density: uvunwrap::Density::Auto { page_size: page },
            packing,
            ..Default::default()
        };
        let t = Instant::now();
        let atlas = uvunwrap::generate(std::slice::from_ref(&input), &options).unwrap();
        println!(
            "  generate(page {page}): {:.2}s, charts {}, pages {}, {}x{}, density {:.1}, util {:.3}",
            t.elapsed().as_secs_f64(),
            atlas.chart_count,
            atlas.page_count,
            atlas.width,
            atlas.height,
            atlas.texels_per_unit,
            atlas.utilization
        );
        if atlas.page_count <= 1 {
            break atlas;
        }
        if grow_once {
            // One page that grows to fit, at the density the multi-page packing chose.
            let options = uvunwrap::Options {
                density: uvunwrap::Density::Fixed {
                    texels_per_unit: atlas.texels_per_unit,
                    page_size: None,
                },
                ..options
            };
            let t = Instant::now();
            let atlas = uvunwrap::generate(std::slice::from_ref(&input), &options).unwrap();
            println!(
                "  generate(fixed, growing page): {:.2}s, charts {}, pages {}, {}x{}, density {:.1}, util {:.3}",
                t.elapsed().as_secs_f64(),
                atlas.chart_count,
                atlas.page_count,
                atlas.width,
                atlas.height,
                atlas.texels_per_unit,
                atlas.utilization
            );
            break atlas;
        }
        assert!(page < 8192, "too many pages");
        page *= 2;
    };
    let out = &atlas.meshes[0];
    let uncharted =
        out.indices.chunks_exact(3).filter(|t| out.vertices[t[0] as usize].chart.is_none()).count();
    let zero_uv = out
        .indices
        .chunks_exact(3)
        .filter(|t| {
            let [a, b, c] = [0, 1, 2].map(|k| out.vertices[t[k] as usize].uv);
            ((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])) <= 0.0
        })
        .count();
    println!("  triangles without chart {uncharted}, with zero/negative UV area {zero_uv}");
    let source: Vec<i64> = out.vertices.iter().map(|v| i64::from(v.xref)).collect();
    let uvs: Vec<f32> = out.vertices.iter().flat_map(|v| v.uv).collect();
    let triangles: Vec<i32> = out.indices.iter().map(|&i| i as i32).collect();
    let source = Tensor::from_slice(&source).to_device(device);
    Unwrapped {
        positions: mesh.vertices.detach().index_select(0, &source),
        triangles: Tensor::from_slice(&triangles).reshape([-1, 3]).to_device(device),
        uvs: Tensor::from_slice(&uvs).reshape([-1, 2]).to_device(device),
        source,
        size: (i64::from(atlas.width), i64::from(atlas.height)),
    }
}

fn main() {
    let path =
        arg("--mesh").unwrap_or_else(|| "/tmp/gpu-results/run1-meshes/suzanne/mesh.glb".into());
    let (pos, idx) = load(&path);
    if flag("--stats") {
        stats(&pos, &idx);
    }
    let page: u32 = arg("--page").map_or(1024, |s| s.parse().unwrap());
    let device = if tch::Cuda::is_available() { Device::Cuda(0) } else { Device::Cpu };
    println!("device {device:?}, rayon threads {}", rayon::current_num_threads());
    let flat: Vec<f32> = pos.iter().flatten().copied().collect();
    let tris: Vec<i32> = idx.iter().map(|&i| i as i32).collect();
    let mesh = TriangleMesh {
        vertices: Tensor::from_slice(&flat).reshape([-1, 3]).to_device(device),
        triangles: Tensor::from_slice(&tris).reshape([-1, 3]).to_device(device),
    };
    let variant = arg("--variant").unwrap_or_else(|| "proposed".into());
    let t = Instant::now();
    let unwrapped = match variant.as_str() {
        "current" => unwrap(&mesh, page).unwrap(),
        "proposed" => proposed_unwrap(
            &mesh,
            page,
            arg("--rounds").map_or(10, |s| s.parse().unwrap()),
            if flag("--shape") { uvunwrap::Packing::Shape } else { uvunwrap::Packing::Fast },
            flag("--grow-once"),
        ),
        other => panic!("unknown variant {other}"),
    };
    let t_unwrap = t.elapsed().as_secs_f64();
    println!(
        "{variant} unwrap({page}): {t_unwrap:.2}s, atlas {:?}, {} split verts, {} tris",
        unwrapped.size,
        unwrapped.uvs.size()[0],
        unwrapped.triangles.size()[0]
    );
    if flag("--no-bake") {
        return;
    }
    let vs = tch::nn::VarStore::new(device);
    let field = MaterialField::new(&vs.root(), 1.2, 19).unwrap();
    for i in 0..2 {
        let t = Instant::now();
        let baked = bake(&unwrapped, &field, 4).unwrap();
        let _ = baked.kd.sum(Kind::Float).double_value(&[]); // sync
        println!("bake #{i}: {:.3}s, kd {:?}", t.elapsed().as_secs_f64(), baked.kd.size());
    }
    println!("unwrap + bake (second bake): {:.2}s", t.elapsed().as_secs_f64());
}
