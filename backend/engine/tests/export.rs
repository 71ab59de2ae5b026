#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

//! Mesh export: GLB read back with the `gltf` crate and checked by Khronos' glTF-Validator, OBJ
//! read back with `tobj`, bad meshes rejected by name, and no partial files after a failure.

mod common;

use std::path::Path;

use common::khronos::khronos_validate;
use image::{Rgb, RgbImage, Rgba, RgbaImage};
use meshcast_engine::export::{
    ExportError, ExportMesh, PbrTextures, to_glb_bytes, write_glb, write_obj,
};

/// An n x n-cell quad in the z = 0 plane facing +Z, with glTF uvs (v = 0 at the top edge).
/// Coordinates like 0.1 are not exact in f32, which puts the accessor min/max to the test.
fn grid(n: u32) -> ExportMesh {
    let mut mesh = ExportMesh::default();
    let mut uvs = Vec::new();
    for j in 0..=n {
        for i in 0..=n {
            let (u, t) = (i as f32 / n as f32, j as f32 / n as f32);
            mesh.positions.push([-0.7 + 1.3 * u, -0.1 + 0.9 * t, 0.0]);
            uvs.push([u, 1.0 - t]);
        }
    }
    let at = |i: u32, j: u32| j * (n + 1) + i;
    for j in 0..n {
        for i in 0..n {
            mesh.triangles.push([at(i, j), at(i + 1, j), at(i + 1, j + 1)]);
            mesh.triangles.push([at(i, j), at(i + 1, j + 1), at(i, j + 1)]);
        }
    }
    mesh.normals = Some(vec![[0.0, 0.0, 1.0]; mesh.positions.len()]);
    mesh.uvs = Some(uvs);
    mesh
}

fn textures() -> PbrTextures {
    let checker = |x: u32, y: u32| (x / 8 + y / 8).is_multiple_of(2);
    PbrTextures {
        base_color: RgbaImage::from_fn(64, 64, |x, y| {
            if checker(x, y) { Rgba([230, 40, 30, 255]) } else { Rgba([20, 20, 200, 255]) }
        }),
        orm: Some(RgbImage::from_fn(32, 16, |x, y| {
            Rgb([255, (x * 8) as u8, if checker(x, y) { 255 } else { 0 }])
        })),
        normal: Some(RgbImage::from_fn(16, 16, |x, _| Rgb([100 + x as u8, 128, 240]))),
    }
}

/// The grid with textures and its tangent frames: +u runs along +x, the top of the image is +y
/// (= cross(normal, tangent), w = 1).
fn textured() -> ExportMesh {
    let mesh = grid(4);
    let tangents = Some(vec![[1.0, 0.0, 0.0, 1.0]; mesh.positions.len()]);
    ExportMesh { material: Some(textures()), tangents, ..mesh }
}

/// The grid with vertex colours (some outside [0, 1], to be clamped), non-unit normals and no
/// uvs or textures.
fn coloured() -> ExportMesh {
    let mut mesh = grid(3);
    let n = mesh.positions.len();
    mesh.uvs = None;
    mesh.normals = Some(vec![[0.0, 0.0, 3.0]; n]);
    mesh.colors = Some((0..n).map(|i| [i as f32 / n as f32, 0.25, 1.2 - i as f32 * 0.1]).collect());
    mesh
}

fn ls(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `values` (N floats per item) at each triangle corner, as OBJ readers renumber vertices.
fn corners<const N: usize>(values: &[f32], indices: &[u32]) -> Vec<[f32; N]> {
    indices.iter().map(|&i| std::array::from_fn(|k| values[i as usize * N + k])).collect()
}

/// `values` at each corner of `mesh`'s triangles.
fn mesh_corners<T: Copy>(mesh: &ExportMesh, values: &[T]) -> Vec<T> {
    mesh.triangles.iter().flatten().map(|&i| values[i as usize]).collect()
}

fn invalid_reason(result: Result<(), ExportError>) -> String {
    match result {
        Err(ExportError::InvalidMesh { reason }) => reason,
        other => panic!("expected InvalidMesh, got {other:?}"),
    }
}

#[test]
fn glb_textured_reads_back_with_its_material_and_images() {
    let mesh = textured();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quad.glb");
    write_glb(&mesh, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes, to_glb_bytes(&mesh).unwrap(), "file and bytes agree (deterministic)");
    assert_eq!(ls(dir.path()), ["quad.glb"], "no temporary file left");

    let gltf = gltf::Gltf::from_slice(&bytes).unwrap();
    let blob = gltf.blob.as_deref().unwrap();
    assert_eq!(gltf.meshes().len(), 1);
    let primitive = gltf.meshes().next().unwrap().primitives().next().unwrap();
    assert_eq!(primitive.mode(), gltf::mesh::Mode::Triangles);
    let reader = primitive.reader(|_| Some(blob));
    let positions: Vec<[f32; 3]> = reader.read_positions().unwrap().collect();
    assert_eq!(positions, mesh.positions);
    let indices: Vec<u32> = reader.read_indices().unwrap().into_u32().collect();
    assert_eq!(indices, mesh.triangles.concat());
    assert!(matches!(reader.read_indices().unwrap(), gltf::mesh::util::ReadIndices::U32(_)));
    assert_eq!(reader.read_normals().unwrap().collect::<Vec<_>>(), mesh.normals.clone().unwrap());
    let uvs: Vec<[f32; 2]> = reader.read_tex_coords(0).unwrap().into_f32().collect();
    assert_eq!(uvs, mesh.uvs.clone().unwrap());
    assert_eq!(reader.read_tangents().unwrap().collect::<Vec<_>>(), mesh.tangents.clone().unwrap());
    assert!(reader.read_colors(0).is_none());
    let bounds = primitive.bounding_box();
    assert_eq!((bounds.min, bounds.max), ([-0.7, -0.1, 0.0], [-0.7 + 1.3, -0.1 + 0.9, 0.0]));

    let material = primitive.material();
    let pbr = material.pbr_metallic_roughness();
    assert_eq!(pbr.base_color_factor(), [1.0; 4]);
    assert_eq!((pbr.metallic_factor(), pbr.roughness_factor()), (1.0, 1.0));
    assert_eq!(material.alpha_mode(), gltf::material::AlphaMode::Opaque);
    let base = pbr.base_color_texture().unwrap().texture();
    let orm = pbr.metallic_roughness_texture().unwrap().texture();
    let occlusion = material.occlusion_texture().unwrap().texture();
    let normal = material.normal_texture().unwrap();
    assert_eq!(normal.scale(), 1.0);
    assert_eq!(orm.index(), occlusion.index(), "occlusion reads the ORM texture's R channel");

    let decode = |texture: gltf::Texture| {
        let gltf::image::Source::View { view, mime_type } = texture.source().source() else {
            panic!("image not embedded")
        };
        assert_eq!(mime_type, "image/png");
        assert_eq!(view.offset() % 4, 0);
        image::load_from_memory(&blob[view.offset()..view.offset() + view.length()]).unwrap()
    };
    let textures = mesh.material.unwrap();
    assert_eq!(decode(base).to_rgba8(), textures.base_color);
    assert_eq!(decode(orm).to_rgb8(), textures.orm.unwrap());
    assert_eq!(decode(normal.texture()).to_rgb8(), textures.normal.unwrap());
}

#[test]
fn glb_vertex_colours_are_clamped_and_normals_normalized() {
    let mesh = coloured();
    let gltf = gltf::Gltf::from_slice(&to_glb_bytes(&mesh).unwrap()).unwrap();
    let blob = gltf.blob.as_deref().unwrap();
    let primitive = gltf.meshes().next().unwrap().primitives().next().unwrap();
    let reader = primitive.reader(|_| Some(blob));
    let colors: Vec<[f32; 3]> = reader.read_colors(0).unwrap().into_rgb_f32().collect();
    let want: Vec<[f32; 3]> =
        mesh.colors.unwrap().iter().map(|c| c.map(|x| x.clamp(0.0, 1.0))).collect();
    assert_eq!(colors, want);
    assert!(reader.read_normals().unwrap().all(|n| n == [0.0, 0.0, 1.0]));
    assert!(reader.read_tex_coords(0).is_none());
    let material = primitive.material();
    let pbr = material.pbr_metallic_roughness();
    assert_eq!(pbr.base_color_factor(), [1.0; 4], "COLOR_0 shows unchanged");
    assert_eq!((pbr.metallic_factor(), pbr.roughness_factor()), (0.0, 1.0));
    assert!(pbr.base_color_texture().is_none() && material.normal_texture().is_none());
    assert_eq!(gltf.images().len(), 0);
}

#[test]
fn glb_passes_khronos_gltf_validator() {
    let dir = tempfile::tempdir().unwrap();
    let bare = ExportMesh { normals: None, ..coloured() };
    let no_orm = ExportMesh {
        material: Some(PbrTextures { orm: None, normal: None, ..textures() }),
        ..grid(2)
    };
    for (name, mesh) in
        [("textured", textured()), ("coloured", coloured()), ("bare", bare), ("no_orm", no_orm)]
    {
        let path = dir.path().join(format!("{name}.glb"));
        write_glb(&mesh, &path).unwrap();
        let report = khronos_validate(&path);
        let info = &report["info"];
        assert_eq!(info["drawCallCount"], 1, "{name}");
        assert_eq!(info["totalTriangleCount"], mesh.triangles.len(), "{name}");
        assert_eq!(info["totalVertexCount"], mesh.positions.len(), "{name}");
    }
}

#[test]
fn obj_textured_reads_back_with_tobj() {
    let mesh = textured();
    let dir = tempfile::tempdir().unwrap();
    write_obj(&mesh, dir.path(), "quad").unwrap();
    assert_eq!(
        ls(dir.path()),
        [
            "quad.mtl",
            "quad.obj",
            "quad_basecolor.png",
            "quad_metallic.png",
            "quad_normal.png",
            "quad_roughness.png"
        ]
    );

    let (models, materials) =
        tobj::load_obj(dir.path().join("quad.obj"), &tobj::LoadOptions::default()).unwrap();
    let [model] = &models[..] else { panic!("{} models", models.len()) };
    let obj = &model.mesh;
    assert_eq!(obj.indices.len(), mesh.triangles.len() * 3);
    assert_eq!(obj.positions.len(), mesh.positions.len() * 3, "no vertex lost or duplicated");
    assert_eq!(corners::<3>(&obj.positions, &obj.indices), mesh_corners(&mesh, &mesh.positions));
    let normals = mesh.normals.as_ref().unwrap();
    assert_eq!(corners::<3>(&obj.normals, &obj.normal_indices), mesh_corners(&mesh, normals));
    let flipped: Vec<[f32; 2]> =
        mesh.uvs.as_ref().unwrap().iter().map(|&[u, v]| [u, 1.0 - v]).collect();
    let uvs = corners::<2>(&obj.texcoords, &obj.texcoord_indices);
    assert_eq!(uvs, mesh_corners(&mesh, &flipped), "OBJ's v grows upwards");
    assert!(obj.vertex_color.is_empty());

    let materials = materials.unwrap();
    let [material] = &materials[..] else { panic!("{} materials", materials.len()) };
    assert_eq!(obj.material_id, Some(0));
    assert_eq!(material.diffuse, Some([1.0; 3]));
    assert_eq!(material.diffuse_texture.as_deref(), Some("quad_basecolor.png"));
    assert_eq!(material.normal_texture.as_deref(), Some("quad_normal.png"));
    let param = |key: &str| material.unknown_param.get(key).map(String::as_str);
    assert_eq!(param("map_Pr"), Some("quad_roughness.png"));
    assert_eq!(param("map_Pm"), Some("quad_metallic.png"));
    assert_eq!(param("norm"), Some("quad_normal.png"));
    assert_eq!((param("Pr"), param("Pm")), (Some("1"), Some("1")));

    let textures = mesh.material.unwrap();
    let read = |name: &str| image::open(dir.path().join(name)).unwrap();
    assert_eq!(read("quad_basecolor.png").to_rgba8(), textures.base_color);
    assert_eq!(read("quad_normal.png").to_rgb8(), textures.normal.unwrap());
    let orm = textures.orm.unwrap();
    let roughness = read("quad_roughness.png").to_luma8();
    let metallic = read("quad_metallic.png").to_luma8();
    assert_eq!(roughness.dimensions(), orm.dimensions());
    for (x, y, p) in orm.enumerate_pixels() {
        assert_eq!([roughness[(x, y)][0], metallic[(x, y)][0]], [p[1], p[2]], "texel {x},{y}");
    }
}

#[test]
fn obj_vertex_colours_are_srgb() {
    let mesh = coloured();
    let dir = tempfile::tempdir().unwrap();
    write_obj(&mesh, dir.path(), "coloured").unwrap();
    assert_eq!(ls(dir.path()), ["coloured.mtl", "coloured.obj"]);
    let (models, materials) =
        tobj::load_obj(dir.path().join("coloured.obj"), &tobj::LoadOptions::default()).unwrap();
    let obj = &models[0].mesh;
    assert_eq!(corners::<3>(&obj.positions, &obj.indices), mesh_corners(&mesh, &mesh.positions));
    assert!(obj.texcoords.is_empty());
    assert!(obj.normals.chunks(3).all(|n| n == [0.0, 0.0, 1.0]), "normalized");
    let srgb = |x: f32| {
        let x = x.clamp(0.0, 1.0);
        if x <= 0.003_130_8 { 12.92 * x } else { 1.055 * x.powf(1.0 / 2.4) - 0.055 }
    };
    let want: Vec<[f32; 3]> = mesh.colors.as_ref().unwrap().iter().map(|c| c.map(srgb)).collect();
    let got = corners::<3>(&obj.vertex_color, &obj.indices);
    for (got, want) in got.iter().zip(mesh_corners(&mesh, &want)) {
        assert!(got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-6), "{got:?} vs {want:?}");
    }
    let material = &materials.unwrap()[0];
    assert_eq!(material.diffuse_texture, None);
    assert_eq!(material.unknown_param.get("Pm").map(String::as_str), Some("0"));
}

#[test]
fn invalid_meshes_are_rejected_by_name_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, ExportMesh, &str); 10] = [
        (
            "index",
            ExportMesh { triangles: vec![[0, 1, 2], [0, 2, 99]], ..grid(1) },
            "triangle 1 refers to vertex 99 but there are only 4 vertices",
        ),
        (
            "nan",
            {
                let mut mesh = grid(1);
                mesh.positions[2][1] = f32::NAN;
                mesh
            },
            "position 2 is [",
        ),
        (
            "infinite_uv",
            {
                let mut mesh = grid(1);
                mesh.uvs.as_mut().unwrap()[3][0] = f32::INFINITY;
                mesh
            },
            "uv 3 is [inf",
        ),
        (
            "uv_length",
            ExportMesh { uvs: Some(vec![[0.0; 2]; 3]), ..grid(1) },
            "uvs has 3 entries but positions has 4",
        ),
        (
            "color_length",
            ExportMesh { colors: Some(vec![[0.0; 3]; 5]), ..grid(1) },
            "colors has 5 entries but positions has 4",
        ),
        (
            "zero_normal",
            {
                let mut mesh = grid(1);
                mesh.normals.as_mut().unwrap()[1] = [0.0; 3];
                mesh
            },
            "normal 1 is [0.0, 0.0, 0.0]",
        ),
        (
            "textures_without_uvs",
            ExportMesh { uvs: None, material: Some(textures()), ..grid(1) },
            "no uvs",
        ),
        (
            "short_tangent",
            {
                let mut mesh = textured();
                mesh.tangents.as_mut().unwrap()[2] = [0.5, 0.0, 0.0, 1.0];
                mesh
            },
            "tangent 2 is [0.5, 0.0, 0.0, 1.0]; glTF needs a unit xyz and w = ±1",
        ),
        (
            "tangents_without_normals",
            ExportMesh { normals: None, ..textured() },
            "tangents but no normals",
        ),
        ("empty", ExportMesh::default(), "no vertices"),
    ];
    for (name, mesh, want) in cases {
        let reason = invalid_reason(write_glb(&mesh, &dir.path().join(format!("{name}.glb"))));
        assert!(reason.contains(want), "{name}: {reason:?} should contain {want:?}");
        let reason = invalid_reason(write_obj(&mesh, dir.path(), name));
        assert!(reason.contains(want), "{name}: {reason:?} should contain {want:?}");
    }
    let empty_texture = PbrTextures { base_color: RgbaImage::new(0, 8), ..textures() };
    let mesh = ExportMesh { material: Some(empty_texture), ..grid(1) };
    assert!(invalid_reason(write_glb(&mesh, &dir.path().join("t.glb"))).contains("base_color"));
    assert!(ls(dir.path()).is_empty(), "nothing written: {:?}", ls(dir.path()));
}

#[test]
fn obj_stem_must_be_a_plain_file_name() {
    let dir = tempfile::tempdir().unwrap();
    for stem in ["", "a b", "../up", "sub/dir", ".."] {
        let result = write_obj(&grid(1), dir.path(), stem);
        assert!(matches!(result, Err(ExportError::InvalidStem(_))), "{stem:?}: {result:?}");
    }
    assert!(ls(dir.path()).is_empty());
}

#[test]
fn failed_writes_leave_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    // The rename fails after the data is written: the target is a non-empty directory.
    let target = dir.path().join("mesh.glb");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep"), "").unwrap();
    match write_glb(&textured(), &target) {
        Err(ExportError::Io { path, .. }) => assert_eq!(path, target),
        other => panic!("expected Io, got {other:?}"),
    }
    assert_eq!(ls(dir.path()), ["mesh.glb"], "temporary file removed");
    assert_eq!(ls(&target), ["keep"]);

    // A failed export leaves an earlier file as it was.
    let earlier = dir.path().join("earlier.glb");
    std::fs::write(&earlier, "old").unwrap();
    let bad = ExportMesh { triangles: vec![[0, 1, 7]], ..grid(1) };
    assert!(write_glb(&bad, &earlier).is_err());
    assert_eq!(std::fs::read_to_string(&earlier).unwrap(), "old");

    // OBJ: the MTL cannot be written, so the OBJ (written last) never appears.
    let obj_dir = dir.path().join("obj");
    std::fs::create_dir_all(obj_dir.join("quad.mtl/x")).unwrap();
    match write_obj(&textured(), &obj_dir, "quad") {
        Err(ExportError::Io { path, .. }) => assert_eq!(path, obj_dir.join("quad.mtl")),
        other => panic!("expected Io, got {other:?}"),
    }
    let left = ls(&obj_dir);
    assert!(!left.iter().any(|f| f == "quad.obj" || f.ends_with(".tmp")), "{left:?}");

    // A folder that does not exist: an Io error naming the file.
    let missing = dir.path().join("missing/mesh.glb");
    match write_glb(&textured(), &missing) {
        Err(ExportError::Io { path, .. }) => assert_eq!(path, missing),
        other => panic!("expected Io, got {other:?}"),
    }
}
