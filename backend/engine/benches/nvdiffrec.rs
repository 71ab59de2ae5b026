//! `cargo bench -p meshcast-engine --bench nvdiffrec -- --dataset DIR [--dataset DIR …]
//! [--preset default] [--iters N] [--set KEY=JSON …] [--device cuda:0|cpu] [--out DIR]
//! [--slices DIR] [--truth FILE] [--append FILE]`
//!
//! Runs both passes on each dataset and reports what the issue measures: seconds per iteration
//! and time of each stage, peak GPU memory in use (device-wide, sampled every 20 ms), test-view
//! PSNR (after pass 1 and of the final textured mesh) and mask IoU, Chamfer-L1 to the dataset's
//! `gt_mesh.obj` (100k samples each) and the surface-area ratio.
//! Prints a Markdown table; `--append FILE` adds it to FILE with the device names. `--out DIR`
//! writes each scene's meshes; `--slices DIR` a small PNG of cross-sections through ours (red)
//! and the ground truth (black), for seeing where extra or missing surface lies. `--truth FILE`
//! (a transforms JSON with the true poses, e.g. `cargo xtask photos`' `truth.json`) is for a
//! dataset whose poses COLMAP computed: the mesh is first moved into the true frame by the
//! similarity that best maps the views' camera centres onto the true ones.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::expect_used)] // a benchmark binary: panics are reports

#[path = "common/memory.rs"]
mod memory;
#[path = "common/slice.rs"]
mod slice;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use meshcast_engine::dataset::{Dataset, LoadOptions, load};
use meshcast_engine::geometry::chamfer::{nearest_distances, sample_surface, surface_area};
use meshcast_engine::geometry::similarity::Similarity;
use meshcast_engine::nvdiffrec::bake::{bake, unwrap};
use meshcast_engine::nvdiffrec::{
    Config, Preset, Silent, run_pass1, run_pass2, textured_mesh, write_meshes,
};
use tch::{Device, Kind, Tensor};

fn arg_values(name: &str) -> Vec<String> {
    let args: Vec<String> = std::env::args().collect();
    args.windows(2).filter(|w| w[0] == name).map(|w| w[1].clone()).collect()
}

fn load_obj(path: &std::path::Path) -> (Tensor, Tensor) {
    let (models, _) = tobj::load_obj(
        path,
        &tobj::LoadOptions { triangulate: true, single_index: true, ..Default::default() },
    )
    .unwrap();
    let (mut verts, mut tris) = (Vec::new(), Vec::new());
    for m in models {
        let base = (verts.len() / 3) as i64;
        verts.extend(m.mesh.positions.iter().map(|&v| f64::from(v)));
        tris.extend(m.mesh.indices.iter().map(|&i| i64::from(i) + base));
    }
    (Tensor::from_slice(&verts).reshape([-1, 3]), Tensor::from_slice(&tris).reshape([-1, 3]))
}

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The similarity from the dataset's frame to the true one, fitted on the camera centres of the
/// views `truth` (a transforms JSON) also has. COLMAP's inputs are named `NNNN_<stem>.png`
/// after the photo `<stem>.<ext>`; views match by stem.
fn align_to_truth(dataset: &Dataset, truth: &std::path::Path) -> BenchResult<Similarity> {
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(truth)?)?;
    let stem = |name: &str| {
        let file = std::path::Path::new(name)
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        match file.split_once('_') {
            Some((index, rest)) if index.chars().all(|c| c.is_ascii_digit()) => rest.to_owned(),
            _ => file,
        }
    };
    let centres: std::collections::HashMap<String, [f64; 3]> = json["frames"]
        .as_array()
        .ok_or("truth has no frames")?
        .iter()
        .filter_map(|f| {
            let m = &f["transform_matrix"];
            let c = [0, 1, 2].map(|r| m[r][3].as_f64().unwrap_or(f64::NAN));
            Some((stem(f["file_path"].as_str()?), c))
        })
        .collect();
    let (mut ours, mut theirs) = (Vec::<f64>::new(), Vec::<f64>::new());
    for views in [&dataset.train, &dataset.test] {
        for (name, camera) in views.names.iter().zip(&views.cameras) {
            if let Some(c) = centres.get(&stem(name)) {
                let w = camera.world_from_camera;
                ours.extend([w[0][3], w[1][3], w[2][3]]);
                theirs.extend(*c);
            }
        }
    }
    let (ours, theirs) =
        (Tensor::from_slice(&ours).reshape([-1, 3]), Tensor::from_slice(&theirs).reshape([-1, 3]));
    let fit = Similarity::fit(&ours, &theirs).ok_or("too few views to align with the truth")?;
    let residual =
        (fit.apply(&ours) - &theirs).square().sum_dim_intlist(1, false, Kind::Double).sqrt();
    eprintln!(
        "aligned {} cameras to the truth: scale {:.4}, camera-centre error mean {:.4}, max {:.4}",
        ours.size()[0],
        fit.scale,
        residual.mean(Kind::Double).double_value(&[]),
        residual.max().double_value(&[])
    );
    Ok(fit)
}

/// Both passes on one dataset; the table row, with stage lines on stderr as they finish.
fn scene(dir: &std::path::Path, config: &Config, device: Device) -> BenchResult<String> {
    let name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let dataset = load(dir, LoadOptions { max_side: config.image_size })?;
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = memory::sampler(device, stop.clone(), 20);
    let started = Instant::now();
    let pass = run_pass1(&dataset, config, device, &mut Silent, &AtomicBool::new(false), None)?;
    eprintln!("{name}: pass 1 {:.1} s, {:?}, {:?}", pass.seconds, pass.evaluation, pass.cleanup);
    if !pass.phase_seconds.is_empty() {
        let per_iteration: Vec<String> = pass
            .phase_seconds
            .iter()
            .map(|(phase, s)| format!("{phase} {:.1}", 1e3 * s / f64::from(pass.iterations)))
            .collect();
        eprintln!("  ms per iteration: {}", per_iteration.join(", "));
    }
    if dir.join("gt_mesh.obj").is_file() && arg_values("--truth").is_empty() {
        // Pass 1's share of the final surface area, to tell its wrinkles from pass 2's.
        let (gt_v, gt_t) = load_obj(&dir.join("gt_mesh.obj"));
        let v = pass.mesh.vertices.to_kind(Kind::Double).to_device(Device::Cpu);
        let t = pass.mesh.triangles.to_kind(Kind::Int64).to_device(Device::Cpu);
        let rough = pass.rough_vertices.to_kind(Kind::Double).to_device(Device::Cpu);
        eprintln!(
            "{name}: pass-1 area ratio {:.3} (before surface smoothing {:.3})",
            surface_area(&v, &t)? / surface_area(&gt_v, &gt_t)?,
            surface_area(&rough, &t)? / surface_area(&gt_v, &gt_t)?
        );
    }
    let bake_started = Instant::now();
    let unwrapped = unwrap(&pass.mesh, config.texture_size)?;
    let baked = bake(&pass.mesh, &pass.rough_vertices, &unwrapped, &pass.materials, 4)?;
    let bake_seconds = bake_started.elapsed().as_secs_f64();
    eprintln!("{name}: unwrap + bake {bake_seconds:.1} s, atlas {:?}", unwrapped.size);
    let refined = run_pass2(
        &dataset,
        config,
        device,
        &mut Silent,
        &AtomicBool::new(false),
        &pass,
        &unwrapped,
        &baked,
    )?;
    eprintln!("{name}: pass 2 {:.1} s, {:?}", refined.seconds, refined.evaluation);
    let mesh = textured_mesh(&refined.mesh, &refined.unwrapped, &refined.textures)?;
    if let Some(out) = arg_values("--out").first() {
        write_meshes(&PathBuf::from(out).join(&name), &mesh)?;
    }
    let total = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let peak = sampler.join().unwrap_or(0) as f64 / (1u64 << 30) as f64;
    let mut ours_v = refined.mesh.vertices.to_kind(Kind::Double).to_device(Device::Cpu);
    if let Some(truth) = arg_values("--truth").first() {
        let fit = align_to_truth(&dataset, std::path::Path::new(truth))?;
        ours_v = fit.apply(&ours_v);
    }
    let ours_t = refined.mesh.triangles.to_kind(Kind::Int64).to_device(Device::Cpu);
    let (chamfer, ratio) = if dir.join("gt_mesh.obj").is_file() {
        let (gt_v, gt_t) = load_obj(&dir.join("gt_mesh.obj"));
        tch::manual_seed(0);
        let ours_points = sample_surface(&ours_v, &ours_t, 100_000)?;
        let gt_points = sample_surface(&gt_v, &gt_t, 100_000)?;
        let accuracy = nearest_distances(&ours_points, &gt_points, device)?;
        let completeness = nearest_distances(&gt_points, &ours_points, device)?;
        let mean = |d: &Tensor| d.mean(Kind::Double).double_value(&[]);
        let far = |d: &Tensor| {
            100.0 * d.gt(0.02).to_kind(Kind::Double).mean(Kind::Double).double_value(&[])
        };
        // The two directions apart say whether extra surface (accuracy) or missing surface
        // (completeness) costs the Chamfer distance.
        eprintln!(
            "{name}: ours→truth {:.4} ({:.1}% of our surface farther than 0.02), truth→ours {:.4} ({:.1}% of the true surface)",
            mean(&accuracy),
            far(&accuracy),
            mean(&completeness),
            far(&completeness)
        );
        if let Some(dir) = arg_values("--slices").first() {
            let picture = slice::cross_sections(&[
                slice::Drawn { vertices: &gt_v, triangles: &gt_t, colour: [0, 0, 0] },
                slice::Drawn { vertices: &ours_v, triangles: &ours_t, colour: [220, 30, 30] },
            ]);
            picture.save(PathBuf::from(dir).join(format!("{name}-slices.png")))?;
        }
        let chamfer = 0.5 * (mean(&accuracy) + mean(&completeness));
        let ratio = surface_area(&ours_v, &ours_t)? / surface_area(&gt_v, &gt_t)?;
        (format!("{chamfer:.4}"), format!("{ratio:.2}"))
    } else {
        ("—".to_owned(), "—".to_owned())
    };
    let psnr1 = pass.evaluation.map_or(f64::NAN, |e| e.psnr);
    let (psnr, iou) = refined.evaluation.map_or((f64::NAN, f64::NAN), |e| (e.psnr, e.mask_iou));
    Ok(format!(
        "| {name} | {:.3} | {:.1} | {:.1} | {:.3} | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} | {:.3} | {} | {} | {} |\n",
        pass.seconds / f64::from(pass.iterations.max(1)),
        pass.seconds,
        bake_seconds,
        refined.seconds / f64::from(refined.iterations.max(1)),
        refined.seconds,
        total,
        peak,
        psnr1,
        psnr,
        iou,
        chamfer,
        ratio,
        mesh.triangles.len()
    ))
}

fn main() {
    let device = match arg_values("--device").first().map(String::as_str) {
        Some("cpu") => Device::Cpu,
        _ if tch::Cuda::is_available() => Device::Cuda(0),
        _ => Device::Cpu,
    };
    let preset = arg_values("--preset").first().cloned().unwrap_or_else(|| "default".into());
    let mut overrides = serde_json::json!({});
    if std::env::args().any(|a| a == "--profile") {
        overrides["profile"] = true.into();
    }
    if let Some(iters) = arg_values("--iters").first() {
        overrides["iterations"] = iters.parse::<u32>().unwrap().into();
    }
    // `--set sdf_units_per_cell=1.0`: any config key, the value parsed as JSON.
    for setting in arg_values("--set") {
        let (key, value) = setting.split_once('=').expect("--set takes KEY=JSON");
        overrides[key] = serde_json::from_str(value).expect("--set value is JSON");
    }
    let config =
        Config::from_preset_and_json(Preset::parse(&preset).unwrap(), Some(&overrides)).unwrap();
    let names: Vec<String> =
        meshcast_engine::probe_devices().iter().map(|d| d.name.clone()).collect();
    let mut report = format!(
        "Devices: {}. Preset `{preset}` ({} iterations, grid {}, {} px, batch {}), run on {device:?}.\n\n\
         Overrides: `{overrides}`.\n\n\
         | scene | pass 1 s/it | pass 1 s | unwrap + bake s | pass 2 s/it | pass 2 s | total s | peak GPU GiB | pass-1 PSNR | PSNR dB | mask IoU | Chamfer-L1 | area ratio | triangles |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
        names.join(", "),
        config.iterations,
        config.grid_resolution,
        config.image_size,
        config.batch
    );
    print!("{report}");
    for dir in arg_values("--dataset").iter().map(PathBuf::from) {
        // A failing scene becomes a row naming the error; the other scenes still run.
        let row = scene(&dir, &config, device).unwrap_or_else(|e| {
            format!("| {} | failed: {e} |\n", dir.file_name().unwrap_or_default().to_string_lossy())
        });
        print!("{row}");
        report.push_str(&row);
    }
    if let Some(path) = arg_values("--append").first() {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new().append(true).create(true).open(path).unwrap();
        writeln!(file, "\n## nvdiffrec benchmark run\n\n{report}").unwrap();
        println!("appended to {path}");
    }
}
