//! The structured-latent decoders against the reference (tests/data/goldens/reconviagen/
//! slat_decoder_gs, slat_decoder_mesh: reduced widths, fp16 weights as released): the swin
//! trunk's intermediates (both window shifts), the Gaussian head's raw and activated
//! attributes; the full-size decoders' keys against the released manifests.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // test helpers: a panic is the failure report

mod common;
mod goldens;

use meshcast_engine::reconviagen::flexicubes;
use meshcast_engine::reconviagen::gaussian_decoder::{GaussianDecoder, GaussianDecoderConfig};
use meshcast_engine::reconviagen::mesh_decoder::{MeshDecoder, MeshDecoderConfig};
use meshcast_engine::reconviagen::sparse::SparseTensor;
use meshcast_engine::reconviagen::swin_transformer::SwinConfig;
use meshcast_engine::reconviagen::{Precision, Trace};
use meshcast_engine::weights::{declared_shapes, load_strict};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// Max |ours − reference| within 1e-4 of the reference's scale (README's threshold).
fn assert_close(what: &str, ours: &Tensor, reference: &Tensor) {
    assert_eq!(ours.size(), reference.size(), "{what}: shape");
    let scale = reference.abs().max().double_value(&[]).max(1.0);
    let err = (ours.to_device(Device::Cpu).to_kind(Kind::Float) - reference)
        .abs()
        .max()
        .double_value(&[]);
    println!("{what}: max abs error {err:.2e} (scale {scale:.2})");
    assert!(err <= 1e-4 * scale, "{what}: {err}");
}

#[test]
fn gaussian_decoder_matches_the_reference() {
    let dir = goldens::dir().join("slat_decoder_gs");
    let inputs = goldens::read(&dir.join("inputs.safetensors"));
    let outputs = goldens::read(&dir.join("outputs.safetensors"));
    let config = GaussianDecoderConfig {
        trunk: SwinConfig {
            latent_channels: 8,
            model_channels: 32,
            blocks: 2,
            heads: 2,
            mlp_ratio: 4,
            window: 8,
        },
        resolution: 16,
        ..GaussianDecoderConfig::RELEASED
    };
    for device in common::test_devices() {
        let vs = VarStore::new(device);
        let decoder = GaussianDecoder::new(&vs.root(), config).unwrap();
        load_strict(&vs, &dir.join("weights.safetensors"), "").unwrap();
        let x = SparseTensor::from_batched(
            &inputs["coords"].to_device(device),
            inputs["feats"].to_device(device),
        )
        .unwrap();
        let mut trace = Trace::recording();
        let g = tch::no_grad(|| decoder.forward(&x, Precision::Float32, &mut trace)).unwrap();
        for name in ["input_layer", "blocks.0", "blocks.1", "out_layer"] {
            let reference = &outputs[&format!("{name}.feats")];
            assert_close(&format!("{device:?} {name}"), trace.get(name).unwrap(), reference);
        }
        let activated = tch::no_grad(|| {
            [g.positions(), g.scales(), g.rotations(), g.opacities()].map(Result::unwrap)
        });
        for (name, ours) in [
            ("_xyz", &g.xyz),
            ("_features_dc", &g.features_dc),
            ("_scaling", &g.scaling),
            ("_rotation", &g.rotation),
            ("_opacity", &g.opacity),
            ("get_xyz", &activated[0]),
            ("get_scaling", &activated[1]),
            ("get_rotation", &activated[2]),
            ("get_opacity", &activated[3]),
            ("get_features", &g.features_dc),
        ] {
            assert_close(
                &format!("{device:?} {name}"),
                ours,
                &outputs[&format!("gaussian.{name}")],
            );
        }
    }
}

#[test]
fn full_size_decoders_declare_the_released_keys() {
    let vs = VarStore::new(Device::Cpu);
    let _gs = GaussianDecoder::new(&vs.root(), GaussianDecoderConfig::RELEASED).unwrap();
    assert_eq!(declared_shapes(&vs), goldens::released_shapes("slat_decoder_gs.json", ""));
    let vs = VarStore::new(Device::Cpu);
    let _mesh = MeshDecoder::new(&vs.root(), MeshDecoderConfig::RELEASED).unwrap();
    assert_eq!(declared_shapes(&vs), goldens::released_shapes("slat_decoder_mesh.json", ""));
}

#[test]
fn mesh_decoder_head_matches_the_reference() {
    let dir = goldens::dir().join("slat_decoder_mesh");
    let inputs = goldens::read(&dir.join("inputs.safetensors"));
    let outputs = goldens::read(&dir.join("outputs.safetensors"));
    let config = MeshDecoderConfig {
        trunk: SwinConfig {
            latent_channels: 8,
            model_channels: 256,
            blocks: 1,
            heads: 4,
            mlp_ratio: 1,
            window: 8,
        },
        resolution: 16,
    };
    for device in common::test_devices() {
        let vs = VarStore::new(device);
        let decoder = MeshDecoder::new(&vs.root(), config).unwrap();
        load_strict(&vs, &dir.join("weights.safetensors"), "").unwrap();
        let x = SparseTensor::from_batched(
            &inputs["coords"].to_device(device),
            inputs["feats"].to_device(device),
        )
        .unwrap();
        let mut trace = Trace::recording();
        let head = tch::no_grad(|| decoder.forward(&x, Precision::Float32, &mut trace)).unwrap();
        for name in ["input_layer", "blocks.0", "upsample.0", "upsample.1", "out_layer"] {
            let reference = &outputs[&format!("{name}.feats")];
            assert_close(&format!("{device:?} {name}"), trace.get(name).unwrap(), reference);
        }
        let coords = head.batched_coords().unwrap().to_device(Device::Cpu);
        assert!(coords.equal(&outputs["out_layer.coords"]), "{device:?}: fine voxels differ");
    }
}

/// FlexiCubes on the reference's stored head output (so that this test checks the extraction
/// alone): the grid vertices and their averaged values, then the mesh — faces exactly, vertices
/// and colours within 1e-5 (README's thresholds).
#[test]
fn flexicubes_extracts_the_reference_mesh() {
    let dir = goldens::dir().join("slat_decoder_mesh");
    let outputs = goldens::read(&dir.join("outputs.safetensors"));
    for device in common::test_devices() {
        let head = SparseTensor::from_batched(
            &outputs["out_layer.coords"].to_device(device),
            outputs["out_layer.feats"].to_device(device),
        )
        .unwrap();
        let mut trace = Trace::recording();
        let mesh = tch::no_grad(|| flexicubes::extract(&head, 64, &mut trace)).unwrap();
        let v_pos = trace.get("fc.v_pos").unwrap().to_device(Device::Cpu);
        assert!(v_pos.equal(&outputs["fc.v_pos"]), "{device:?}: grid vertices differ");
        assert_close(
            &format!("{device:?} fc.v_attrs"),
            trace.get("fc.v_attrs").unwrap(),
            &outputs["fc.v_attrs"],
        );
        println!(
            "{device:?}: {} vertices, {} faces",
            mesh.vertices.size()[0],
            mesh.faces.size()[0]
        );
        assert_eq!(mesh.faces.size(), outputs["mesh.faces"].size());
        assert!(
            mesh.faces.to_device(Device::Cpu).equal(&outputs["mesh.faces"]),
            "{device:?}: faces differ"
        );
        for (name, ours) in [("vertices", &mesh.vertices), ("vertex_attrs", &mesh.colors)] {
            let reference = &outputs[&format!("mesh.{name}")];
            assert_eq!(ours.size(), reference.size(), "{name}");
            let err = (ours.to_device(Device::Cpu) - reference).abs().max().double_value(&[]);
            println!("{device:?} mesh.{name}: max abs error {err:.2e}");
            assert!(err <= 1e-5, "{device:?} mesh.{name}: {err}");
        }
    }
}
