//! The stage-1 flow DiT against the reference (tests/data/goldens/reconviagen/ss_flow: width 32,
//! 2 blocks, an 8³ × 8 latent, fp16 weights as released): velocities at five times with and
//! without the condition, intermediates at t = 0.8, and the whole 30-step guided sampling run
//! matched step by step (sampler goldens, run with this model); the released fp16 blocks against
//! the reference's fp16 run; full-size keys as released.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // test helpers: a panic is the failure report

mod common;
mod goldens;

use meshcast_engine::reconviagen::flow::{FlowConfig, SparseStructureFlow};
use meshcast_engine::reconviagen::sampler::SamplerSettings;
use meshcast_engine::reconviagen::{Precision, Trace};
use meshcast_engine::weights::{declared_shapes, load_strict};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

const SMALL: FlowConfig = FlowConfig {
    resolution: 8,
    in_channels: 8,
    out_channels: 8,
    model_channels: 32,
    cond_channels: 16,
    blocks: 2,
    heads: 2,
    patch_size: 1,
};

fn max_abs_rel(ours: &Tensor, reference: &Tensor) -> (f64, f64) {
    let err = (ours.to_device(Device::Cpu) - reference).abs().max().double_value(&[]);
    (err, err / reference.abs().max().double_value(&[]).max(1.0))
}

/// Model time as the pipeline passes it: float32 `1000 · t`.
fn model_time(t: f64, device: Device) -> Tensor {
    Tensor::from_slice(&[(1000.0 * t) as f32]).to_device(device)
}

#[test]
fn flow_matches_the_reference_velocities() {
    let dir = goldens::dir().join("ss_flow");
    let inputs = goldens::read(&dir.join("inputs.safetensors"));
    let outputs = goldens::read(&dir.join("outputs.safetensors"));
    let lowp = goldens::read(&dir.join("outputs_lowp.safetensors"));
    for device in common::test_devices() {
        let vs = VarStore::new(device);
        let model = SparseStructureFlow::new(&vs.root(), SMALL).unwrap();
        load_strict(&vs, &dir.join("weights.safetensors"), "").unwrap();
        let x = inputs["x_t"].to_device(device);
        for t in Vec::<f64>::try_from(&inputs["t"]).unwrap() {
            for (which, cond) in [("v_cond", "cond"), ("v_neg", "neg_cond")] {
                let mut trace = Trace::recording();
                let v = tch::no_grad(|| {
                    let cond = inputs[cond].to_device(device);
                    model.forward(&x, &model_time(t, device), &cond, Precision::Float32, &mut trace)
                })
                .unwrap();
                let name = format!("{which}.t{t:?}");
                let (err, rel) = max_abs_rel(&v, &outputs[&name]);
                println!("{device:?} {name}: max abs error {err:.2e}");
                assert!(rel <= 1e-4, "{device:?} {name}: {err}");
                if let Some(reference) = lowp.get(&name) {
                    // The released fp16 blocks (README: rel-L2 ≤ 1e-2 to the fp16 run).
                    let fp16 = tch::no_grad(|| {
                        let cond = inputs[cond].to_device(device);
                        let time = model_time(t, device);
                        model.forward(&x, &time, &cond, Precision::Float16Blocks, &mut Trace::off())
                    })
                    .unwrap();
                    let rel = goldens::rel_l2(&fp16, reference);
                    println!("{device:?} fp16 {name}: rel-L2 {rel:.2e} to the fp16 run");
                    assert!(rel <= 1e-2, "{device:?} fp16 {name}: rel-L2 {rel}");
                }
                if t == 0.8 && which == "v_cond" {
                    for part in ["t_emb", "input_layer", "blocks.0", "blocks.1", "out_layer"] {
                        let reference = &outputs[&format!("t0.8_cond.{part}")];
                        let (err, rel) = max_abs_rel(trace.get(part).unwrap(), reference);
                        assert!(rel <= 1e-4, "{device:?} {part}: {err}");
                    }
                }
            }
        }
    }
}

#[test]
fn stage1_sampling_matches_step_by_step() {
    let flow_dir = goldens::dir().join("ss_flow");
    let inputs = goldens::read(&goldens::dir().join("sampler/inputs.safetensors"));
    let run = goldens::read(&goldens::dir().join("sampler/ss_settings_dense.safetensors"));
    let settings = SamplerSettings::STAGE1;
    for device in common::test_devices() {
        let vs = VarStore::new(device);
        let model = SparseStructureFlow::new(&vs.root(), SMALL).unwrap();
        load_strict(&vs, &flow_dir.join("weights.safetensors"), "").unwrap();
        let cond = inputs["ss_cond"].to_device(device);
        let neg = cond.zeros_like();
        let mut calls = 0;
        let mut samples = Vec::new();
        let final_x = tch::no_grad(|| {
            let mut x_seen: Option<Tensor> = None;
            let out = settings.sample(
                &inputs["ss_noise"].to_device(device),
                |x, t, positive| {
                    calls += 1;
                    if positive {
                        // The loop's state before each step: the previous step's result.
                        if let Some(previous) = x_seen.replace(x.shallow_clone()) {
                            samples.push(previous);
                        }
                    }
                    let c = if positive { &cond } else { &neg };
                    model.forward(
                        x,
                        &model_time(t, device),
                        c,
                        Precision::Float32,
                        &mut Trace::off(),
                    )
                },
                |_, _| {},
            );
            if let Some(last) = x_seen {
                samples.push(last);
            }
            out
        })
        .unwrap();
        assert_eq!(calls, 54);
        // samples[i] is the input of step i: the reference's x after step i − 1.
        for (i, x) in samples.iter().enumerate().skip(1) {
            let (err, rel) = max_abs_rel(x, &run["x"].get(i as i64 - 1));
            assert!(rel <= 1e-4, "{device:?}: sample after step {} off by {err}", i - 1);
        }
        let (err, rel) = max_abs_rel(&final_x, &run["final"]);
        println!("{device:?}: final stage-1 sample max abs error {err:.2e}");
        assert!(rel <= 1e-4, "{device:?}: final sample off by {err}");
        assert_eq!(final_x.kind(), Kind::Float);
    }
}

#[test]
fn full_size_flow_declares_the_released_keys() {
    let released = goldens::released_shapes("ss_flow.json", "");
    let vs = VarStore::new(Device::Cpu);
    let _model = SparseStructureFlow::new(&vs.root(), FlowConfig::RELEASED).unwrap();
    assert_eq!(declared_shapes(&vs), released);
}
