//! `cargo bench -p meshcast-engine --bench encoders -- [--views 8] [--runs 10] [--device cuda:0|cpu]
//! [--append FILE]`
//!
//! ReconViaGen's image encoders at full size with random weights: DINOv2 ViT-L/14-reg (the image
//! condition; float32 as the pipeline runs it, and bf16) and the VGGT aggregator (bf16 autocast, the four
//! layers the conditions read) on `--views` 518² views. Prints the median seconds of each, their
//! sum against the 0.25 s budget, the float32 aggregator for comparison, and the peak
//! GPU memory in use (device-wide, sampled every 10 ms). Then stage 1's sampling: 30 guided
//! steps (54 evaluations) of the full-size flow DiT over a 16³ × 8 latent with a 4096-token
//! condition, in float32, bf16 autocast and the released fp16 blocks (the pipeline's), and the
//! occupancy decoder, against the 2.5 s budget.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::expect_used)] // a benchmark binary: panics are reports

#[path = "common/harness.rs"]
mod harness;
#[path = "common/memory.rs"]
mod memory;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use meshcast_engine::reconviagen::decoder::{DecoderConfig, SparseStructureDecoder};
use meshcast_engine::reconviagen::flow::{FlowConfig, SparseStructureFlow};
use meshcast_engine::reconviagen::sampler::SamplerSettings;
use meshcast_engine::reconviagen::{
    Aggregator, AggregatorConfig, Dinov2, Dinov2Config, Precision, Trace,
};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use harness::{arg, randomize, time};

fn main() {
    let device = match arg("--device").as_deref() {
        Some("cpu") => Device::Cpu,
        _ if tch::Cuda::is_available() => Device::Cuda(0),
        _ => Device::Cpu,
    };
    let views: i64 = arg("--views").map_or(8, |v| v.parse().unwrap());
    let runs: usize = arg("--runs").map_or(10, |v| v.parse().unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = memory::sampler(device, stop.clone(), 10);

    let dino_vs = VarStore::new(device);
    let dino = Dinov2::new(&dino_vs.root(), Dinov2Config::VITL14_REG).unwrap();
    randomize(&dino_vs);
    let vggt_vs = VarStore::new(device);
    let aggregator = Aggregator::new(&vggt_vs.root(), AggregatorConfig::VGGT).unwrap();
    randomize(&vggt_vs);
    let images = Tensor::rand([1, views, 3, 518, 518], (Kind::Float, device));
    let layers = [4, 11, 17, 23];

    let dino_s = time(device, runs, || {
        tch::no_grad(|| {
            let flat = images.reshape([views, 3, 518, 518]);
            dino.forward(&flat, Precision::Float32, &mut Trace::off()).unwrap();
        });
    });
    let dino_bf16 = time(device, runs, || {
        tch::no_grad(|| {
            let flat = images.reshape([views, 3, 518, 518]);
            dino.forward(&flat, Precision::Bf16Autocast, &mut Trace::off()).unwrap();
        });
    });
    let vggt_bf16 = time(device, runs, || {
        tch::no_grad(|| {
            aggregator
                .forward(&images, &layers, Precision::Bf16Autocast, &mut Trace::off())
                .unwrap()
        });
    });
    let vggt_f32 = time(device, runs.min(3), || {
        tch::no_grad(|| {
            aggregator.forward(&images, &layers, Precision::Float32, &mut Trace::off()).unwrap()
        });
    });
    drop((dino, aggregator, dino_vs, vggt_vs));

    let flow_vs = VarStore::new(device);
    let flow = SparseStructureFlow::new(&flow_vs.root(), FlowConfig::RELEASED).unwrap();
    let decoder = SparseStructureDecoder::new(&flow_vs.root(), &DecoderConfig::released()).unwrap();
    randomize(&flow_vs);
    let cond = Tensor::randn([1, 4096, 1024], (Kind::Float, device));
    let neg = cond.zeros_like();
    let noise = Tensor::randn([1, 8, 16, 16, 16], (Kind::Float, device));
    let sample = |precision: Precision| {
        tch::no_grad(|| {
            SamplerSettings::STAGE1
                .sample(
                    &noise,
                    |x, t, positive| {
                        let time = Tensor::from_slice(&[(1000.0 * t) as f32]).to_device(device);
                        flow.forward(
                            x,
                            &time,
                            if positive { &cond } else { &neg },
                            precision,
                            &mut Trace::off(),
                        )
                    },
                    |_, _| {},
                )
                .unwrap()
        })
    };
    let stage1_runs = runs.min(3);
    let sample_f32 = time(device, stage1_runs, || {
        let _ = sample(Precision::Float32);
    });
    let sample_bf16 = time(device, stage1_runs, || {
        let _ = sample(Precision::Bf16Autocast);
    });
    // What the pipeline runs: the released fp16 blocks (float32 on the CPU).
    let released = Precision::trellis_on(device);
    let sample_released = time(device, stage1_runs, || {
        let _ = sample(released);
    });
    let latent = sample(released);
    let decode = |precision| {
        time(device, runs, || {
            let _ =
                tch::no_grad(|| decoder.forward(&latent, precision, &mut Trace::off()).unwrap());
        })
    };
    let (decode_f32, decode_released) = (decode(Precision::Float32), decode(released));
    stop.store(true, Ordering::Relaxed);
    let peak = sampler.join().unwrap_or(0) as f64 / f64::from(1u32 << 30);

    let names: Vec<String> =
        meshcast_engine::probe_devices().iter().map(|d| d.name.clone()).collect();
    let report = format!(
        "Devices: {}; run on {device:?}; {views} views at 518², median of {runs} runs.\n\n\
         | DINOv2 f32 s | DINOv2 bf16 s | aggregator bf16 s | both bf16 s | of the 0.25 s budget | aggregator f32 s | bf16 speed-up | peak GPU GiB |\n\
         |---|---|---|---|---|---|---|---|\n\
         | {dino_s:.3} | {dino_bf16:.3} | {vggt_bf16:.3} | {:.3} | {:.2}× | {vggt_f32:.3} | {:.2}× | {peak:.1} |\n",
        names.join(", "),
        dino_bf16 + vggt_bf16,
        (dino_bf16 + vggt_bf16) / 0.25,
        vggt_f32 / vggt_bf16,
    ) + &format!(
        "\nStage 1, 30 guided steps (54 flow evaluations), median of {stage1_runs}:\n\n\
         | sampling f32 s | sampling bf16 autocast s | sampling {released:?} s | of the 2.5 s budget | decoder f32 s | decoder {released:?} s |\n\
         |---|---|---|---|---|---|\n\
         | {sample_f32:.3} | {sample_bf16:.3} | {sample_released:.3} | {:.2}× | {decode_f32:.3} | {decode_released:.3} |\n",
        sample_released / 2.5,
    );
    print!("{report}");
    if let Some(path) = arg("--append") {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new().append(true).create(true).open(&path).unwrap();
        writeln!(file, "\n## ReconViaGen encoders benchmark run\n\n{report}").unwrap();
        println!("appended to {path}");
    }
}
