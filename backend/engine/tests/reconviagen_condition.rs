//! The stage-1 condition (GGC) against the reference's outputs
//! (tests/data/goldens/reconviagen/ss_cond_ggc: width 16, 2 heads, 32 tokens, fp16 weights as
//! released) on CPU and CUDA, and the full-size module's keys against the released manifest.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // test helpers: a panic is the failure report

mod common;
mod goldens;

use meshcast_engine::reconviagen::condition::{ConditionConfig, SparseStructureCondition};
use meshcast_engine::reconviagen::{Precision, Trace};
use meshcast_engine::weights::{declared_shapes, load_strict};
use tch::nn::VarStore;
use tch::{Device, Tensor};

#[test]
fn condition_matches_the_reference() {
    let dir = goldens::dir().join("ss_cond_ggc");
    let inputs = goldens::read(&dir.join("inputs.safetensors"));
    let outputs = goldens::read(&dir.join("outputs.safetensors"));
    let lowp = goldens::read(&dir.join("outputs_lowp.safetensors"));
    let config = ConditionConfig { channels: 16, context_channels: 3072, heads: 2, tokens: 32 };
    for device in common::test_devices() {
        let vs = VarStore::new(device);
        let model = SparseStructureCondition::new(&vs.root(), config).unwrap();
        load_strict(&vs, &dir.join("weights.safetensors"), "").unwrap();
        let aggregated: Vec<Tensor> =
            ["agg.04", "agg.11", "agg.17", "agg.23"].map(|k| inputs[k].to_device(device)).into();
        // The pipeline passes DINOv2's patch tokens only.
        let image_cond = inputs["image_cond"].to_device(device).narrow(2, 5, 2);
        let mut trace = Trace::recording();
        let cond = tch::no_grad(|| {
            model.forward(&aggregated, &image_cond, 5, Precision::Float32, &mut trace)
        })
        .unwrap();
        for (name, ours) in (0..4)
            .map(|i| (format!("cond_blocks.{i}"), trace.get(&format!("cond_blocks.{i}")).unwrap()))
            .chain([("cond".to_owned(), &cond)])
        {
            let reference = &outputs[&name];
            let scale = reference.abs().max().double_value(&[]).max(1.0);
            let err = (ours.to_device(Device::Cpu) - reference).abs().max().double_value(&[]);
            println!("{device:?} {name}: max abs error {err:.2e}");
            assert!(err <= 1e-4 * scale, "{device:?} {name}: {err}");
        }
        // Our fp16 blocks against the reference's fp16 run (README: rel-L2 ≤ 1e-2).
        let fp16 = tch::no_grad(|| {
            model.forward(&aggregated, &image_cond, 5, Precision::Float16Blocks, &mut Trace::off())
        })
        .unwrap();
        let rel = goldens::rel_l2(&fp16, &lowp["cond"]);
        println!("{device:?} fp16 cond: rel-L2 {rel:.2e} to the fp16 run");
        assert!(rel <= 1e-2, "{device:?} fp16 cond: rel-L2 {rel}");
    }
}

#[test]
fn full_size_condition_declares_the_released_keys() {
    let released = goldens::released_shapes("ss_vggt_cond.json", "");
    let vs = VarStore::new(Device::Cpu);
    let _model = SparseStructureCondition::new(&vs.root(), ConditionConfig::RELEASED).unwrap();
    assert_eq!(declared_shapes(&vs), released);
}
