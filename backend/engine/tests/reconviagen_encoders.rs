//! ReconViaGen's image encoders against the reference implementation's outputs
//! (tests/data/goldens/reconviagen, random weights of reduced configurations): DINOv2 as
//! `encode_image` uses it and the VGGT aggregator, in float32 and in the pipeline's bf16
//! autocast, on CPU and CUDA; the full-size modules declare exactly the released checkpoints'
//! keys and shapes; broken checkpoints fail with the file and key named.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // test helpers: a panic is the failure report

mod common;
mod goldens;

use std::path::Path;

use meshcast_engine::reconviagen::{
    Aggregator, AggregatorConfig, Dinov2, Dinov2Config, Precision, Trace,
};
use meshcast_engine::weights::{WeightsError, declared_shapes, load_strict};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// The reduced ViT both goldens use: 70 px, 14-px patches, width 32, 2 blocks, 2 heads.
const SMALL_VIT: Dinov2Config = Dinov2Config {
    img_size: 70,
    patch_size: 14,
    embed_dim: 32,
    depth: 2,
    heads: 2,
    mlp_ratio: 4,
    registers: 4,
};

/// Float32 agreement: max |ours − reference| ≤ 1e-4 · max(1, max |reference|) (the reference's
/// own CUDA-vs-CPU float32 spread is below 5e-6 on these modules).
fn assert_close(name: &str, ours: &Tensor, reference: &Tensor, device: Device) {
    assert_eq!(ours.size(), reference.size(), "{device:?} {name}: shape");
    let ours = ours.to_device(Device::Cpu).to_kind(Kind::Float);
    let scale = reference.abs().max().double_value(&[]).max(1.0);
    let err = (&ours - reference).abs().max().double_value(&[]);
    println!("{device:?} {name}: max abs error {err:.2e} (scale {scale:.2})");
    assert!(err <= 1e-4 * scale, "{device:?} {name}: max abs error {err} > {}", 1e-4 * scale);
}

/// Relative L2 error `‖ours − reference‖ / ‖reference‖`.
fn rel_l2(ours: &Tensor, reference: &Tensor) -> f64 {
    let ours = ours.to_device(Device::Cpu).to_kind(Kind::Float);
    (ours - reference).norm().double_value(&[]) / reference.norm().double_value(&[])
}

#[test]
fn dinov2_matches_the_reference_image_condition() {
    let dir = goldens::dir().join("dinov2_image_cond");
    let inputs = goldens::read(&dir.join("inputs.safetensors"));
    let outputs = goldens::read(&dir.join("outputs.safetensors"));
    for device in common::test_devices() {
        let vs = VarStore::new(device);
        let model = Dinov2::new(&vs.root(), SMALL_VIT).unwrap();
        let report = load_strict(&vs, &dir.join("weights.safetensors"), "").unwrap();
        assert_eq!((report.tensors, report.skipped), (36, 0));
        let mut trace = Trace::recording();
        let images = inputs["images"].to_device(device);
        let out = tch::no_grad(|| model.forward(&images, Precision::Float32, &mut trace)).unwrap();
        for name in ["normalized_images", "tokens_prepared", "blocks.0", "blocks.1", "x_prenorm"] {
            if let Some(reference) = outputs.get(name) {
                assert_close(name, trace.get(name).unwrap(), reference, device);
            }
        }
        // The pipeline's condition: the pre-norm tokens through a non-affine layer norm.
        let cond =
            out.prenorm.layer_norm([32].as_slice(), None::<Tensor>, None::<Tensor>, 1e-5, false);
        assert_close("image_cond", &cond, &outputs["image_cond"], device);
    }
}

fn small_aggregator() -> AggregatorConfig {
    AggregatorConfig {
        patch_embed: SMALL_VIT,
        embed_dim: 32,
        depth: 2,
        heads: 2,
        mlp_ratio: 4,
        registers: 4,
        rope_base: 100.0,
    }
}

#[test]
fn vggt_aggregator_matches_the_reference_in_float32_and_bf16() {
    let dir = goldens::dir().join("vggt_aggregator");
    let inputs = goldens::read(&dir.join("inputs.safetensors"));
    let outputs = goldens::read(&dir.join("outputs.safetensors"));
    let lowp = goldens::read(&dir.join("outputs_lowp.safetensors"));
    for device in common::test_devices() {
        let vs = VarStore::new(device);
        let model = Aggregator::new(&vs.root(), small_aggregator()).unwrap();
        let report = load_strict(&vs, &dir.join("weights.safetensors"), "").unwrap();
        assert_eq!(report.tensors, 110);
        let images = inputs["images"].to_device(device);
        let mut trace = Trace::recording();
        let out = tch::no_grad(|| model.forward(&images, &[0, 1], Precision::Float32, &mut trace))
            .unwrap();
        assert_eq!(
            trace.get("tokens_in.pos").unwrap().to_device(Device::Cpu),
            outputs["tokens_in.pos"],
            "{device:?}: RoPE positions"
        );
        for name in [
            "patch_embed.x_prenorm",
            "patch_embed.x_norm_patchtokens",
            "tokens_in",
            "frame_blocks.0",
            "global_blocks.0",
        ] {
            assert_close(name, trace.get(name).unwrap(), &outputs[name], device);
        }
        for (i, ours) in out.iter().enumerate() {
            assert_close(
                &format!("aggregated.{i}"),
                ours,
                &outputs[&format!("aggregated.{i}")],
                device,
            );
        }

        // bf16 autocast, emulated: within 1e-2 relative L2 of the reference's own bf16 run and
        // of the float32 result (the reference's bf16 run is 4.3e-3 from its float32 one).
        let bf16 = tch::no_grad(|| {
            model.forward(&images, &[0, 1], Precision::Bf16Autocast, &mut Trace::off())
        })
        .unwrap();
        for (i, ours) in bf16.iter().enumerate() {
            let key = format!("aggregated.{i}");
            let (to_lowp, to_f32) = (rel_l2(ours, &lowp[&key]), rel_l2(ours, &outputs[&key]));
            println!(
                "{device:?} bf16 {key}: rel-L2 {to_lowp:.2e} to reference bf16, {to_f32:.2e} to float32"
            );
            assert!(to_lowp < 1e-2 && to_f32 < 1e-2, "{device:?} bf16 {key}");
            assert!(to_f32 > 1e-5, "{device:?} bf16 {key}: no bf16 rounding happened");
        }
    }
}

/// The full-size modules declare the released checkpoints' keys and shapes, one for one
/// (parameters are allocated but never touched, so this costs no real memory).
#[test]
fn full_size_modules_declare_the_released_keys() {
    let vs = VarStore::new(Device::Cpu);
    let _dino = Dinov2::new(&vs.root(), Dinov2Config::VITL14_REG).unwrap();
    assert_eq!(declared_shapes(&vs), goldens::released_shapes("dinov2_vitl14_reg.json", ""));
    let vs = VarStore::new(Device::Cpu);
    let _aggregator = Aggregator::new(&vs.root(), AggregatorConfig::VGGT).unwrap();
    let released = goldens::released_shapes("vggt.json", "aggregator.");
    assert_eq!(released.len(), 1210);
    assert_eq!(declared_shapes(&vs), released);
}

/// A model too large for the device is an error from its constructor, not a panic: a job
/// asking for more memory than there is fails and the server goes on.
#[test]
fn a_model_that_does_not_fit_is_an_error() {
    let vs = VarStore::new(Device::Cpu);
    let huge = Dinov2Config { embed_dim: 1 << 31, ..SMALL_VIT };
    assert!(Dinov2::new(&vs.root(), huge).is_err());
}

/// Writes `tensors` as a safetensors file.
fn write(path: &Path, tensors: &[(String, Tensor)]) {
    let refs: Vec<(&str, &Tensor)> = tensors.iter().map(|(k, t)| (k.as_str(), t)).collect();
    Tensor::write_safetensors(&refs, path).unwrap();
}

#[test]
fn broken_checkpoints_fail_naming_the_file_and_key() {
    let good = goldens::dir().join("dinov2_image_cond/weights.safetensors");
    let tensors: Vec<(String, Tensor)> = Tensor::read_safetensors(&good).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fresh = || {
        let vs = VarStore::new(Device::Cpu);
        let model = Dinov2::new(&vs.root(), SMALL_VIT).unwrap();
        (vs, model)
    };

    // Truncated: the header promises more bytes than there are.
    let bytes = std::fs::read(&good).unwrap();
    let truncated = dir.path().join("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let (vs, _model) = fresh();
    let err = load_strict(&vs, &truncated, "").unwrap_err();
    assert!(matches!(err, WeightsError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("truncated.safetensors"), "{err}");
    // Not safetensors at all, and a missing file.
    let junk = dir.path().join("junk.safetensors");
    std::fs::write(&junk, b"\xff\xff\xff\xff\xff\xff\xff\xffnot json").unwrap();
    assert!(matches!(load_strict(&vs, &junk, "").unwrap_err(), WeightsError::Corrupt { .. }));
    let absent = dir.path().join("absent.safetensors");
    assert!(matches!(load_strict(&vs, &absent, "").unwrap_err(), WeightsError::Io { .. }));

    // One key renamed: one missing, one unexpected, both named.
    let renamed: Vec<(String, Tensor)> = tensors
        .iter()
        .map(|(k, t)| {
            let k =
                if k == "blocks.1.ls2.gamma" { "blocks.1.ls2.scale".to_owned() } else { k.clone() };
            (k, t.shallow_clone())
        })
        .collect();
    let path = dir.path().join("renamed.safetensors");
    write(&path, &renamed);
    let message = load_strict(&vs, &path, "").unwrap_err().to_string();
    assert!(
        message.contains("1 missing key(s): blocks.1.ls2.gamma")
            && message.contains("1 unexpected key(s): blocks.1.ls2.scale"),
        "{message}"
    );

    // A wrong shape and a non-float dtype, named by key; nothing is loaded before the check.
    let reshaped: Vec<(String, Tensor)> = tensors
        .iter()
        .map(|(k, t)| {
            let t = if k == "pos_embed" { t.narrow(1, 0, 10) } else { t.shallow_clone() };
            (k.clone(), t)
        })
        .collect();
    let path = dir.path().join("reshaped.safetensors");
    write(&path, &reshaped);
    let (vs, _model) = fresh();
    let before = vs.root().get("cls_token").unwrap().copy();
    let err = load_strict(&vs, &path, "").unwrap_err();
    assert!(
        matches!(&err, WeightsError::Shape { key, found, .. } if key == "pos_embed" && found == &[1, 10, 32]),
        "{err}"
    );
    assert!(vs.root().get("cls_token").unwrap().equal(&before), "a failed load changed weights");
    let integer: Vec<(String, Tensor)> = tensors
        .iter()
        .map(|(k, t)| {
            let t = if k == "norm.bias" { t.to_kind(Kind::Int) } else { t.shallow_clone() };
            (k.clone(), t)
        })
        .collect();
    let path = dir.path().join("integer.safetensors");
    write(&path, &integer);
    let err = load_strict(&vs, &path, "").unwrap_err();
    assert!(matches!(&err, WeightsError::Dtype { key, .. } if key == "norm.bias"), "{err}");

    // Half-precision files load (widened), as the released fp16 checkpoints need.
    let half: Vec<(String, Tensor)> =
        tensors.iter().map(|(k, t)| (k.clone(), t.to_kind(Kind::Half))).collect();
    let path = dir.path().join("half.safetensors");
    write(&path, &half);
    load_strict(&vs, &path, "").unwrap();
    let loaded = vs.root().get("pos_embed").unwrap();
    let expected = &tensors.iter().find(|(k, _)| k == "pos_embed").unwrap().1;
    assert!(loaded.allclose(&expected.to_kind(Kind::Half).to_kind(Kind::Float), 0.0, 0.0, false));
}
