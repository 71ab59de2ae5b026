//! `cargo bench -p meshcast-engine --bench raster`: forward + backward of rasterize + interpolate
//! (3 channels) + antialias on a closed sphere mesh covering about half of each image. Prints a Markdown table
//! (median of timed runs after warm-up) for bench/RESULTS.md, with nvdiffrast's H200 figures as
//! the baseline ratio where the workload matches; `-- --append FILE` also appends it to FILE
//! (bench/RESULTS.md) with the devices it ran on.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // a benchmark binary: panics are reports

use std::time::Instant;

use meshcast_engine::ops::raster::{Topology, antialias, interpolate, rasterize};
use tch::{Device, Kind, Tensor};

/// UV sphere with about `target_tris` triangles, radius 1, centred at the origin.
fn sphere(target_tris: usize) -> (Tensor, Tensor) {
    let n = ((target_tris / 2) as f64).sqrt().round() as i64;
    let (stacks, slices) = (n, n);
    let mut verts = Vec::new();
    for i in 0..=stacks {
        let theta = std::f64::consts::PI * i as f64 / stacks as f64;
        for j in 0..slices {
            let phi = std::f64::consts::TAU * j as f64 / slices as f64;
            verts.extend_from_slice(&[
                theta.sin() * phi.cos(),
                theta.cos(),
                theta.sin() * phi.sin(),
            ]);
        }
    }
    let mut tris = Vec::new();
    for i in 0..stacks {
        for j in 0..slices {
            let (a, b) = (i * slices + j, i * slices + (j + 1) % slices);
            let (c, d) = (a + slices, b + slices);
            tris.extend_from_slice(&[a as i32, c as i32, b as i32, b as i32, c as i32, d as i32]);
        }
    }
    (
        Tensor::from_slice(&verts).reshape([-1, 3]).to_kind(Kind::Float),
        Tensor::from_slice(&tris).reshape([-1, 3]),
    )
}

/// Clip-space positions of the sphere for `batch` cameras at distance 3.6 (the disc covers about half the image).
fn clip_positions(points: &Tensor, batch: i64) -> Tensor {
    let f = 1.0 / (0.5f64 * 0.6911).tan(); // NeRF-synthetic field of view
    let views: Vec<Tensor> = (0..batch)
        .map(|k| {
            let angle = k as f64 * 0.7;
            let (s, c) = angle.sin_cos();
            let x = points.select(1, 0) * c + points.select(1, 2) * s;
            let z = points.select(1, 0) * -s + points.select(1, 2) * c - 3.6;
            let y = points.select(1, 1);
            let (near, far) = (0.1, 10.0);
            let zc = &z * (-(far + near) / (far - near)) - 2.0 * far * near / (far - near);
            Tensor::stack(&[&x * f, &y * f, zc, -z], 1)
        })
        .collect();
    Tensor::stack(&views, 0)
}

fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

/// Median milliseconds of forward + backward.
fn time_case(
    device: Device,
    tris_target: usize,
    batch: i64,
    res: i64,
    runs: usize,
) -> (f64, f64, i64) {
    let (points, tris) = sphere(tris_target);
    let pos = clip_positions(&points, batch).to(device).set_requires_grad(true);
    let tris = tris.to(device);
    let colour = Tensor::rand([points.size()[0], 3], (Kind::Float, device)).set_requires_grad(true);
    let topology = Topology::new(&tris, device).unwrap();
    let step = || {
        let r = rasterize(&pos, &tris, (res, res), false).unwrap();
        let out = interpolate(&colour, &r.rast, &tris, None).unwrap().out;
        let out = antialias(&out, &r.rast, &pos, &tris, &topology).unwrap();
        out.sum(Kind::Float).backward();
        r.rast
    };
    let rast = step();
    let coverage =
        rast.select(3, 3).gt(0.0).to_kind(Kind::Float).mean(Kind::Float).double_value(&[]);
    for _ in 0..3 {
        let _ = step();
    }
    let mut times = Vec::new();
    for _ in 0..runs {
        sync(device);
        let start = Instant::now();
        let _ = step();
        sync(device);
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], coverage, tris.size()[0])
}

fn main() {
    // (device, triangles, batch, resolution, nvdiffrast H200 ms where measured, target ms)
    let mut cases: Vec<(Device, usize, i64, i64, Option<f64>, f64)> =
        vec![(Device::Cpu, 20_000, 1, 256, None, 50.0)];
    if tch::Cuda::is_available() {
        cases.extend([
            (Device::Cuda(0), 200_000, 8, 800, Some(2.31), 4.0),
            (Device::Cuda(0), 200_000, 8, 400, Some(2.02), 4.0),
            (Device::Cuda(0), 200_000, 1, 800, Some(1.36), 4.0),
        ]);
    }
    let devices: Vec<String> =
        meshcast_engine::probe_devices().iter().map(|d| d.name.clone()).collect();
    let mut report = format!(
        "Devices: {}.\n\n| device | triangles | batch × res | coverage | fwd+bwd median ms | target ms | nvdiffrast ms | ratio |\n|---|---|---|---|---|---|---|---|\n",
        devices.join(", ")
    );
    print!("{report}");
    for (device, tris, batch, res, baseline, target) in cases {
        let runs = if device.is_cuda() { 50 } else { 10 };
        let (ms, coverage, t) = time_case(device, tris, batch, res, runs);
        let ratio = baseline.map_or("—".to_owned(), |b| format!("{:.2}×", ms / b));
        let base = baseline.map_or("—".to_owned(), |b| format!("{b}"));
        let row = format!(
            "| {device:?} | {t} | {batch} × {res}² | {:.0}% | {ms:.2} | {target} | {base} | {ratio} |\n",
            coverage * 100.0
        );
        print!("{row}");
        report.push_str(&row);
    }
    // `cargo bench -p meshcast-engine --bench raster -- --append bench/RESULTS.md` records the run.
    let args: Vec<String> = std::env::args().collect();
    if let Some(path) = args.iter().position(|a| a == "--append").and_then(|i| args.get(i + 1)) {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new().append(true).create(true).open(path).unwrap();
        writeln!(file, "\n## raster benchmark run\n\n{report}").unwrap();
        println!("appended to {path}");
    }
}
