//! Reads a result GLB (one or more triangle primitives, optional base colour texture) into the
//! viewer's mesh, with the gltf crate doing the parsing and accessor decoding.

use super::mesh::{Mesh, vertex_normals};

/// A GLB's geometry and its base colour image (still encoded; the browser decodes it).
#[derive(Debug)]
pub struct GlbModel {
    /// All primitives merged into one mesh.
    pub mesh: Mesh,
    /// The first material's base colour texture: encoded bytes and MIME type.
    pub base_color: Option<(Vec<u8>, String)>,
}

/// Parses a binary glTF.
pub fn parse(bytes: &[u8]) -> Result<GlbModel, String> {
    let gltf = gltf::Gltf::from_slice(bytes).map_err(|e| format!("not a valid GLB: {e}"))?;
    let blob = gltf.blob.as_deref();
    let buffer = |b: gltf::Buffer<'_>| match b.source() {
        gltf::buffer::Source::Bin => blob,
        gltf::buffer::Source::Uri(_) => None,
    };
    let mut mesh = Mesh {
        positions: Vec::new(),
        normals: Vec::new(),
        colors: Vec::new(),
        indices: Vec::new(),
        uvs: Vec::new(),
    };
    let mut base_color = None;
    let mut all_have_uvs = true;
    for node_mesh in gltf.meshes() {
        for primitive in node_mesh.primitives() {
            if primitive.mode() != gltf::mesh::Mode::Triangles {
                continue;
            }
            let reader = primitive.reader(buffer);
            let positions: Vec<[f32; 3]> =
                reader.read_positions().ok_or("a primitive has no positions")?.collect();
            let base = u32::try_from(mesh.positions.len()).map_err(|_| "too many vertices")?;
            let count = positions.len();
            let indices: Vec<u32> = match reader.read_indices() {
                Some(i) => i.into_u32().collect(),
                None => (0..count as u32).collect(),
            };
            if indices.iter().any(|&i| i as usize >= count) {
                return Err("an index points past the vertices".into());
            }
            let normals: Vec<[f32; 3]> = match reader.read_normals() {
                Some(n) => n.collect(),
                None => vertex_normals(&positions, &indices),
            };
            let colors: Vec<[f32; 3]> = match reader.read_colors(0) {
                Some(c) => c.into_rgb_f32().collect(),
                None => {
                    let [r, g, b, _] =
                        primitive.material().pbr_metallic_roughness().base_color_factor();
                    vec![[r, g, b]; count]
                }
            };
            match reader.read_tex_coords(0) {
                Some(uv) if all_have_uvs => mesh.uvs.extend(uv.into_f32()),
                _ => all_have_uvs = false,
            }
            if base_color.is_none()
                && let Some(info) =
                    primitive.material().pbr_metallic_roughness().base_color_texture()
                && let gltf::image::Source::View { view, mime_type } =
                    info.texture().source().source()
                && let Some(bin) = blob
            {
                let (start, len) = (view.offset(), view.length());
                let bytes =
                    bin.get(start..start + len).ok_or("the texture lies outside the GLB")?;
                base_color = Some((bytes.to_vec(), mime_type.to_owned()));
            }
            mesh.indices.extend(indices.iter().map(|i| i + base));
            mesh.positions.extend(positions);
            mesh.normals.extend(normals);
            mesh.colors.extend(colors);
        }
    }
    if mesh.indices.is_empty() {
        return Err("the GLB has no triangles".into());
    }
    if !all_have_uvs || mesh.uvs.len() != mesh.positions.len() {
        mesh.uvs.clear();
        base_color = None;
    }
    Ok(GlbModel { mesh, base_color })
}
