//! `cargo bench -p meshcast-engine --bench reconviagen -- [--views 8] [--radius 26] [--thickness 3] [--runs 3]
//! [--device cuda:0|cpu] [--append FILE]`
//!
//! The ReconViaGen job at full size with random weights, step by step, in the precisions the
//! pipeline uses (bf16 autocast for VGGT, the released fp16 blocks for TRELLIS): the encoders
//! on `--views` 518² views, stage-1 sampling, the stage-2 conditions, stage-2 sampling (12
//! steps, 21 flow evaluations), the mesh decoder and FlexiCubes at 256³, the Gaussian decoder,
//! and the GLB (simplification to 5 %, unwrap, 1024² bake). Random weights give no object, so
//! stage 2 and the decoders run on a stand-in for one: a spherical shell of voxels in 64³
//! (`--radius`, `--thickness` voxels thick; the reference's objects have 20–60k), and the decoder's SDF
//! channels are replaced by the sphere's signed distance so that FlexiCubes extracts a surface
//! rather than noise. Prints median seconds per step, stage 2 + decoders against the issue's
//! 8 s, the sum against its 20 s, and the peak GPU memory in use (device-wide, so every
//! module's weights — about 10 GiB in float32 — and libtorch's cache count) while stage 2 and
//! the decoders run and over the whole job. As released checkpoints load, TRELLIS's fp16
//! parameters are kept in fp16 (the goldens' key manifests say which).

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::expect_used)] // a benchmark binary: panics are reports

#[path = "common/harness.rs"]
mod harness;
#[path = "common/memory.rs"]
mod memory;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use harness::{arg, randomize, time};
use meshcast_engine::reconviagen::flexicubes;
use meshcast_engine::reconviagen::gaussian_decoder::{GaussianDecoder, GaussianDecoderConfig};
use meshcast_engine::reconviagen::glb::{GlbOptions, textured};
use meshcast_engine::reconviagen::pipeline::{Models, PipelineConfig};
use meshcast_engine::reconviagen::sparse::SparseTensor;
use meshcast_engine::reconviagen::{Precision, Trace};
use meshcast_engine::weights::store_as_half;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// Voxels `[M, 4]` (batch 0, x, y, z) of a shell of `radius` and `thickness` voxels centred in
/// 64³, in `argwhere` order.
fn shell(radius: f64, thickness: f64, device: Device) -> Tensor {
    let axis = Tensor::arange(64, (Kind::Float, device)) - 31.5;
    let grid = Tensor::meshgrid_indexing(&[&axis, &axis, &axis], "ij");
    let r = (&grid[0].square() + grid[1].square() + grid[2].square()).sqrt();
    let inside = (&r - radius).abs().le(thickness / 2.0);
    let coords = inside.nonzero();
    Tensor::cat(&[coords.narrow(1, 0, 1).zeros_like(), coords], 1).to_kind(Kind::Int)
}

/// The head with its 8 corner SDF values replaced by the sphere's signed distance (in the
/// grid's units over `res`, as the decoder's SDF is), so that FlexiCubes meets a surface.
fn with_sphere_sdf(head: &SparseTensor, res: i64, radius: f64) -> SparseTensor {
    let corners: Vec<f32> =
        (0..8).flat_map(|i| [(i & 1) as f32, (i >> 1 & 1) as f32, (i >> 2 & 1) as f32]).collect();
    let device = head.feats().device();
    let corners = Tensor::from_slice(&corners).reshape([1, 8, 3]).to_device(device);
    let points = head.layout().coords().to_kind(Kind::Float).unsqueeze(1) + corners;
    let centre = res as f64 / 2.0;
    let sdf =
        ((points - centre).square().sum_dim_intlist([2i64].as_slice(), false, Kind::Float).sqrt()
            - radius * res as f64 / 64.0)
            / res as f64;
    let feats = head.feats().copy();
    feats.narrow(1, 0, 8).copy_(&sdf);
    head.with_feats(feats).unwrap()
}

/// The keys the released checkpoint `name` stores as float16, from the goldens' manifests.
fn released_half_keys(name: &str) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/goldens/reconviagen/manifest")
        .join(format!("{name}.json"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("manifest")).expect("JSON");
    json["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter(|k| k.get("dtype_if_use_fp16").unwrap_or(&k["dtype"]) == "float16")
        .filter_map(|k| k["name"].as_str().map(str::to_owned))
        .collect()
}

fn main() {
    let device = match arg("--device").as_deref() {
        Some("cpu") => Device::Cpu,
        _ if tch::Cuda::is_available() => Device::Cuda(0),
        _ => Device::Cpu,
    };
    let views: i64 = arg("--views").map_or(8, |v| v.parse().unwrap());
    let runs: usize = arg("--runs").map_or(3, |v| v.parse().unwrap());
    let radius: f64 = arg("--radius").map_or(26.0, |v| v.parse().unwrap());
    let thickness: f64 = arg("--thickness").map_or(3.0, |v| v.parse().unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = memory::sampler(device, stop.clone(), 10);

    let models = Models::new(PipelineConfig::released(), device).unwrap();
    for store in models.stores() {
        randomize(store);
    }
    let gs_vs = VarStore::new(device);
    let gaussians = GaussianDecoder::new(&gs_vs.root(), GaussianDecoderConfig::RELEASED).unwrap();
    randomize(&gs_vs);
    // As `Models::load` keeps released checkpoints: TRELLIS's fp16 parameters in fp16 on a GPU.
    if Precision::trellis_on(device) == Precision::Float16Blocks {
        let manifests = [
            "ss_vggt_cond",
            "ss_flow",
            "ss_decoder",
            "slat_vggt_cond",
            "slat_flow",
            "slat_decoder_mesh",
        ];
        for (store, name) in models.stores()[2..].iter().zip(manifests) {
            store_as_half(store, &released_half_keys(name)).unwrap();
        }
        store_as_half(&gs_vs, &released_half_keys("slat_decoder_gs")).unwrap();
    }
    let trellis = Precision::trellis_on(device);

    let mut in_use = vec![("weights", memory::in_use_gib(device))];
    let images: Vec<Tensor> =
        (0..views).map(|_| Tensor::rand([3, 518, 518], (Kind::Float, device))).collect();
    let stage1 = models.stage1();
    let encoders = time(device, runs, || {
        let _ = stage1.encode(&images).unwrap();
    });
    in_use.push(("encoders", memory::in_use_gib(device)));
    let encoded = stage1.encode(&images).unwrap();
    let stage1_s = time(device, runs, || {
        let _ = stage1.sample(&encoded, None, 1, |_, _| {}).unwrap();
    });
    in_use.push(("stage 1", memory::in_use_gib(device)));
    let conditions = time(device, runs, || {
        let _ = models.stage2_conditions(&encoded).unwrap();
    });
    let conds = models.stage2_conditions(&encoded).unwrap();
    let voxels = shell(radius, thickness, device);
    let stop_stage2 = Arc::new(AtomicBool::new(false));
    let stage2_sampler = memory::sampler(device, stop_stage2.clone(), 10);
    let stage2 = models.stage2();
    let stage2_s = time(device, runs, || {
        let _ = stage2.run(&voxels, &conds, None, 1, |_, _| {}).unwrap();
    });
    in_use.push(("stage 2", memory::in_use_gib(device)));
    let latent = stage2.run(&voxels, &conds, None, 1, |_, _| {}).unwrap();
    let res = models.mesh_resolution();
    let mesh_decoder = time(device, runs, || {
        let _ = models.decode_head(&latent).unwrap();
    });
    in_use.push(("mesh decoder", memory::in_use_gib(device)));
    let head = with_sphere_sdf(&models.decode_head(&latent).unwrap(), res, radius);
    let fine_voxels = head.layout().len();
    let extraction = time(device, runs, || {
        let _ = tch::no_grad(|| flexicubes::extract(&head, res, &mut Trace::off())).unwrap();
    });
    in_use.push(("FlexiCubes", memory::in_use_gib(device)));
    let mesh = tch::no_grad(|| flexicubes::extract(&head, res, &mut Trace::off())).unwrap();
    let gaussian_s = time(device, runs, || {
        let _ = tch::no_grad(|| gaussians.forward(&latent, trellis, &mut Trace::off())).unwrap();
    });
    in_use.push(("Gaussian decoder", memory::in_use_gib(device)));
    stop_stage2.store(true, Ordering::Relaxed);
    let stage2_peak = stage2_sampler.join().unwrap_or(0) as f64 / f64::from(1u32 << 30);
    let glb_runs = runs.min(2);
    let glb = time(device, glb_runs, || {
        let _ = textured(&mesh, GlbOptions::default()).unwrap();
    });
    let exported = textured(&mesh, GlbOptions::default()).unwrap();
    stop.store(true, Ordering::Relaxed);
    let peak = sampler.join().unwrap_or(0) as f64 / f64::from(1u32 << 30);

    let stage2_and_decoders = stage2_s + mesh_decoder + extraction + gaussian_s;
    let job = encoders + stage1_s + conditions + stage2_and_decoders + glb;
    let names: Vec<String> =
        meshcast_engine::probe_devices().iter().map(|d| d.name.clone()).collect();
    let report = format!(
        "Devices: {}; run on {device:?}; {views} views at 518²; stage 2 on a shell of {} voxels in 64³ ({fine_voxels} at 256³); \
         {} decoded triangles, {} in the GLB; median of {runs} runs ({glb_runs} for the GLB).\n\n\
         | encoders s | stage 1 s | stage-2 conditions s | stage 2 s | mesh decoder s | FlexiCubes s | Gaussian decoder s | GLB s |\n\
         |---|---|---|---|---|---|---|---|\n\
         | {encoders:.3} | {stage1_s:.3} | {conditions:.3} | {stage2_s:.3} | {mesh_decoder:.3} | {extraction:.3} | {gaussian_s:.3} | {glb:.3} |\n\n\
         | stage 2 + decoders s | of the 8 s budget | their peak GPU GiB | whole job s (no weight loading) | of the 20 s budget | job's peak GPU GiB |\n\
         |---|---|---|---|---|---|\n\
         | {stage2_and_decoders:.2} | {:.2}× | {stage2_peak:.1} | {job:.2} | {:.2}× | {peak:.1} |\n",
        names.join(", "),
        voxels.size()[0],
        mesh.faces.size()[0],
        exported.triangles.len(),
        stage2_and_decoders / 8.0,
        job / 20.0,
    );
    let report = report
        + "\nGPU GiB in use after each step (libtorch keeps what it freed, so the jump marks the peak): "
        + &in_use
            .iter()
            .map(|(step, gib)| format!("{step} {gib:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
        + "\n";
    print!("{report}");
    if let Some(path) = arg("--append") {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new().append(true).create(true).open(&path).unwrap();
        writeln!(file, "\n## ReconViaGen job benchmark run\n\n{report}").unwrap();
        println!("appended to {path}");
    }
}
