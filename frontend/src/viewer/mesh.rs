//! Triangle meshes as the viewer draws them, and the built-in test mesh.

use glam::Vec3;

/// An indexed triangle mesh with per-vertex normals and colours.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mesh {
    /// Vertex positions.
    pub positions: Vec<[f32; 3]>,
    /// Unit vertex normals, one per position.
    pub normals: Vec<[f32; 3]>,
    /// Linear RGB colours in [0, 1], one per position.
    pub colors: Vec<[f32; 3]>,
    /// Triangles as vertex indices, counter-clockwise seen from outside.
    pub indices: Vec<u32>,
    /// Texture coordinates (glTF convention, origin top-left), one per position, or empty.
    pub uvs: Vec<[f32; 2]>,
    /// glTF tangents (xyz, bitangent sign), one per position, or empty: the frames of the
    /// normal map.
    pub tangents: Vec<[f32; 4]>,
}

impl Mesh {
    /// Axis-aligned bounds `(min, max)`; a unit box around the origin for an empty mesh.
    pub fn bounds(&self) -> (Vec3, Vec3) {
        let mut min = Vec3::splat(f32::INFINITY);
        let mut max = Vec3::splat(f32::NEG_INFINITY);
        for p in &self.positions {
            min = min.min(Vec3::from(*p));
            max = max.max(Vec3::from(*p));
        }
        if min.x > max.x { (Vec3::splat(-0.5), Vec3::splat(0.5)) } else { (min, max) }
    }

    /// Number of triangles.
    pub fn triangle_count(&self) -> usize {
        self.indices.len() / 3
    }

    /// A live frame from the server: normals computed here, sRGB colours made linear.
    pub fn from_frame(frame: meshcast_shared::frame::MeshFrame) -> Self {
        // Taken by value: a live frame is ~100k triangles and arrives several times a second.
        let indices: Vec<u32> = frame.triangles.into_flattened();
        let colors = match &frame.colours {
            Some(c) => {
                c.iter().map(|rgb| rgb.map(|v| srgb_to_linear(f32::from(v) / 255.0))).collect()
            }
            None => vec![[0.7, 0.7, 0.7]; frame.positions.len()],
        };
        let normals = vertex_normals(&frame.positions, &indices);
        Self { positions: frame.positions, normals, colors, indices, ..Self::default() }
    }

    /// The undirected edges of triangle-list `indices`, each once, as line-list indices.
    pub fn edges_of(indices: &[u32]) -> Vec<u32> {
        let mut edges: Vec<(u32, u32)> = indices
            .chunks_exact(3)
            .flat_map(|t| [(t[0], t[1]), (t[1], t[2]), (t[2], t[0])])
            .map(|(a, b)| (a.min(b), a.max(b)))
            .collect();
        edges.sort_unstable();
        edges.dedup();
        edges.into_iter().flat_map(|(a, b)| [a, b]).collect()
    }
}

/// sRGB transfer function (IEC 61966-2-1) to linear, for one channel in [0, 1].
pub fn srgb_to_linear(v: f32) -> f32 {
    if v <= 0.04045 { v / 12.92 } else { ((v + 0.055) / 1.055).powf(2.4) }
}

/// Area-weighted vertex normals from the triangles (streamed meshes arrive without normals).
pub fn vertex_normals(positions: &[[f32; 3]], indices: &[u32]) -> Vec<[f32; 3]> {
    let mut sums = vec![Vec3::ZERO; positions.len()];
    for tri in indices.chunks_exact(3) {
        let [a, b, c] = [tri[0] as usize, tri[1] as usize, tri[2] as usize];
        if a.max(b).max(c) >= positions.len() {
            continue;
        }
        let (pa, pb, pc) =
            (Vec3::from(positions[a]), Vec3::from(positions[b]), Vec3::from(positions[c]));
        let face = (pb - pa).cross(pc - pa); // length = 2 × area: larger faces weigh more
        for i in [a, b, c] {
            sums[i] += face;
        }
    }
    sums.into_iter().map(|n| n.try_normalize().unwrap_or(Vec3::Y).to_array()).collect()
}

/// A (p, q) torus knot tube: curved everywhere, self-occluding, so shading and depth testing
/// problems show at a glance.
pub fn torus_knot(p: u32, q: u32, segments: u32, sides: u32) -> Mesh {
    let (pf, qf) = (p as f32, q as f32);
    let curve = |t: f32| {
        let r = 0.6 + 0.25 * (qf * t).cos();
        Vec3::new(r * (pf * t).cos(), 0.25 * (qf * t).sin(), r * (pf * t).sin())
    };
    let tube = 0.09;
    let mut positions = Vec::with_capacity((segments * sides) as usize);
    let mut colors = Vec::with_capacity(positions.capacity());
    for i in 0..segments {
        let t = i as f32 / segments as f32 * std::f32::consts::TAU;
        let centre = curve(t);
        let tangent = (curve(t + 1e-3) - curve(t - 1e-3)).normalize();
        let normal = tangent.cross(Vec3::Y).normalize();
        let binormal = tangent.cross(normal);
        let hue = i as f32 / segments as f32;
        for j in 0..sides {
            let a = j as f32 / sides as f32 * std::f32::consts::TAU;
            positions.push((centre + tube * (a.cos() * normal + a.sin() * binormal)).to_array());
            colors.push([
                0.55 + 0.35 * (hue * std::f32::consts::TAU).cos(),
                0.55,
                0.75 - 0.2 * hue,
            ]);
        }
    }
    let mut indices = Vec::with_capacity((segments * sides * 6) as usize);
    for i in 0..segments {
        let next = (i + 1) % segments;
        for j in 0..sides {
            let k = (j + 1) % sides;
            let (a, b, c, d) = (i * sides + j, next * sides + j, next * sides + k, i * sides + k);
            indices.extend_from_slice(&[a, c, b, a, d, c]);
        }
    }
    let normals = vertex_normals(&positions, &indices);
    Mesh { positions, normals, colors, indices, ..Mesh::default() }
}
