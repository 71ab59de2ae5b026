//! The mesh handed to the exporters: plain arrays in glTF's conventions, checked once by
//! [`ExportMesh::validate`] so that both writers can trust it.

use std::fmt;

use image::{RgbImage, RgbaImage};

use super::ExportError;

/// A triangle mesh with one material, single-indexed (every attribute shares the vertex index).
#[derive(Debug, Clone, Default)]
pub struct ExportMesh {
    /// Vertex positions (glTF: +Y up, metres).
    pub positions: Vec<[f32; 3]>,
    /// Per-vertex normals; need not be unit length (the writers normalize), must not be zero.
    pub normals: Option<Vec<[f32; 3]>>,
    /// glTF TANGENT per vertex: unit xyz orthogonal to the normal, w = ±1 the bitangent's sign
    /// (`cross(normal, xyz) · w`); the frames a normal map was baked in. Needs `normals`.
    pub tangents: Option<Vec<[f32; 4]>>,
    /// Texture coordinates in glTF's convention: (0, 0) is the top-left of the image, v grows
    /// downwards. OBJ gets `1 - v`.
    pub uvs: Option<Vec<[f32; 2]>>,
    /// Per-vertex linear RGB, for meshes without textures; clamped to [0, 1] on write. OBJ gets
    /// them sRGB-encoded, as Blender and MeshLab read them.
    pub colors: Option<Vec<[f32; 3]>>,
    /// Vertex indices, counter-clockwise seen from the front.
    pub triangles: Vec<[u32; 3]>,
    /// Textures of the metallic-roughness material; needs `uvs`. Without it the material is a
    /// white (or vertex-coloured) dielectric of roughness 1.
    pub material: Option<PbrTextures>,
}

/// The textures of a metallic-roughness PBR material, all sampled with `uvs`.
#[derive(Clone)]
pub struct PbrTextures {
    /// Base colour, sRGB; alpha is written but the material is opaque.
    pub base_color: RgbaImage,
    /// Linear occlusion (R), roughness (G) and metallic (B), glTF's packing. Without it the
    /// material has metallic 0 and roughness 1.
    pub orm: Option<RgbImage>,
    /// Tangent-space normal map in glTF's convention (+X along the tangent, +Y along the
    /// bitangent, towards the top of the image i.e. smaller v, OpenGL style), in the mesh's
    /// `tangents`. Without them viewers derive their own (MikkTSpace) frames, which differ
    /// slightly; OBJ cannot carry tangents at all.
    pub normal: Option<RgbImage>,
}

impl fmt::Debug for PbrTextures {
    // Sizes only: the derived Debug would print every pixel.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let size = |i: Option<(u32, u32)>| i.map(|(w, h)| format!("{w}x{h}"));
        f.debug_struct("PbrTextures")
            .field("base_color", &size(Some(self.base_color.dimensions())))
            .field("orm", &size(self.orm.as_ref().map(RgbImage::dimensions)))
            .field("normal", &size(self.normal.as_ref().map(RgbImage::dimensions)))
            .finish()
    }
}

impl ExportMesh {
    /// Checks what both formats need: at least one triangle, indices in range, one value per
    /// vertex in every attribute, finite values, normals that can be normalized, textures with
    /// pixels and uvs to sample them with.
    pub fn validate(&self) -> Result<(), ExportError> {
        let n = self.positions.len();
        if n == 0 {
            return Err(ExportError::invalid("the mesh has no vertices"));
        }
        if self.triangles.is_empty() {
            return Err(ExportError::invalid("the mesh has no triangles"));
        }
        // Index 2^32 - 1 is glTF's primitive restart value, so it may not be a vertex.
        if n >= u32::MAX as usize {
            return Err(ExportError::invalid(format!(
                "{n} vertices; 32-bit indices allow at most {}",
                u32::MAX - 1
            )));
        }
        check_len("normals", self.normals.as_ref().map(Vec::len), n)?;
        check_len("tangents", self.tangents.as_ref().map(Vec::len), n)?;
        check_len("uvs", self.uvs.as_ref().map(Vec::len), n)?;
        check_len("colors", self.colors.as_ref().map(Vec::len), n)?;

        check_finite("position", &self.positions)?;
        if let Some(normals) = &self.normals {
            check_finite("normal", normals)?;
            if let Some(i) = normals.iter().position(|&v| !length(v).is_normal()) {
                return Err(ExportError::invalid(format!(
                    "normal {i} is {:?}, whose length cannot be normalized",
                    normals[i]
                )));
            }
        }
        if let Some(tangents) = &self.tangents {
            if self.normals.is_none() {
                return Err(ExportError::invalid("the mesh has tangents but no normals"));
            }
            check_finite("tangent", tangents)?;
            if let Some(i) = tangents
                .iter()
                .position(|t| (length([t[0], t[1], t[2]]) - 1.0).abs() > 1e-3 || t[3].abs() != 1.0)
            {
                return Err(ExportError::invalid(format!(
                    "tangent {i} is {:?}; glTF needs a unit xyz and w = ±1",
                    tangents[i]
                )));
            }
        }
        if let Some(uvs) = &self.uvs {
            check_finite("uv", uvs)?;
        }
        if let Some(colors) = &self.colors {
            check_finite("color", colors)?;
        }

        for (t, triangle) in self.triangles.iter().enumerate() {
            if let Some(&i) = triangle.iter().find(|&&i| i as usize >= n) {
                return Err(ExportError::invalid(format!(
                    "triangle {t} refers to vertex {i} but there are only {n} vertices"
                )));
            }
        }

        if let Some(material) = &self.material {
            if self.uvs.is_none() {
                return Err(ExportError::invalid(
                    "the material has textures but the mesh has no uvs",
                ));
            }
            material.validate()?;
        }
        Ok(())
    }

    /// Normals scaled to unit length, as glTF requires; call after [`Self::validate`].
    pub(crate) fn unit_normals(&self) -> Option<Vec<[f32; 3]>> {
        let normals = self.normals.as_ref()?;
        Some(
            normals
                .iter()
                .map(|&v| {
                    let l = length(v);
                    [v[0] / l, v[1] / l, v[2] / l]
                })
                .collect(),
        )
    }

    /// Colours clamped to [0, 1], the range of glTF's COLOR_0.
    pub(crate) fn clamped_colors(&self) -> Option<Vec<[f32; 3]>> {
        let colors = self.colors.as_ref()?;
        Some(colors.iter().map(|c| c.map(|x| x.clamp(0.0, 1.0))).collect())
    }
}

impl PbrTextures {
    fn validate(&self) -> Result<(), ExportError> {
        let textures = [
            ("base_color", Some(self.base_color.dimensions())),
            ("orm", self.orm.as_ref().map(RgbImage::dimensions)),
            ("normal", self.normal.as_ref().map(RgbImage::dimensions)),
        ];
        for (name, size) in textures {
            if let Some((w, h)) = size
                && (w == 0 || h == 0)
            {
                return Err(ExportError::invalid(format!("the {name} texture is empty ({w}x{h})")));
            }
        }
        Ok(())
    }
}

fn length(v: [f32; 3]) -> f32 {
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}

fn check_len(name: &str, len: Option<usize>, n: usize) -> Result<(), ExportError> {
    match len {
        Some(len) if len != n => Err(ExportError::invalid(format!(
            "{name} has {len} entries but positions has {n}; every attribute needs one per vertex"
        ))),
        _ => Ok(()),
    }
}

fn check_finite<const N: usize>(name: &str, values: &[[f32; N]]) -> Result<(), ExportError> {
    match values.iter().position(|v| v.iter().any(|x| !x.is_finite())) {
        Some(i) => Err(ExportError::invalid(format!("{name} {i} is {:?}, not finite", values[i]))),
        None => Ok(()),
    }
}
