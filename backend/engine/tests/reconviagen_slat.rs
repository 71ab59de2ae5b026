//! Stage 2's condition (PVC, full width) and flow model (sparse U-DiT, width 32, fp16 weights as
//! released) against the reference (tests/data/goldens/reconviagen/slat_cond_pvc, slat_flow):
//! every recorded intermediate, the voxels of each resolution exactly, the velocities at five
//! timesteps with the views' conditions and with zero conditions; the fp16 path of the
//! condition against the reference's fp16 run; the full-size modules' keys.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // test helpers: a panic is the failure report

mod common;
mod goldens;

use meshcast_engine::reconviagen::sampler::SamplerSettings;
use meshcast_engine::reconviagen::slat_condition::{SlatCondition, SlatConditionConfig};
use meshcast_engine::reconviagen::slat_flow::{SlatFlow, SlatFlowConfig};
use meshcast_engine::reconviagen::sparse::SparseTensor;
use meshcast_engine::reconviagen::stage2::{LATENT_MEAN, LATENT_STD, Stage2, Stage2Error};
use meshcast_engine::reconviagen::{Precision, Trace};
use meshcast_engine::weights::{declared_shapes, load_strict, store_as_half};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// The configuration of the `slat_flow` golden.
fn golden_flow() -> SlatFlowConfig {
    SlatFlowConfig {
        latent_channels: 8,
        model_channels: 32,
        cond_channels: 1024,
        blocks: 2,
        heads: 2,
        io_res_blocks: 2,
        io_channels: vec![16],
    }
}

#[test]
fn stage2_condition_matches_the_reference() {
    let dir = goldens::dir().join("slat_cond_pvc");
    let inputs = goldens::read(&dir.join("inputs.safetensors"));
    let outputs = goldens::read(&dir.join("outputs.safetensors"));
    let lowp = goldens::read(&dir.join("outputs_lowp.safetensors"));
    for device in common::test_devices() {
        let vs = VarStore::new(device);
        let model = SlatCondition::new(&vs.root(), SlatConditionConfig::RELEASED).unwrap();
        load_strict(&vs, &dir.join("weights.safetensors"), "").unwrap();
        let aggregated: Vec<Tensor> =
            ["agg.04", "agg.11", "agg.17", "agg.23"].map(|k| inputs[k].to_device(device)).into();
        let image_cond = inputs["image_cond"].to_device(device);
        let mut trace = Trace::recording();
        let views = tch::no_grad(|| {
            model.forward(&aggregated, &image_cond, Precision::Float32, &mut trace)
        })
        .unwrap();
        for i in 0..4 {
            let name = format!("linear_blocks.{i}");
            goldens::assert_close(
                &format!("{device:?} {name}"),
                trace.get(&name).unwrap(),
                &outputs[&name],
            );
        }
        goldens::assert_close(
            &format!("{device:?} cond"),
            trace.get("cond").unwrap(),
            &outputs["cond"],
        );
        assert_eq!(views.len(), 2);
        for (i, view) in views.iter().enumerate() {
            let name = format!("cond_view.{i}");
            goldens::assert_close(&format!("{device:?} {name}"), view, &outputs[&name]);
        }
        let fp16 = tch::no_grad(|| {
            model.forward(&aggregated, &image_cond, Precision::Float16Blocks, &mut Trace::off())
        })
        .unwrap();
        let rel = goldens::rel_l2(&Tensor::cat(&fp16, 0), &lowp["cond"]);
        println!("{device:?} fp16 cond: rel-L2 {rel:.2e} to the reference's fp16 run");
        assert!(rel <= 1e-2, "{device:?} fp16 cond: rel-L2 {rel}");
    }
}

#[test]
fn stage2_flow_matches_the_reference() {
    let dir = goldens::dir().join("slat_flow");
    let inputs = goldens::read(&dir.join("inputs.safetensors"));
    let outputs = goldens::read(&dir.join("outputs.safetensors"));
    let config = golden_flow();
    let times = Vec::<f64>::try_from(&inputs["t"]).unwrap();
    for device in common::test_devices() {
        let vs = VarStore::new(device);
        let model = SlatFlow::new(&vs.root(), &config).unwrap();
        load_strict(&vs, &dir.join("weights.safetensors"), "").unwrap();
        let x = SparseTensor::from_batched(
            &inputs["coords"].to_device(device),
            inputs["feats"].to_device(device),
        )
        .unwrap();
        let conds = [inputs["cond.0"].to_device(device), inputs["cond.1"].to_device(device)];
        let zeros = conds.each_ref().map(Tensor::zeros_like);
        for &t in &times {
            let model_t = Tensor::from_slice(&[(1000.0 * t) as f32]).to_device(device);
            for (which, conds) in [("cond", &conds), ("neg", &zeros)] {
                let mut trace =
                    if which == "cond" && t == 0.8 { Trace::recording() } else { Trace::off() };
                let v = tch::no_grad(|| {
                    model.forward(&x, &model_t, conds, Precision::Float32, &mut trace)
                })
                .unwrap();
                assert!(
                    v.batched_coords().unwrap().to_device(Device::Cpu).equal(&inputs["coords"])
                );
                goldens::assert_close(
                    &format!("{device:?} v_{which}.t{t:?}"),
                    v.feats(),
                    &outputs[&format!("v_{which}.t{t:?}")],
                );
                if which == "cond" && t == 0.8 {
                    for name in [
                        "t_emb",
                        "input_layer",
                        "input_blocks.0",
                        "input_blocks.1",
                        "blocks.0.in",
                        "blocks.0",
                        "blocks.1",
                        "out_blocks.0",
                        "out_blocks.1",
                    ] {
                        let key = if name == "t_emb" {
                            "t0.8_cond.t_emb".to_owned()
                        } else {
                            format!("t0.8_cond.{name}.feats")
                        };
                        goldens::assert_close(
                            &format!("{device:?} {name}"),
                            trace.get(name).unwrap(),
                            &outputs[&key],
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn full_size_stage2_modules_declare_the_released_keys() {
    let vs = VarStore::new(Device::Cpu);
    let _condition = SlatCondition::new(&vs.root(), SlatConditionConfig::RELEASED).unwrap();
    assert_eq!(declared_shapes(&vs), goldens::released_shapes("slat_vggt_cond.json", ""));
    let vs = VarStore::new(Device::Cpu);
    let _flow = SlatFlow::new(&vs.root(), &SlatFlowConfig::released()).unwrap();
    assert_eq!(declared_shapes(&vs), goldens::released_shapes("slat_flow.json", ""));
}

/// The whole stage-2 sampling with the real flow (12 steps, 21 model calls, guidance rescale by
/// the population spread over all voxels and channels) against the reference's run, step by
/// step, then the de-normalized latent.
#[test]
fn stage2_sampling_replays_the_reference_run() {
    let flow_dir = goldens::dir().join("slat_flow");
    let inputs = goldens::read(&goldens::dir().join("sampler").join("inputs.safetensors"));
    let run =
        goldens::read(&goldens::dir().join("sampler").join("slat_settings_sparse.safetensors"));
    let config = golden_flow();
    // The released statistics are what the golden de-normalizes with.
    let mean = Vec::<f32>::try_from(&inputs["slat_mean"]).unwrap();
    let std = Vec::<f32>::try_from(&inputs["slat_std"]).unwrap();
    assert_eq!((mean.as_slice(), std.as_slice()), (&LATENT_MEAN[..], &LATENT_STD[..]));
    for device in common::test_devices() {
        let vs = VarStore::new(device);
        let flow = SlatFlow::new(&vs.root(), &config).unwrap();
        load_strict(&vs, &flow_dir.join("weights.safetensors"), "").unwrap();
        let stage2 =
            Stage2 { flow: &flow, sampler: SamplerSettings::STAGE2, precision: Precision::Float32 };
        let conds =
            [inputs["slat_cond.0"].to_device(device), inputs["slat_cond.1"].to_device(device)];
        let mut steps = 0;
        let latent = tch::no_grad(|| {
            stage2.run(&inputs["slat_coords"], &conds, Some(&inputs["slat_noise"]), 0, |_, _| {
                steps += 1;
            })
        })
        .unwrap();
        assert_eq!(steps, 12);
        assert!(latent.batched_coords().unwrap().to_device(Device::Cpu).equal(&run["coords"]));
        goldens::assert_close(
            &format!("{device:?} final_denormalized"),
            latent.feats(),
            &run["final_denormalized"],
        );
        // No voxels: a clear error before any model runs.
        let none = Tensor::zeros([0, 4], (Kind::Int, Device::Cpu));
        let err = stage2.run(&none, &conds, None, 0, |_, _| {}).unwrap_err();
        assert!(matches!(err, Stage2Error::NoVoxels), "{err}");
        assert!(matches!(
            stage2.run(&inputs["slat_coords"], &[], None, 0, |_, _| {}),
            Err(Stage2Error::NoViews)
        ));
    }
}

/// Kept as released (fp16 where the checkpoint has fp16, everything else float32), the flow's
/// fp16 blocks give the float32 velocities within the README's rel-L2 1e-2.
#[test]
fn stage2_flow_keeps_released_fp16_parameters() {
    let dir = goldens::dir().join("slat_flow");
    let inputs = goldens::read(&dir.join("inputs.safetensors"));
    let outputs = goldens::read(&dir.join("outputs.safetensors"));
    let config = golden_flow();
    for device in common::test_devices() {
        let vs = VarStore::new(device);
        let model = SlatFlow::new(&vs.root(), &config).unwrap();
        let report = load_strict(&vs, &dir.join("weights.safetensors"), "").unwrap();
        assert!(report.half.iter().any(|k| k.ends_with("conv1.conv.weight")), "{:?}", report.half);
        store_as_half(&vs, &report.half).unwrap();
        for (name, variable) in vs.variables() {
            let want = if report.half.contains(&name) { Kind::Half } else { Kind::Float };
            assert_eq!(variable.kind(), want, "{name}");
        }
        let x = SparseTensor::from_batched(
            &inputs["coords"].to_device(device),
            inputs["feats"].to_device(device),
        )
        .unwrap();
        let conds = [inputs["cond.0"].to_device(device), inputs["cond.1"].to_device(device)];
        let t = Tensor::from_slice(&[800.0f32]).to_device(device);
        let v = tch::no_grad(|| {
            model.forward(&x, &t, &conds, Precision::Float16Blocks, &mut Trace::off())
        })
        .unwrap();
        let rel = goldens::rel_l2(v.feats(), &outputs["v_cond.t0.8"]);
        println!("{device:?} fp16 parameters and blocks: rel-L2 {rel:.2e} to float32");
        assert!(rel <= 1e-2, "{device:?}: rel-L2 {rel}");
    }
}
