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
        let baked = bake(&out.mesh, &out.rough_vertices, &unwrapped, &out.materials, 4).unwrap();
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

/// A shell (radius 0.8) with a closed fragment inside it (0.3): |r − 0.55| − 0.25 on a grid.
fn nested_shells(device: tch::Device) -> meshcast_engine::geometry::TriangleMesh {
    use meshcast_engine::geometry::{TetGrid, marching_tets};
    let grid = TetGrid::new(24, 1.0, device).unwrap();
    let r = grid.vertices.norm_scalaropt_dim(2, [1i64].as_slice(), false);
    marching_tets(&grid, &grid.vertices, &((r - 0.55).abs() - 0.25)).unwrap()
}

/// The dataset's training views and 32 views around the unit cube, for the cleanup tests.
fn cleanup_views(
    dataset: &meshcast_engine::dataset::Dataset,
    device: tch::Device,
) -> (meshcast_engine::nvdiffrec::views::ViewBatch, meshcast_engine::nvdiffrec::views::ViewBatch) {
    use meshcast_engine::nvdiffrec::bounds::GridBox;
    use meshcast_engine::nvdiffrec::cleanup::surrounding_cameras;
    use meshcast_engine::nvdiffrec::views::ViewBatch;
    (
        ViewBatch::new(&dataset.train.cameras, device).unwrap(),
        ViewBatch::new(&surrounding_cameras(GridBox::centered(1.0), 32, 96), device).unwrap(),
    )
}

#[test]
fn hidden_components_are_removed() {
    use meshcast_engine::geometry::components::triangle_components;
    use meshcast_engine::nvdiffrec::cleanup::{Viewpoints, remove_hidden_surface};

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/suzanne-96");
    let dataset = load(&dir, LoadOptions { max_side: 48 }).unwrap();
    for device in common::test_devices() {
        let shell = nested_shells(device);
        let (_, count) = triangle_components(&shell.triangles, shell.vertices.size()[0]).unwrap();
        assert_eq!(count, 2, "{device:?}");
        let (views, around_views) = cleanup_views(&dataset, device);
        let at = Viewpoints { views: &views, count: 50, size: dataset.size, batch: 8 };
        let around = Viewpoints { views: &around_views, count: 32, size: (96, 96), batch: 8 };
        let (kept, cleanup) = remove_hidden_surface(&shell, at, around, 2).unwrap();
        assert_eq!((cleanup.components, cleanup.removed_components), (2, 1), "{device:?}");
        assert_eq!(cleanup.removed_unseen_triangles, 0, "{device:?}: the outer shell is whole");
        let radius = kept.vertices.norm_scalaropt_dim(2, [1i64].as_slice(), false);
        assert!(radius.min().double_value(&[]) > 0.75, "{device:?}: the inner sphere stayed");
        assert_eq!(kept.triangles.max().int64_value(&[]), kept.vertices.size()[0] - 1);
    }
}

/// Interior surface joined to the visible shell by one triangle survives the component step but
/// not the per-triangle step, except for the margin rings around the joint.
#[test]
fn unseen_triangles_behind_the_surface_are_removed() {
    use meshcast_engine::geometry::TriangleMesh;
    use meshcast_engine::geometry::components::triangle_components;
    use meshcast_engine::nvdiffrec::cleanup::{Viewpoints, remove_hidden_surface};
    use tch::{Kind, Tensor};

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/suzanne-96");
    let dataset = load(&dir, LoadOptions { max_side: 48 }).unwrap();
    for device in common::test_devices() {
        let shell = nested_shells(device);
        // Bridge the inner sphere to the outer one with a triangle: one component.
        let radius = shell.vertices.norm_scalaropt_dim(2, [1i64].as_slice(), false);
        let outer = radius.argmax(0, false).int64_value(&[]);
        let inner_tri = shell.triangles.get(
            radius
                .index_select(0, &shell.triangles.select(1, 0).to_kind(Kind::Int64))
                .argmin(0, false)
                .int64_value(&[]),
        );
        let bridge = Tensor::from_slice(&[
            outer as i32,
            inner_tri.int64_value(&[0]) as i32,
            inner_tri.int64_value(&[1]) as i32,
        ])
        .reshape([1, 3])
        .to_device(device);
        let joined = TriangleMesh {
            vertices: shell.vertices.shallow_clone(),
            triangles: Tensor::cat(&[&shell.triangles, &bridge], 0),
        };
        let v = joined.vertices.size()[0];
        assert_eq!(triangle_components(&joined.triangles, v).unwrap().1, 1, "{device:?}");
        let inner_triangles = radius
            .index_select(0, &shell.triangles.select(1, 0).to_kind(Kind::Int64))
            .lt(0.55)
            .sum(Kind::Int64)
            .int64_value(&[]);

        let (views, around_views) = cleanup_views(&dataset, device);
        let at = Viewpoints { views: &views, count: 50, size: dataset.size, batch: 8 };
        let around = Viewpoints { views: &around_views, count: 32, size: (96, 96), batch: 8 };
        let (kept, cleanup) = remove_hidden_surface(&joined, at, around, 2).unwrap();
        assert_eq!(cleanup.removed_components, 0, "{device:?}");
        // Everything inside goes except the bridge's neighbourhood (two rings around it).
        let left = inner_triangles + 1 - cleanup.removed_unseen_triangles;
        assert!(
            (1..=40).contains(&left),
            "{device:?}: {left} of {inner_triangles} inner triangles left"
        );
        let kept_radius = kept.vertices.norm_scalaropt_dim(2, [1i64].as_slice(), false);
        assert!(kept_radius.gt(0.55).sum(Kind::Int64).int64_value(&[]) > 0, "{device:?}");
        // Without the margin only seen triangles remain: the bridge and the inner sphere go.
        let (bare, _) = remove_hidden_surface(&joined, at, around, 0).unwrap();
        let bare_radius = bare.vertices.norm_scalaropt_dim(2, [1i64].as_slice(), false);
        assert!(bare_radius.min().double_value(&[]) > 0.75, "{device:?}");
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
