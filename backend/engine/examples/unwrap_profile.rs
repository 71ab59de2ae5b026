//! Temporary profiling harness for bake::unwrap (delete when done).
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use meshcast_engine::geometry::TriangleMesh;
use meshcast_engine::nvdiffrec::bake::unwrap;
use tch::Tensor;

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

fn main() {
    let path =
        arg("--mesh").unwrap_or_else(|| "/tmp/gpu-results/run1-meshes/suzanne/mesh.glb".into());
    let (pos, idx) = load(&path);
    stats(&pos, &idx);
    let page: u32 = arg("--page").map_or(1024, |s| s.parse().unwrap());
    let mode = arg("--mode").unwrap_or_else(|| "engine".into());
    let input = uvunwrap::MeshInput::new(&pos, &idx);
    match mode.as_str() {
        "engine" => {
            let flat: Vec<f32> = pos.iter().flatten().copied().collect();
            let tris: Vec<i32> = idx.iter().map(|&i| i as i32).collect();
            let mesh = TriangleMesh {
                vertices: Tensor::from_slice(&flat).reshape([-1, 3]),
                triangles: Tensor::from_slice(&tris).reshape([-1, 3]),
            };
            let t = Instant::now();
            let u = unwrap(&mesh, page).unwrap();
            println!(
                "engine unwrap({page}): {:.2}s, atlas {:?}, {} split verts",
                t.elapsed().as_secs_f64(),
                u.size,
                u.uvs.size()[0]
            );
        }
        "stages" => {
            // Same loop as bake::unwrap, with stage timings.
            let packing =
                if flag("--fast") { uvunwrap::Packing::Fast } else { uvunwrap::Packing::Shape };
            let mut p = page;
            loop {
                let options = uvunwrap::Options {
                    density: uvunwrap::Density::Auto { page_size: p },
                    packing,
                    ..Default::default()
                };
                println!("page {p}:");
                let atlas = timed_generate(&input, &options);
                if p == page {
                    chart_hist(&atlas);
                }
                if atlas.page_count <= 1 || p >= 8192 {
                    break;
                }
                p *= 2;
            }
        }
        other => panic!("unknown mode {other}"),
    }
}
