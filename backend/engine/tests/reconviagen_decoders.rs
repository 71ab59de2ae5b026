//! The structured-latent decoders against the reference (tests/data/goldens/reconviagen/
//! slat_decoder_gs, slat_decoder_mesh: reduced widths, fp16 weights as released): the swin
//! trunk's intermediates (both window shifts), the Gaussian head's raw and activated
//! attributes; the full-size decoders' keys against the released manifests.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // test helpers: a panic is the failure report

mod common;
mod goldens;

use common::khronos::khronos_validate;

use meshcast_engine::export::write_glb;
use meshcast_engine::reconviagen::flexicubes;
use meshcast_engine::reconviagen::gaussian_decoder::{GaussianDecoder, GaussianDecoderConfig};
use meshcast_engine::reconviagen::glb::{GlbOptions, textured};
use meshcast_engine::reconviagen::mesh_decoder::{MeshDecoder, MeshDecoderConfig};
use meshcast_engine::reconviagen::sparse::SparseTensor;
use meshcast_engine::reconviagen::swin_transformer::SwinConfig;
use meshcast_engine::reconviagen::{Precision, Trace};
use meshcast_engine::weights::{declared_shapes, load_strict};
use tch::nn::VarStore;
use tch::{Device, Tensor};

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
            goldens::assert_close(
                &format!("{device:?} {name}"),
                trace.get(name).unwrap(),
                reference,
            );
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
            goldens::assert_close(
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
            goldens::assert_close(
                &format!("{device:?} {name}"),
                trace.get(name).unwrap(),
                reference,
            );
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
        goldens::assert_close(
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

/// The reference's decoded mesh made into a GLB: decimated to the kept share, y-up, its vertex
/// colours baked into a texture that reads them back at the vertices, and a file Khronos'
/// validator accepts with no errors or warnings.
#[test]
fn decoded_mesh_becomes_a_valid_textured_glb() {
    let dir = goldens::dir().join("slat_decoder_mesh");
    let outputs = goldens::read(&dir.join("outputs.safetensors"));
    let head = SparseTensor::from_batched(
        &outputs["out_layer.coords"],
        outputs["out_layer.feats"].shallow_clone(),
    )
    .unwrap();
    let mut mesh = tch::no_grad(|| flexicubes::extract(&head, 64, &mut Trace::off())).unwrap();
    // A smooth colour field (the position), so that a texel near a vertex has its colour; the
    // random-weight decoder's colours change from one vertex to the next.
    mesh.colors =
        Tensor::cat(&[mesh.vertices.shallow_clone() + 0.5, mesh.vertices.zeros_like()], 1);
    let options = GlbOptions { keep: 0.5, max_error: 1e-2, texture_size: 256 };
    let glb = tch::no_grad(|| textured(&mesh, options)).unwrap();
    let faces = glb.triangles.len();
    println!("{faces} triangles of 7500 after simplification");
    assert!((3000..=3900).contains(&faces), "{faces} triangles");
    // y-up: the reference's z extent is now y's.
    let span = |axis: usize, rows: &[[f32; 3]]| {
        let (lo, hi) = rows
            .iter()
            .fold((f32::MAX, f32::MIN), |(lo, hi), p| (lo.min(p[axis]), hi.max(p[axis])));
        hi - lo
    };
    let z: Vec<[f32; 3]> = Vec::<f32>::try_from(mesh.vertices.reshape([-1]))
        .unwrap()
        .chunks(3)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    assert!((span(1, &glb.positions) - span(2, &z)).abs() < 0.05, "y extent");
    // The texture gives the colours back inside every triangle: at its centroid in UV, the mean
    // of its vertices' colours (vertices found by their exact positions, turned back to z-up).
    let colours: std::collections::HashMap<[u32; 3], [f32; 3]> = z
        .iter()
        .zip(
            Vec::<f32>::try_from(mesh.colors.narrow(1, 0, 3).contiguous().reshape([-1]))
                .unwrap()
                .chunks(3),
        )
        .map(|(p, c)| (p.map(f32::to_bits), [c[0], c[1], c[2]]))
        .collect();
    let material = glb.material.as_ref().unwrap();
    let (w, h) = material.base_color.dimensions();
    let uvs = glb.uvs.as_ref().unwrap();
    let mut errors: Vec<f32> = glb
        .triangles
        .iter()
        .map(|t| {
            let corner = |k: usize| {
                let p = glb.positions[t[k] as usize];
                (colours[&[p[0], -p[2], p[1]].map(f32::to_bits)], uvs[t[k] as usize])
            };
            let corners = [corner(0), corner(1), corner(2)];
            let mean = |f: &dyn Fn(usize) -> f32| (f(0) + f(1) + f(2)) / 3.0;
            let (u, v) = (mean(&|k| corners[k].1[0]), mean(&|k| corners[k].1[1]));
            let x = ((u * w as f32) as u32).min(w - 1);
            let y = ((v * h as f32) as u32).min(h - 1);
            let texel = material.base_color.get_pixel(x, y).0;
            (0..3)
                .map(|c| (f32::from(texel[c]) / 255.0 - mean(&|k| corners[k].0[c])).abs())
                .fold(0.0, f32::max)
        })
        .collect();
    errors.sort_by(f32::total_cmp);
    let (median, p90) = (errors[errors.len() / 2], errors[errors.len() * 9 / 10]);
    println!("texel vs triangle colour: median {median:.3}, 90th percentile {p90:.3}");
    assert!(median < 0.03 && p90 < 0.1, "baked colours: median {median}, p90 {p90}");
    let path = tempfile::tempdir().unwrap();
    let file = path.path().join("mesh.glb");
    write_glb(&glb, &file).unwrap();
    khronos_validate(&file);
}
