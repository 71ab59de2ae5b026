//! UV unwrap + bake: the baked textures, sampled at each vertex's UV, reproduce the material
//! field at that vertex (colour and perturbed normal); the atlas covers every triangle once.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // test helpers: a panic is the failure report

mod common;

use meshcast_engine::geometry::tangents::tangent_to_world;
use meshcast_engine::geometry::{TetGrid, marching_tets};
use meshcast_engine::nn::HashGridConfig;
use meshcast_engine::nvdiffrec::bake::{bake, unwrap};
use meshcast_engine::nvdiffrec::bounds::GridBox;
use meshcast_engine::nvdiffrec::material::{MaterialField, perturbed_normals};
use meshcast_engine::ops::texture::{Boundary, Filter, Mipmaps, texture};
use tch::Kind;
use tch::nn::VarStore;

#[test]
fn baked_textures_reproduce_the_field_at_the_vertices() {
    for device in common::test_devices() {
        let grid = TetGrid::new(16, 1.0, device).unwrap();
        let sdf = grid.vertices.norm_scalaropt_dim(2, [1i64].as_slice(), false) - 0.7;
        let mesh = marching_tets(&grid, &grid.vertices, &sdf).unwrap();
        let vs = VarStore::new(device);
        tch::manual_seed(3);
        // A smooth field that varies over the surface (the default initialization is nearly
        // constant; fine levels would vary within a texel).
        let coarse = HashGridConfig {
            levels: 2,
            features: 2,
            log2_table_size: 12,
            base_resolution: 3.0,
            max_resolution: 6.0,
        };
        let field =
            MaterialField::with_encoding(&vs.root(), GridBox::centered(1.0), coarse).unwrap();
        let _ = tch::no_grad(|| field.grid.table.shallow_clone().uniform_(-20.0, 20.0));
        let unwrapped = unwrap(&mesh, 256).unwrap();
        assert_eq!(unwrapped.triangles.size(), mesh.triangles.size(), "{device:?}: triangles kept");
        let uv = &unwrapped.uvs;
        assert!(uv.min().double_value(&[]) >= 0.0 && uv.max().double_value(&[]) <= 1.0);
        let baked = bake(&mesh, &mesh.vertices, &unwrapped, &field, 4).unwrap();
        let (w, h) = unwrapped.size;
        assert_eq!(baked.kd.size(), [h, w, 3]);
        // Sample the baked kd at every split vertex's UV and compare with the field there.
        let mips = Mipmaps::build(&baked.kd.unsqueeze(0), 1).unwrap();
        let n = uv.size()[0];
        let sampled =
            texture(&mips, &uv.reshape([1, n, 1, 2]), None, Filter::Linear, Boundary::Clamp, 0.0)
                .unwrap()
                .reshape([n, 3]);
        let expected = tch::no_grad(|| field.sample(&unwrapped.positions).unwrap().kd);
        let err = (sampled - &expected).abs().mean(Kind::Float).double_value(&[]);
        let spread = expected.std(false).double_value(&[]);
        println!("{device:?}: error {err:.5}, field spread {spread:.5}");
        assert!(spread > 0.005, "{device:?}: the test field is too flat ({spread})");
        assert!(err < 0.1 * spread, "{device:?}: baked colour off by {err} (spread {spread})");

        // The normal map, decoded in the exported tangent frames, gives back the field's
        // perturbed normals.
        let mips = Mipmaps::build(&baked.normal.unsqueeze(0), 1).unwrap();
        let local =
            texture(&mips, &uv.reshape([1, n, 1, 2]), None, Filter::Linear, Boundary::Clamp, 0.0)
                .unwrap()
                .reshape([n, 3]);
        let normals = unwrapped.normals(&mesh).unwrap();
        let world =
            tangent_to_world(&local, &unwrapped.tangents(&mesh).unwrap(), &normals).unwrap();
        let expected = tch::no_grad(|| {
            let (_, offset) = field.sample_all(&unwrapped.positions).unwrap();
            perturbed_normals(&normals, &offset).unwrap()
        });
        let tilt = (&expected - &normals).abs().mean(Kind::Float).double_value(&[]);
        let err = (world - &expected).abs().mean(Kind::Float).double_value(&[]);
        println!("{device:?}: normal error {err:.5}, tilt {tilt:.5}");
        assert!(tilt > 0.02, "{device:?}: the test field barely tilts the normals ({tilt})");
        assert!(err < 0.1 * tilt, "{device:?}: baked normals off by {err} (tilt {tilt})");
    }
}
