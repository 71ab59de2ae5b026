//! The sparse-structure decoder against the reference (tests/data/goldens/reconviagen/ss_decoder:
//! widths 16/8/8, fp16 weights as released): intermediates, logits, and the occupied voxels
//! exactly (the smallest |logit| there is 1.4e-4, far above float32 error); the released fp16
//! blocks against the reference's fp16 run; full-size keys.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // test helpers: a panic is the failure report

mod common;
mod goldens;

use meshcast_engine::reconviagen::decoder::{DecoderConfig, SparseStructureDecoder, occupied};
use meshcast_engine::reconviagen::{Precision, Trace};
use meshcast_engine::weights::{declared_shapes, load_strict};
use tch::Device;
use tch::nn::VarStore;

#[test]
fn decoder_matches_the_reference_logits_and_voxels() {
    let dir = goldens::dir().join("ss_decoder");
    let inputs = goldens::read(&dir.join("inputs.safetensors"));
    let outputs = goldens::read(&dir.join("outputs.safetensors"));
    let lowp = goldens::read(&dir.join("outputs_lowp.safetensors"));
    let config = DecoderConfig {
        latent_channels: 8,
        out_channels: 1,
        channels: vec![16, 8, 8],
        res_blocks: 2,
        middle_blocks: 2,
    };
    for device in common::test_devices() {
        let vs = VarStore::new(device);
        let model = SparseStructureDecoder::new(&vs.root(), &config).unwrap();
        load_strict(&vs, &dir.join("weights.safetensors"), "").unwrap();
        let mut trace = Trace::recording();
        let latent = inputs["latent"].to_device(device);
        let logits =
            tch::no_grad(|| model.forward(&latent, Precision::Float32, &mut trace)).unwrap();
        for (name, ours) in ["input_layer", "middle_block", "blocks.0", "blocks.2"]
            .map(|n| (n, trace.get(n).unwrap().shallow_clone()))
            .into_iter()
            .chain([("logits", logits.shallow_clone())])
        {
            let reference = &outputs[name];
            let scale = reference.abs().max().double_value(&[]).max(1.0);
            let err = (ours.to_device(Device::Cpu) - reference).abs().max().double_value(&[]);
            println!("{device:?} {name}: max abs error {err:.2e}");
            assert!(err <= 1e-4 * scale, "{device:?} {name}: {err}");
        }
        let coords = occupied(&logits).unwrap().to_device(Device::Cpu);
        assert_eq!(coords.size(), [1310, 4]);
        assert!(coords.equal(&outputs["coords"]), "{device:?}: occupied voxels differ");
        // The released fp16 blocks, against the reference's fp16 run (README: rel-L2 ≤ 1e-2).
        let fp16 =
            tch::no_grad(|| model.forward(&latent, Precision::Float16Blocks, &mut Trace::off()))
                .unwrap();
        let rel = goldens::rel_l2(&fp16, &lowp["logits"]);
        println!("{device:?} fp16 logits: rel-L2 {rel:.2e} to the reference's fp16 run");
        assert!(rel <= 1e-2, "{device:?} fp16 logits: rel-L2 {rel}");
    }
}

#[test]
fn full_size_decoder_declares_the_released_keys() {
    let released = goldens::released_shapes("ss_decoder.json", "");
    let vs = VarStore::new(Device::Cpu);
    let _model = SparseStructureDecoder::new(&vs.root(), &DecoderConfig::released()).unwrap();
    assert_eq!(declared_shapes(&vs), released);
}
