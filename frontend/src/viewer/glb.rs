//! Reads a result GLB (one or more triangle primitives, optional base colour and normal
//! textures) into the viewer's mesh, with the gltf crate doing the parsing and accessor decoding.

use super::mesh::{Mesh, vertex_normals};

/// A GLB's geometry and its base colour image (still encoded; the browser decodes it).
#[derive(Debug)]
pub struct GlbModel {
    /// All primitives merged into one mesh.
    pub mesh: Mesh,
    /// The first material's base colour texture: encoded bytes and MIME type.
    pub base_color: Option<(Vec<u8>, String)>,
    /// The first material's normal texture, when every primitive has tangents for it.
    pub normal: Option<(Vec<u8>, String)>,
}

/// The encoded bytes and MIME type of an image embedded in the GLB's binary chunk.
fn embedded(
    texture: &gltf::Texture<'_>,
    blob: Option<&[u8]>,
) -> Result<Option<(Vec<u8>, String)>, String> {
    let (gltf::image::Source::View { view, mime_type }, Some(bin)) =
        (texture.source().source(), blob)
    else {
        return Ok(None);
    };
    let (start, len) = (view.offset(), view.length());
    let bytes = bin.get(start..start + len).ok_or("a texture lies outside the GLB")?;
    Ok(Some((bytes.to_vec(), mime_type.to_owned())))
}

/// Parses a binary glTF.
pub fn parse(bytes: &[u8]) -> Result<GlbModel, String> {
    let gltf = gltf::Gltf::from_slice(bytes).map_err(|e| format!("not a valid GLB: {e}"))?;
    let blob = gltf.blob.as_deref();
    let buffer = |b: gltf::Buffer<'_>| match b.source() {
        gltf::buffer::Source::Bin => blob,
        gltf::buffer::Source::Uri(_) => None,
    };
    let mut mesh = Mesh::default();
    let (mut base_color, mut normal) = (None, None);
    let (mut all_have_uvs, mut all_have_tangents) = (true, true);
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
            match reader.read_tangents() {
                Some(t) if all_have_tangents => mesh.tangents.extend(t),
                _ => all_have_tangents = false,
            }
            let material = primitive.material();
            if base_color.is_none()
                && let Some(info) = material.pbr_metallic_roughness().base_color_texture()
            {
                base_color = embedded(&info.texture(), blob)?;
            }
            if normal.is_none()
                && let Some(info) = material.normal_texture()
            {
                normal = embedded(&info.texture(), blob)?;
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
        all_have_tangents = false;
    }
    if !all_have_tangents || mesh.tangents.len() != mesh.positions.len() {
        mesh.tangents.clear();
        normal = None;
    }
    Ok(GlbModel { mesh, base_color, normal })
}
