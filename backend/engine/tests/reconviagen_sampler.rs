//! The flow-Euler guidance-interval sampler against the reference's recorded runs
//! (tests/data/goldens/reconviagen/sampler): the float64 time schedules, where guidance applies,
//! the guided velocity of step 0 from the recorded model outputs, every Euler step, and the
//! whole loop replaying the recorded velocities.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // test helpers: a panic is the failure report

mod common;
mod goldens;

use std::collections::BTreeMap;

use meshcast_engine::reconviagen::sampler::SamplerSettings;
use tch::{Device, Kind, Tensor};

fn read(name: &str) -> BTreeMap<String, Tensor> {
    goldens::read(&goldens::dir().join("sampler").join(name))
}

fn max_rel(ours: &Tensor, reference: &Tensor) -> f64 {
    let ours = ours.to_device(Device::Cpu);
    let scale = reference.abs().max().double_value(&[]).max(1e-12);
    (ours - reference).abs().max().double_value(&[]) / scale
}

#[test]
fn schedules_and_guidance_intervals_match() {
    for (file, settings, calls) in [
        ("ss_settings_dense.safetensors", SamplerSettings::STAGE1, 54),
        ("slat_settings_dense.safetensors", SamplerSettings::STAGE2, 21),
    ] {
        let run = read(file);
        let reference = Vec::<f64>::try_from(&run["t_seq"]).unwrap();
        let ours = settings.schedule();
        assert_eq!(ours.len(), reference.len(), "{file}");
        for (a, b) in ours.iter().zip(&reference) {
            assert!((a - b).abs() <= 1e-15, "{file}: t {a} vs {b}");
        }
        let applied = Vec::<bool>::try_from(&run["cfg_applied"]).unwrap();
        let guided: Vec<bool> =
            ours[..settings.steps].iter().map(|&t| settings.guided_at(t)).collect();
        assert_eq!(guided, applied, "{file}");
        let per_step = Vec::<i32>::try_from(&run["model_calls_per_step"]).unwrap();
        assert_eq!(per_step.iter().sum::<i32>(), calls, "{file}");
        assert!(guided.iter().zip(&per_step).all(|(&g, &n)| n == if g { 2 } else { 1 }));
    }
}

#[test]
fn guided_velocity_and_euler_steps_match() {
    let inputs = read("inputs.safetensors");
    for (file, settings) in [
        ("ss_settings_dense.safetensors", SamplerSettings::STAGE1),
        ("slat_settings_dense.safetensors", SamplerSettings::STAGE2),
    ] {
        let run = read(file);
        let times = settings.schedule();
        for device in common::test_devices() {
            let noise = inputs["ss_noise"].to_device(device);
            let out = run["step0.model_out"].to_device(device);
            let v = settings.guided_velocity(&noise, times[0], &out.get(0), &out.get(1)).unwrap();
            let err = max_rel(&v, &run["v_hat"].get(0));
            println!("{device:?} {file}: step-0 guided velocity max rel error {err:.2e}");
            assert!(err < 1e-5, "{device:?} {file}: guided velocity off by {err}");
            // The test discriminates: without the rescale, or with TRELLIS's own CFG formula,
            // step 0 is far off.
            let plain = SamplerSettings { guidance_rescale: 0.0, ..settings };
            let v = plain.guided_velocity(&noise, times[0], &out.get(0), &out.get(1)).unwrap();
            assert!(max_rel(&v, &run["v_hat"].get(0)) > 1e-2, "{device:?} {file}");
            let w = settings.cfg_strength;
            let upstream =
                out.get(0).f_mul_scalar(1.0 + w).unwrap() - out.get(1).f_mul_scalar(w).unwrap();
            assert!(max_rel(&upstream, &run["v_hat"].get(0)) > 1e-2, "{device:?} {file}");

            // Every Euler step: x_{i} = x_{i−1} − (t_i − t_{i+1})·v̂_i.
            let (xs, vs) = (run["x"].to_device(device), run["v_hat"].to_device(device));
            let mut previous = noise.shallow_clone();
            for i in 0..settings.steps {
                let x = previous
                    .f_sub(&vs.get(i as i64).f_mul_scalar(times[i] - times[i + 1]).unwrap())
                    .unwrap();
                let err = max_rel(&x, &run["x"].get(i as i64));
                assert!(err < 1e-6, "{device:?} {file}: step {i} off by {err}");
                previous = xs.get(i as i64);
            }
        }
    }
}

#[test]
fn the_loop_replays_the_recorded_run() {
    let inputs = read("inputs.safetensors");
    let run = read("ss_settings_dense.safetensors");
    let settings = SamplerSettings::STAGE1;
    // A model that answers each step with the recorded guided velocity for both conditions:
    // guidance then leaves it unchanged, so the loop must retrace the recorded samples.
    let times = settings.schedule();
    let mut calls = 0;
    let mut steps = Vec::new();
    let final_x = settings
        .sample(
            &inputs["ss_noise"],
            |_, t, _| {
                calls += 1;
                let step = times.iter().position(|&s| s == t).unwrap();
                Ok(run["v_hat"].get(step as i64))
            },
            |step, total| steps.push((step, total)),
        )
        .unwrap();
    assert_eq!(calls, 54);
    assert_eq!(steps.len(), 30);
    assert_eq!(steps.last(), Some(&(30, 30)));
    let err = max_rel(&final_x, &run["final"]);
    assert!(err < 1e-5, "final sample off by {err}");
    assert_eq!(final_x.kind(), Kind::Float);
}
