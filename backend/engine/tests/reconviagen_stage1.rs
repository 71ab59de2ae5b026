//! Stage 1 end to end on small modules with random weights (each module is checked against the
//! reference on its own in the other reconviagen tests): views in, occupied voxels out, one
//! progress report per sampling step, reproducible for a seed; bad inputs refused before any
//! model runs.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

mod common;

use meshcast_engine::reconviagen::condition::{
    ConditionConfig, SparseStructureCondition, VGGT_LAYERS,
};
use meshcast_engine::reconviagen::decoder::{DecoderConfig, SparseStructureDecoder};
use meshcast_engine::reconviagen::flow::{FlowConfig, SparseStructureFlow};
use meshcast_engine::reconviagen::sampler::SamplerSettings;
use meshcast_engine::reconviagen::stage1::{MAX_VIEWS, Stage1, Stage1Error, standard_normal};
use meshcast_engine::reconviagen::{Aggregator, AggregatorConfig, Dinov2, Dinov2Config, Precision};
use tch::nn::VarStore;
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

/// Every parameter drawn from N(0, 0.3²) (norm weights around 1), seeded.
fn randomize(vs: &VarStore) {
    tch::manual_seed(11);
    tch::no_grad(|| {
        // In name order: the store hands them out in hash order, which differs per process.
        let mut variables: Vec<_> = vs.variables().into_iter().collect();
        variables.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, mut t) in variables {
            let _ = t.normal_(0.0, 0.3);
            if name.ends_with("norm1.weight")
                || name.ends_with("norm2.weight")
                || name.ends_with("norm.weight")
            {
                let _ = t.fill_(1.0);
            }
        }
    });
}

#[test]
fn views_become_voxels_with_progress() {
    for device in common::test_devices() {
        let vs = VarStore::new(device);
        let root = vs.root();
        let dino = Dinov2::new(&(&root / "dino"), VIT).unwrap();
        let aggregator = Aggregator::new(
            &(&root / "vggt"),
            AggregatorConfig {
                patch_embed: VIT,
                embed_dim: 8,
                depth: 24,
                heads: 2,
                mlp_ratio: 4,
                registers: 4,
                rope_base: 100.0,
            },
        )
        .unwrap();
        let condition = SparseStructureCondition::new(
            &(&root / "cond"),
            ConditionConfig { channels: 8, context_channels: 24, heads: 2, tokens: 4 },
        )
        .unwrap();
        let flow = SparseStructureFlow::new(
            &(&root / "flow"),
            FlowConfig {
                resolution: 4,
                in_channels: 2,
                out_channels: 2,
                model_channels: 8,
                cond_channels: 8,
                blocks: 1,
                heads: 2,
                patch_size: 1,
            },
        )
        .unwrap();
        let decoder = SparseStructureDecoder::new(
            &(&root / "dec"),
            &DecoderConfig {
                latent_channels: 2,
                out_channels: 1,
                channels: vec![4, 4],
                res_blocks: 1,
                middle_blocks: 1,
            },
        )
        .unwrap();
        randomize(&vs);
        let stage1 = Stage1 {
            dino: &dino,
            aggregator: &aggregator,
            condition: &condition,
            flow: &flow,
            decoder: &decoder,
            layers: VGGT_LAYERS,
            latent: [2, 4, 4, 4],
            sampler: SamplerSettings::STAGE1,
            aggregator_precision: Precision::vggt_on(device),
            trellis_precision: Precision::trellis_on(device),
        };
        tch::manual_seed(5);
        let views: Vec<Tensor> =
            (0..2).map(|_| Tensor::rand([3, 28, 28], (Kind::Float, device))).collect();
        let mut steps = Vec::new();
        let coords = stage1.run(&views, None, 7, |s, n| steps.push((s, n))).unwrap();
        assert_eq!(steps.len(), 30, "{device:?}");
        assert_eq!(steps.last(), Some(&(30, 30)));
        assert_eq!(coords.kind(), Kind::Int);
        assert_eq!(coords.size()[1], 4);
        let m = coords.size()[0];
        assert!(m > 0 && m < 8 * 8 * 8, "{device:?}: {m} voxels");
        let c = coords.to_device(Device::Cpu);
        assert_eq!(c.select(1, 0).abs().max().int64_value(&[]), 0, "batch 0 only");
        assert!(
            c.narrow(1, 1, 3).min().int64_value(&[]) >= 0
                && c.narrow(1, 1, 3).max().int64_value(&[]) < 8
        );
        // The same seed gives the same voxels, without drawing from libtorch's global
        // generator; given noise is used as is.
        tch::manual_seed(11);
        let again = stage1.run(&views, None, 7, |_, _| {}).unwrap();
        assert!(again.equal(&coords), "{device:?}: not reproducible");
        let after = Tensor::rand([4], (Kind::Float, Device::Cpu));
        tch::manual_seed(11);
        assert!(after.equal(&Tensor::rand([4], (Kind::Float, Device::Cpu))), "global RNG moved");
        let noise = standard_normal(&[1, 2, 4, 4, 4], 7).unwrap();
        assert!(stage1.run(&views, Some(&noise), 0, |_, _| {}).unwrap().equal(&coords));
        let other = stage1.run(&views, None, 8, |_, _| {}).unwrap();
        assert!(!other.equal(&coords), "{device:?}: the seed is ignored");

        // Bad input, refused before any model runs.
        assert!(matches!(stage1.run(&[], None, 0, |_, _| {}), Err(Stage1Error::NoViews)));
        let mixed = [views[0].shallow_clone(), Tensor::rand([3, 42, 42], (Kind::Float, device))];
        let err = stage1.run(&mixed, None, 0, |_, _| panic!("no step may run")).unwrap_err();
        assert!(matches!(err, Stage1Error::ViewShape { index: 1, .. }), "{err}");
        let many: Vec<Tensor> = (0..=MAX_VIEWS).map(|_| views[0].shallow_clone()).collect();
        let err = stage1.run(&many, None, 0, |_, _| panic!("no step may run")).unwrap_err();
        assert!(err.to_string().contains("33 views"), "{err}");
    }
}
