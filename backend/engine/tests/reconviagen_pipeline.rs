//! The whole ReconViaGen pipeline end to end on small modules with random weights (each module
//! is checked against the reference on its own in the other reconviagen tests): views in, a
//! textured mesh that Khronos' validator accepts out, each step reported in order, cancellation
//! between steps, and bad views refused before any model runs.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // test helpers: a panic is the failure report

mod common;

use std::sync::atomic::AtomicBool;

use common::khronos::khronos_validate;
use meshcast_engine::export::write_glb;
use meshcast_engine::reconviagen::condition::ConditionConfig;
use meshcast_engine::reconviagen::decoder::DecoderConfig;
use meshcast_engine::reconviagen::flow::FlowConfig;
use meshcast_engine::reconviagen::glb::GlbOptions;
use meshcast_engine::reconviagen::mesh_decoder::MeshDecoderConfig;
use meshcast_engine::reconviagen::pipeline::{Models, PipelineConfig, PipelineError, Step};
use meshcast_engine::reconviagen::slat_condition::SlatConditionConfig;
use meshcast_engine::reconviagen::slat_flow::SlatFlowConfig;
use meshcast_engine::reconviagen::stage1::Stage1Error;
use meshcast_engine::reconviagen::swin_transformer::SwinConfig;
use meshcast_engine::reconviagen::{AggregatorConfig, Dinov2Config};
use tch::{Device, Kind, Tensor};

const VIT: Dinov2Config = Dinov2Config {
    img_size: 28,
    patch_size: 14,
    embed_dim: 8,
    depth: 1,
    heads: 2,
    mlp_ratio: 4,
    registers: 4,
};

/// Widths that fit together: VGGT 2 × 8, DINOv2 8, latents 8 channels, 16³ stage 1.
fn small() -> PipelineConfig {
    PipelineConfig {
        dino: VIT,
        aggregator: AggregatorConfig {
            patch_embed: VIT,
            embed_dim: 8,
            depth: 2,
            heads: 2,
            mlp_ratio: 4,
            registers: 4,
            rope_base: 100.0,
        },
        layers: [0, 1, 1, 1],
        ss_condition: ConditionConfig { channels: 8, context_channels: 24, heads: 2, tokens: 4 },
        ss_flow: FlowConfig {
            resolution: 4,
            in_channels: 2,
            out_channels: 2,
            model_channels: 8,
            cond_channels: 8,
            blocks: 1,
            heads: 2,
            patch_size: 1,
        },
        ss_decoder: DecoderConfig {
            latent_channels: 2,
            out_channels: 1,
            channels: vec![4, 4, 4],
            res_blocks: 1,
            middle_blocks: 1,
        },
        slat_condition: SlatConditionConfig { vggt: 16, dino: 8 },
        slat_flow: SlatFlowConfig {
            latent_channels: 8,
            model_channels: 16,
            cond_channels: 8,
            blocks: 1,
            heads: 2,
            io_res_blocks: 1,
            io_channels: vec![8],
        },
        mesh_decoder: MeshDecoderConfig {
            trunk: SwinConfig {
                latent_channels: 8,
                model_channels: 256,
                blocks: 1,
                heads: 4,
                mlp_ratio: 1,
                window: 8,
            },
            resolution: 16,
        },
    }
}

/// Every parameter drawn from N(0, 1/fan_in) (norm weights 1, vectors small), seeded, in
/// name order (the stores hand them out in hash order).
fn randomize(models: &Models) {
    tch::manual_seed(11);
    tch::no_grad(|| {
        for store in models.stores() {
            let mut variables: Vec<_> = store.variables().into_iter().collect();
            variables.sort_by(|a, b| a.0.cmp(&b.0));
            for (name, mut t) in variables {
                let size = t.size();
                if name.contains("norm") && name.ends_with("weight") && size.len() == 1 {
                    let _ = t.fill_(1.0);
                } else if size.len() >= 2 {
                    let fan_in: i64 = size[1..].iter().product();
                    let _ = t.normal_(0.0, 1.0 / (fan_in as f64).sqrt());
                } else {
                    let _ = t.normal_(0.0, 0.05);
                }
            }
        }
    });
}

#[test]
fn views_become_a_textured_mesh_step_by_step() {
    let models = Models::new(small(), Device::Cpu).unwrap();
    randomize(&models);
    tch::manual_seed(5);
    let views: Vec<Tensor> =
        (0..2).map(|_| Tensor::rand([3, 28, 28], (Kind::Float, Device::Cpu))).collect();
    let options = GlbOptions { keep: 0.2, max_error: 1e-2, texture_size: 256 };
    let mut steps: Vec<Step> = Vec::new();
    let result = models
        .run(&views, 7, options, &AtomicBool::new(false), |step, f| {
            assert!((0.0..=1.0).contains(&f), "{step:?} {f}");
            if steps.last() != Some(&step) {
                steps.push(step);
            }
        })
        .unwrap();
    assert_eq!(steps, [Step::Encoders, Step::Stage1, Step::Stage2, Step::Decode, Step::Glb]);
    println!(
        "{} voxels, {} decoded triangles, {} in the GLB",
        result.voxels,
        result.decoded_triangles,
        result.glb.triangles.len()
    );
    assert!(result.voxels > 0 && !result.glb.triangles.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("result.glb");
    write_glb(&result.glb, &file).unwrap();
    khronos_validate(&file);

    // Cancelled: stops after the step running when the flag is seen.
    let cancel = AtomicBool::new(true);
    let err = models.run(&views, 7, options, &cancel, |_, _| {}).unwrap_err();
    assert!(matches!(err, PipelineError::Cancelled), "{err}");
    // Bad views: refused before any model runs.
    let err = models.run(&[], 7, options, &AtomicBool::new(false), |_, _| {}).unwrap_err();
    assert!(matches!(err, PipelineError::Stage1(Stage1Error::NoViews)), "{err}");
}
