//! nvdiffrec end to end on the CPU: the tiny preset on the 96-px Suzanne reaches the issue's
//! mask IoU on the held-out views; configuration errors are caught before any work.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // test helpers: a panic is the failure report

mod common;

use std::path::Path;
use std::sync::atomic::AtomicBool;

use meshcast_engine::dataset::{LoadOptions, load};
use meshcast_engine::nvdiffrec::bake::{bake, unwrap};
use meshcast_engine::nvdiffrec::{
    Config, MeshSnapshot, Observer, Preset, Progress, run_pass1, run_pass2,
};

#[derive(Default)]
struct Record {
    progress: Vec<Progress>,
    snapshots: Vec<MeshSnapshot>,
}

impl Observer for Record {
    fn progress(&mut self, progress: &Progress) {
        if progress.iteration.is_multiple_of(25) || progress.psnr.is_some() {
            println!("{progress:?}");
        }
        self.progress.push(progress.clone());
    }
    fn snapshot(&mut self, snapshot: &MeshSnapshot) {
        self.snapshots.push(snapshot.clone());
    }
}

#[test]
fn tiny_preset_recovers_suzanne_silhouettes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/suzanne-96");
    let overrides = serde_json::json!({ "image_size": 96, "iterations": 300 });
    let config = Config::from_preset_and_json(Preset::Tiny, Some(&overrides)).unwrap();
    let dataset = load(&dir, LoadOptions { max_side: config.image_size }).unwrap();
    for device in common::test_devices() {
        let mut record = Record::default();
        let out = run_pass1(&dataset, &config, device, &mut record, &AtomicBool::new(false), None)
            .unwrap();
        let eval = out.evaluation.unwrap();
        println!(
            "{device:?}: {eval:?} in {:.1} s, {} triangles",
            out.seconds,
            out.mesh.triangles.size()[0]
        );
        assert!(eval.mask_iou >= 0.95, "{device:?}: mask IoU {}", eval.mask_iou);
        assert!(eval.psnr >= 25.0, "{device:?}: PSNR {}", eval.psnr);
        assert_eq!(record.progress.len(), 300);
        assert_eq!(record.snapshots.len(), 300 / 20);
        let last = &record.snapshots[record.snapshots.len() - 1];
        assert_eq!(last.positions.len(), last.colors.len());

        // Pass 2: unwrap, bake, refine; the textured mesh keeps the silhouettes.
        let unwrapped = unwrap(&out.mesh, config.texture_size).unwrap();
        let baked = bake(&unwrapped, &out.materials, 4).unwrap();
        let config2 = Config { pass2_iterations: 50, ..config.clone() };
        let refined = run_pass2(
            &dataset,
            &config2,
            device,
            &mut record,
            &AtomicBool::new(false),
            &out,
            &unwrapped,
            &baked,
        )
        .unwrap();
        let eval2 = refined.evaluation.unwrap();
        println!("{device:?}: textured {eval2:?} in {:.1} s", refined.seconds);
        assert!(eval2.mask_iou >= 0.95, "{device:?}: textured mask IoU {}", eval2.mask_iou);
        assert!(eval2.psnr >= 25.0, "{device:?}: textured PSNR {}", eval2.psnr);
        assert_eq!(record.progress.last().map(|p| (p.pass, p.iteration)), Some((2, 50)));
    }
}

#[test]
fn hidden_components_are_removed() {
    use meshcast_engine::geometry::components::triangle_components;
    use meshcast_engine::geometry::{TetGrid, marching_tets};
    use meshcast_engine::nvdiffrec::cleanup::remove_hidden_components;
    use meshcast_engine::nvdiffrec::views::ViewBatch;

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/suzanne-96");
    let dataset = load(&dir, LoadOptions { max_side: 48 }).unwrap();
    for device in common::test_devices() {
        // A shell (0.8) with a closed fragment inside it (0.3): |r − 0.55| − 0.25.
        let grid = TetGrid::new(24, 1.0, device).unwrap();
        let r = grid.vertices.norm_scalaropt_dim(2, [1i64].as_slice(), false);
        let sdf = (r - 0.55).abs() - 0.25;
        let shell = marching_tets(&grid, &grid.vertices, &sdf).unwrap();
        let (_, count) = triangle_components(&shell.triangles, shell.vertices.size()[0]).unwrap();
        assert_eq!(count, 2, "{device:?}");
        let views = ViewBatch::new(&dataset.train.cameras, device).unwrap();
        let (kept, cleanup) =
            remove_hidden_components(&shell, &views, 50, dataset.size, 8).unwrap();
        assert_eq!((cleanup.components, cleanup.removed_components), (2, 1), "{device:?}");
        let radius = kept.vertices.norm_scalaropt_dim(2, [1i64].as_slice(), false);
        assert!(radius.min().double_value(&[]) > 0.75, "{device:?}: the inner sphere stayed");
        assert_eq!(kept.triangles.max().int64_value(&[]), kept.vertices.size()[0] - 1);
    }
}

/// The grid fitted to the masks' visual hull holds the whole object and is tighter than the
/// default search cube.
#[test]
fn grid_fits_the_visual_hull() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data");
    let dataset = load(&root.join("suzanne-96"), LoadOptions { max_side: 96 }).unwrap();
    let fitted = meshcast_engine::nvdiffrec::bounds::fit_to_masks(&dataset.train, 1.2).unwrap();
    let (models, _) =
        tobj::load_obj(root.join("suzanne/gt_mesh.obj"), &tobj::LoadOptions::default()).unwrap();
    let mut farthest = 0.0f64;
    for p in models[0].mesh.positions.chunks_exact(3) {
        for (v, c) in p.iter().zip(fitted.center) {
            farthest = farthest.max((f64::from(*v) - c).abs());
        }
    }
    assert!(farthest <= fitted.half_extent, "{fitted:?} misses a vertex {farthest} away");
    assert!(fitted.half_extent < 1.2 * 0.98, "{fitted:?} is not tighter than the search cube");
}
