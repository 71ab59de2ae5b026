//! glTF 2.0 binary (GLB): one scene, one node, one mesh with one primitive and a
//! metallic-roughness material; vertex data and PNG textures share the single BIN chunk.

use std::collections::BTreeMap;
use std::path::Path;

use gltf_json as json;
use json::accessor::{ComponentType, GenericComponentType, Type};
use json::buffer::Target;
use json::material::{NormalTexture, OcclusionTexture, PbrBaseColorFactor, StrengthFactor};
use json::mesh::{Mode, Semantic};
use json::texture::{MagFilter, MinFilter};
use json::validation::{Checked::Valid, USize64};
use json::{Index, Root};

use super::atomic::write_atomic;
use super::{ExportError, ExportMesh, png};

const MAGIC: &[u8; 4] = b"glTF";
const VERSION: u32 = 2;
const CHUNK_JSON: &[u8; 4] = b"JSON";
const CHUNK_BIN: &[u8; 4] = b"BIN\0";

/// Writes `mesh` as a GLB file at `path`, atomically.
pub fn write_glb(mesh: &ExportMesh, path: &Path) -> Result<(), ExportError> {
    let bytes = to_glb_bytes(mesh)?;
    write_atomic(path, |out| out.write_all(&bytes))
}

/// `mesh` as the bytes of a GLB file.
pub fn to_glb_bytes(mesh: &ExportMesh) -> Result<Vec<u8>, ExportError> {
    mesh.validate()?;
    let mut gltf = Builder::default();
    let mut attributes = BTreeMap::new();

    let (min, max) = bounds(&mesh.positions);
    let position = gltf.accessor(&mesh.positions, Type::Vec3, Target::ArrayBuffer);
    gltf.root.accessors[position.value()].min = Some(min);
    gltf.root.accessors[position.value()].max = Some(max);
    attributes.insert(Valid(Semantic::Positions), position);
    if let Some(normals) = mesh.unit_normals() {
        let normal = gltf.accessor(&normals, Type::Vec3, Target::ArrayBuffer);
        attributes.insert(Valid(Semantic::Normals), normal);
    }
    if let Some(tangents) = &mesh.tangents {
        let tangent = gltf.accessor(tangents, Type::Vec4, Target::ArrayBuffer);
        attributes.insert(Valid(Semantic::Tangents), tangent);
    }
    if let Some(uvs) = &mesh.uvs {
        let uv = gltf.accessor(uvs, Type::Vec2, Target::ArrayBuffer);
        attributes.insert(Valid(Semantic::TexCoords(0)), uv);
    }
    if let Some(colors) = mesh.clamped_colors() {
        let color = gltf.accessor(&colors, Type::Vec3, Target::ArrayBuffer);
        attributes.insert(Valid(Semantic::Colors(0)), color);
    }
    let indices = gltf.indices(&mesh.triangles);
    let material = gltf.material(mesh)?;

    let primitive = json::mesh::Primitive {
        attributes,
        extensions: None,
        extras: Default::default(),
        indices: Some(indices),
        material: Some(material),
        mode: Valid(Mode::Triangles),
        targets: None,
    };
    let mesh_index = gltf.root.push(json::Mesh {
        extensions: None,
        extras: Default::default(),
        name: None,
        primitives: vec![primitive],
        weights: None,
    });
    let node = gltf.root.push(json::Node { mesh: Some(mesh_index), ..Default::default() });
    let scene = gltf.root.push(json::Scene {
        extensions: None,
        extras: Default::default(),
        name: None,
        nodes: vec![node],
    });
    gltf.root.scene = Some(scene);
    gltf.finish()
}

/// The glTF document and the BIN chunk being filled.
#[derive(Default)]
struct Builder {
    root: Root,
    bin: Vec<u8>,
}

impl Builder {
    /// Appends `bytes` as a new buffer view, 4-byte aligned as accessors require.
    fn view(&mut self, bytes: &[u8], target: Option<Target>) -> Index<json::buffer::View> {
        pad(&mut self.bin, 0);
        let offset = self.bin.len();
        self.bin.extend_from_slice(bytes);
        self.root.push(json::buffer::View {
            buffer: Index::new(0),
            byte_length: USize64::from(bytes.len()),
            byte_offset: Some(USize64::from(offset)),
            byte_stride: None,
            name: None,
            target: target.map(Valid),
            extensions: None,
            extras: Default::default(),
        })
    }

    /// A float vertex attribute in its own tightly packed view.
    fn accessor<const N: usize>(
        &mut self,
        values: &[[f32; N]],
        type_: Type,
        target: Target,
    ) -> Index<json::Accessor> {
        let bytes: Vec<u8> = values.iter().flatten().flat_map(|x| x.to_le_bytes()).collect();
        let view = self.view(&bytes, Some(target));
        self.push_accessor(view, values.len(), ComponentType::F32, type_)
    }

    fn indices(&mut self, triangles: &[[u32; 3]]) -> Index<json::Accessor> {
        let bytes: Vec<u8> = triangles.iter().flatten().flat_map(|i| i.to_le_bytes()).collect();
        let view = self.view(&bytes, Some(Target::ElementArrayBuffer));
        self.push_accessor(view, triangles.len() * 3, ComponentType::U32, Type::Scalar)
    }

    fn push_accessor(
        &mut self,
        view: Index<json::buffer::View>,
        count: usize,
        component: ComponentType,
        type_: Type,
    ) -> Index<json::Accessor> {
        self.root.push(json::Accessor {
            buffer_view: Some(view),
            byte_offset: None,
            count: USize64::from(count),
            component_type: Valid(GenericComponentType(component)),
            extensions: None,
            extras: Default::default(),
            type_: Valid(type_),
            min: None,
            max: None,
            name: None,
            normalized: false,
            sparse: None,
        })
    }

    /// A PNG image embedded in the BIN chunk and a texture sampling it with `sampler`.
    fn texture(
        &mut self,
        png: &[u8],
        name: &str,
        sampler: Index<json::texture::Sampler>,
    ) -> Index<json::Texture> {
        let view = self.view(png, None);
        let image = self.root.push(json::Image {
            buffer_view: Some(view),
            mime_type: Some(json::image::MimeType("image/png".into())),
            name: Some(name.into()),
            uri: None,
            extensions: None,
            extras: Default::default(),
        });
        self.root.push(json::Texture {
            name: None,
            sampler: Some(sampler),
            source: image,
            extensions: None,
            extras: Default::default(),
        })
    }

    /// The material: textured if `mesh.material` is given, else white (times COLOR_0).
    /// Metallic 0 and roughness 1 stand in for a missing ORM texture (glTF's defaults of 1 would
    /// make an untextured mesh a mirror-dark metal).
    fn material(&mut self, mesh: &ExportMesh) -> Result<Index<json::Material>, ExportError> {
        let mut material = json::Material {
            name: Some("meshcast".into()),
            pbr_metallic_roughness: json::material::PbrMetallicRoughness {
                base_color_factor: PbrBaseColorFactor([1.0; 4]),
                metallic_factor: StrengthFactor(0.0),
                roughness_factor: StrengthFactor(1.0),
                ..Default::default()
            },
            ..Default::default()
        };
        if let Some(textures) = &mesh.material {
            let ((base_color, orm), normal) = rayon::join(
                || {
                    rayon::join(
                        || png::encode(&textures.base_color, "base_color"),
                        || png::encode_opt(textures.orm.as_ref(), "orm"),
                    )
                },
                || png::encode_opt(textures.normal.as_ref(), "normal"),
            );
            let (base_color, orm, normal) = (base_color?, orm?, normal?);
            let sampler = self.root.push(json::texture::Sampler {
                mag_filter: Some(Valid(MagFilter::Linear)),
                min_filter: Some(Valid(MinFilter::LinearMipmapLinear)),
                ..Default::default()
            });
            let pbr = &mut material.pbr_metallic_roughness;
            pbr.base_color_texture = Some(info(self.texture(&base_color, "base_color", sampler)));
            if let Some(orm) = orm {
                // One texture, read twice: occlusion from R, roughness from G, metallic from B.
                let texture = self.texture(&orm, "occlusion_roughness_metallic", sampler);
                pbr.metallic_factor = StrengthFactor(1.0);
                pbr.metallic_roughness_texture = Some(info(texture));
                material.occlusion_texture = Some(OcclusionTexture {
                    index: texture,
                    strength: StrengthFactor(1.0),
                    tex_coord: 0,
                    extensions: None,
                    extras: Default::default(),
                });
            }
            if let Some(normal) = normal {
                material.normal_texture = Some(NormalTexture {
                    index: self.texture(&normal, "normal", sampler),
                    scale: 1.0,
                    tex_coord: 0,
                    extensions: None,
                    extras: Default::default(),
                });
            }
        }
        Ok(self.root.push(material))
    }

    /// Serializes the JSON and assembles the container: header, JSON chunk padded with spaces,
    /// BIN chunk padded with zeros.
    fn finish(mut self) -> Result<Vec<u8>, ExportError> {
        pad(&mut self.bin, 0);
        self.root.push(json::Buffer {
            byte_length: USize64::from(self.bin.len()),
            name: None,
            uri: None,
            extensions: None,
            extras: Default::default(),
        });
        self.root.asset.generator = Some(concat!("meshcast ", env!("CARGO_PKG_VERSION")).into());
        let mut json = self.root.to_vec()?;
        pad(&mut json, b' ');

        let total = 12 + 8 + json.len() + 8 + self.bin.len();
        let too_large = || {
            ExportError::invalid(format!(
                "the GLB would be {total} bytes; the format's limit is 4 GiB"
            ))
        };
        let total32 = u32::try_from(total).map_err(|_| too_large())?;
        let mut glb = Vec::with_capacity(total);
        glb.extend_from_slice(MAGIC);
        glb.extend_from_slice(&VERSION.to_le_bytes());
        glb.extend_from_slice(&total32.to_le_bytes());
        for (kind, data) in [(CHUNK_JSON, &json), (CHUNK_BIN, &self.bin)] {
            // Each chunk is shorter than the total, which fits u32.
            let len = u32::try_from(data.len()).map_err(|_| too_large())?;
            glb.extend_from_slice(&len.to_le_bytes());
            glb.extend_from_slice(kind);
            glb.extend_from_slice(data);
        }
        Ok(glb)
    }
}

fn info(index: Index<json::Texture>) -> json::texture::Info {
    json::texture::Info { index, tex_coord: 0, extensions: None, extras: Default::default() }
}

/// Pads `bytes` with `fill` to a multiple of 4.
fn pad(bytes: &mut Vec<u8>, fill: u8) {
    bytes.resize(bytes.len().next_multiple_of(4), fill);
}

/// Per-component min and max, as JSON numbers. f32 widened to f64 prints digits that read back
/// as the same f32, so the validator's exact comparison with the data holds.
fn bounds(positions: &[[f32; 3]]) -> (json::Value, json::Value) {
    let mut min = [f32::INFINITY; 3];
    let mut max = [f32::NEG_INFINITY; 3];
    for p in positions {
        for k in 0..3 {
            min[k] = min[k].min(p[k]);
            max[k] = max[k].max(p[k]);
        }
    }
    let value = |v: [f32; 3]| json::Value::from(v.map(f64::from).to_vec());
    (value(min), value(max))
}
