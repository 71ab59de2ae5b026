//! The whole ReconViaGen pipeline end to end on small modules with random weights (each module
//! is checked against the reference on its own in the other reconviagen tests): views in, a
//! textured mesh that Khronos' validator accepts out, each step reported in order, cancellation
//! between steps, and bad views refused before any model runs.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // test helpers: a panic is the failure report

mod common;

use std::sync::atomic::AtomicBool;

use common::khronos::khronos_validate;
use meshcast_engine::export::write_glb;
use meshcast_engine::reconviagen::glb::GlbOptions;
use meshcast_engine::reconviagen::pipeline::{Models, PipelineConfig, PipelineError, Step};
use meshcast_engine::reconviagen::stage1::Stage1Error;
use tch::{Device, Kind, Tensor};

#[test]
fn views_become_a_textured_mesh_step_by_step() {
    let models = Models::new(PipelineConfig::miniature(), Device::Cpu).unwrap();
    models.randomize(11);
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
