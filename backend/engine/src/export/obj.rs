//! Wavefront OBJ with its MTL and PNG textures, for tools without glTF import.
//!
//! The MTL uses the common PBR extension (`Pr`, `Pm`, `map_Pr`, `map_Pm`, `norm`), which
//! Blender reads. Those maps are scalar, so the ORM texture is split into greyscale roughness
//! and metallic images; MTL has no occlusion slot, so occlusion is only in the GLB.

use std::io::{self, Write};
use std::path::Path;

use image::{GrayImage, RgbImage};

use super::atomic::write_atomic;
use super::{ExportError, ExportMesh, png};

/// The material name used in both files.
const MATERIAL: &str = "meshcast";

/// Writes `dir/stem.obj`, `dir/stem.mtl` and the textures as `dir/stem_basecolor.png`,
/// `stem_roughness.png`, `stem_metallic.png` and `stem_normal.png`, each atomically. The OBJ is
/// written last, so once it exists its companions do too.
pub fn write_obj(mesh: &ExportMesh, dir: &Path, stem: &str) -> Result<(), ExportError> {
    // Readers split MTL lines on whitespace, so names with spaces would not round-trip.
    if stem.is_empty()
        || stem == "."
        || stem == ".."
        || stem.chars().any(|c| c.is_whitespace() || c == '/' || c == '\\')
    {
        return Err(ExportError::InvalidStem(stem.to_owned()));
    }
    mesh.validate()?;

    let mut maps = Vec::new();
    if let Some(textures) = &mesh.material {
        let roughness = textures.orm.as_ref().map(|orm| channel(orm, 1));
        let metallic = textures.orm.as_ref().map(|orm| channel(orm, 2));
        let ((base_color, normal), (roughness, metallic)) = rayon::join(
            || {
                rayon::join(
                    || png::encode(&textures.base_color, "base_color"),
                    || png::encode_opt(textures.normal.as_ref(), "normal"),
                )
            },
            || {
                rayon::join(
                    || png::encode_opt(roughness.as_ref(), "roughness"),
                    || png::encode_opt(metallic.as_ref(), "metallic"),
                )
            },
        );
        maps.push((&["map_Kd"][..], "basecolor", Some(base_color?)));
        maps.push((&["map_Pr"][..], "roughness", roughness?));
        maps.push((&["map_Pm"][..], "metallic", metallic?));
        // `norm` is the PBR extension's key; `map_Bump` is what older readers know.
        maps.push((&["norm", "map_Bump"][..], "normal", normal?));
    }
    let mut mtl_maps = Vec::new();
    for (keys, suffix, png) in maps {
        let Some(png) = png else { continue };
        let file = format!("{stem}_{suffix}.png");
        write_atomic(&dir.join(&file), |out| out.write_all(&png))?;
        mtl_maps.extend(keys.iter().map(|key| format!("{key} {file}")));
    }

    let has_orm = mesh.material.as_ref().is_some_and(|m| m.orm.is_some());
    write_atomic(&dir.join(format!("{stem}.mtl")), |out| write_mtl(out, has_orm, &mtl_maps))?;
    write_atomic(&dir.join(format!("{stem}.obj")), |out| write_mesh(out, mesh, stem))
}

fn write_mtl(out: &mut dyn Write, has_orm: bool, maps: &[String]) -> io::Result<()> {
    writeln!(out, "# meshcast {}", env!("CARGO_PKG_VERSION"))?;
    writeln!(out, "newmtl {MATERIAL}")?;
    // White diffuse, no Phong highlight; the factors multiply the maps as in glTF.
    writeln!(out, "Kd 1 1 1\nKs 0 0 0\nd 1\nillum 1")?;
    let metallic = if has_orm { 1 } else { 0 };
    writeln!(out, "Pr 1\nPm {metallic}")?;
    for map in maps {
        writeln!(out, "{map}")?;
    }
    Ok(())
}

fn write_mesh(out: &mut dyn Write, mesh: &ExportMesh, stem: &str) -> io::Result<()> {
    writeln!(out, "# meshcast {}", env!("CARGO_PKG_VERSION"))?;
    writeln!(out, "mtllib {stem}.mtl\no {stem}")?;
    // Rust's `{}` for f32 prints the shortest digits that read back as the same f32.
    match mesh.clamped_colors() {
        Some(colors) => {
            for (p, c) in mesh.positions.iter().zip(colors) {
                let [r, g, b] = c.map(crate::ops::color::linear_to_srgb_scalar);
                writeln!(out, "v {} {} {} {r} {g} {b}", p[0], p[1], p[2])?;
            }
        }
        None => {
            for p in &mesh.positions {
                writeln!(out, "v {} {} {}", p[0], p[1], p[2])?;
            }
        }
    }
    if let Some(uvs) = &mesh.uvs {
        for uv in uvs {
            writeln!(out, "vt {} {}", uv[0], 1.0 - uv[1])?;
        }
    }
    let normals = mesh.unit_normals();
    if let Some(normals) = &normals {
        for n in normals {
            writeln!(out, "vn {} {} {}", n[0], n[1], n[2])?;
        }
    }
    writeln!(out, "usemtl {MATERIAL}")?;
    // Every attribute shares the vertex index, 1-based in OBJ.
    let corner: fn(&mut dyn Write, u64) -> io::Result<()> =
        match (mesh.uvs.is_some(), normals.is_some()) {
            (true, true) => |out, i| write!(out, " {i}/{i}/{i}"),
            (true, false) => |out, i| write!(out, " {i}/{i}"),
            (false, true) => |out, i| write!(out, " {i}//{i}"),
            (false, false) => |out, i| write!(out, " {i}"),
        };
    for triangle in &mesh.triangles {
        out.write_all(b"f")?;
        for &i in triangle {
            corner(out, u64::from(i) + 1)?;
        }
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// One channel of `image` as a greyscale image.
fn channel(image: &RgbImage, c: usize) -> GrayImage {
    GrayImage::from_fn(image.width(), image.height(), |x, y| image::Luma([image[(x, y)][c]]))
}
