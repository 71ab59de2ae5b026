//! Cross-sections of meshes as a picture: where a reconstruction's surface lies against the
//! ground truth's, inside the object too (debris, filled cavities), which neither the Chamfer
//! distance nor a rendering shows. Three panels, the planes x, y and z through the centre of
//! the reference's bounding box, each mesh's cut drawn in its colour on white.
//!
//! Hand-rolled (plane–triangle cuts and a line walk) because no plotting crate is in the
//! dependency tree and this is a benchmark-only picture.

use image::{Rgb, RgbImage};
use tch::{Kind, Tensor};

/// Pixels per panel side.
const PANEL: u32 = 512;

/// A mesh to draw: vertices `[V, 3]` and triangles `[T, 3]` on the CPU, and its colour.
pub struct Drawn<'a> {
    pub vertices: &'a Tensor,
    pub triangles: &'a Tensor,
    pub colour: [u8; 3],
}

fn rows(t: &Tensor, kind: Kind) -> Vec<f64> {
    Vec::<f64>::try_from(t.to_kind(kind).to_kind(Kind::Double).flatten(0, -1)).unwrap_or_default()
}

/// Three panels side by side; the view box is the first mesh's bounding box, padded by 10%.
pub fn cross_sections(meshes: &[Drawn<'_>]) -> RgbImage {
    let mut image = RgbImage::from_pixel(3 * PANEL, PANEL, Rgb([255, 255, 255]));
    let Some(reference) = meshes.first() else { return image };
    let v = rows(reference.vertices, Kind::Double);
    let (mut lo, mut hi) = ([f64::MAX; 3], [f64::MIN; 3]);
    for p in v.chunks_exact(3) {
        for a in 0..3 {
            lo[a] = lo[a].min(p[a]);
            hi[a] = hi[a].max(p[a]);
        }
    }
    let centre: Vec<f64> = (0..3).map(|a| 0.5 * (lo[a] + hi[a])).collect();
    let half = (0..3).map(|a| hi[a] - lo[a]).fold(0.0, f64::max) * 0.55;
    for mesh in meshes {
        let v = rows(mesh.vertices, Kind::Double);
        let t: Vec<usize> = rows(mesh.triangles, Kind::Int64).iter().map(|&i| i as usize).collect();
        for (panel, axis) in (0..3).enumerate() {
            // The panel shows the two other axes, the first across and the second up.
            let (u, w) = ((axis + 1) % 3, (axis + 2) % 3);
            let to_pixel = |p: [f64; 3]| {
                let x = (p[u] - centre[u] + half) / (2.0 * half) * f64::from(PANEL);
                let y = (centre[w] + half - p[w]) / (2.0 * half) * f64::from(PANEL);
                (x + f64::from(PANEL) * panel as f64, y)
            };
            for tri in t.chunks_exact(3) {
                let p: Vec<[f64; 3]> =
                    tri.iter().map(|&i| [v[3 * i], v[3 * i + 1], v[3 * i + 2]]).collect();
                let d: Vec<f64> = p.iter().map(|q| q[axis] - centre[axis]).collect();
                let mut cut = Vec::with_capacity(2);
                for (a, b) in [(0, 1), (1, 2), (2, 0)] {
                    if (d[a] < 0.0) != (d[b] < 0.0) {
                        let s = d[a] / (d[a] - d[b]);
                        cut.push(std::array::from_fn(|k| p[a][k] + s * (p[b][k] - p[a][k])));
                    }
                }
                if let [a, b] = cut[..] {
                    line(&mut image, to_pixel(a), to_pixel(b), panel as u32, mesh.colour);
                }
            }
        }
    }
    image
}

/// A one-pixel line from `a` to `b`, clipped to panel `panel`.
fn line(image: &mut RgbImage, a: (f64, f64), b: (f64, f64), panel: u32, colour: [u8; 3]) {
    let steps = (b.0 - a.0).abs().max((b.1 - a.1).abs()).ceil().max(1.0) as u32;
    for i in 0..=steps {
        let s = f64::from(i) / f64::from(steps);
        let (x, y) = (a.0 + s * (b.0 - a.0), a.1 + s * (b.1 - a.1));
        if x >= f64::from(panel * PANEL) && x < f64::from((panel + 1) * PANEL) && y >= 0.0 {
            let (x, y) = (x as u32, y as u32);
            if y < PANEL {
                image.put_pixel(x, y, Rgb(colour));
            }
        }
    }
}
