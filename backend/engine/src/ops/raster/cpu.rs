//! CPU visibility pass: triangles binned into 16×16 tiles, tile rows rasterized in parallel
//! (rayon), one depth-tested winner per pixel. Memory is O(pixels + triangles).

use rayon::prelude::*;

use super::coverage::{PixelBox, Vertex, cover, pixel_ndc, triangle_setup};

const TILE: usize = 16;

/// Triangle id + 1 per pixel for each of `pos.len() / v` images (row-major, rows bottom-up).
pub(super) fn visibility(
    pos: &[f32],
    v: usize,
    tris: &[[i32; 3]],
    h: usize,
    w: usize,
    out: &mut [i32],
) {
    let batch = pos.len() / (v * 4).max(1);
    let verts: &[Vertex] = pos.as_chunks::<4>().0;
    for (b, image) in out.chunks_mut(h * w).enumerate().take(batch) {
        rasterize_image(&verts[b * v..(b + 1) * v], tris, h, w, image);
    }
}

fn rasterize_image(verts: &[Vertex], tris: &[[i32; 3]], h: usize, w: usize, out: &mut [i32]) {
    let (tiles_x, tiles_y) = (w.div_ceil(TILE), h.div_ceil(TILE));
    // Each entry keeps the triangle's pixel box: most small triangles miss most pixels of a tile,
    // and the box rejects them before the coverage arithmetic.
    let mut bins: Vec<Vec<(u32, PixelBox)>> = vec![Vec::new(); tiles_x * tiles_y];
    for (t, tri) in tris.iter().enumerate() {
        let [a, b, c] = tri.map(|i| &verts[i as usize]);
        if let Some(bx) = triangle_setup(a, b, c, h, w) {
            for ty in bx.py0 / TILE..=bx.py1 / TILE {
                for tx in bx.px0 / TILE..=bx.px1 / TILE {
                    bins[ty * tiles_x + tx].push((t as u32, bx));
                }
            }
        }
    }
    out.par_chunks_mut(TILE * w).enumerate().for_each(|(ty, rows)| {
        for tx in 0..tiles_x {
            let bin = &bins[ty * tiles_x + tx];
            for (row, line) in rows.chunks_mut(w).enumerate() {
                let py = ty * TILE + row;
                let y = pixel_ndc(py, h);
                let x0 = tx * TILE;
                for (px, id) in line.iter_mut().enumerate().skip(x0).take(TILE) {
                    let x = pixel_ndc(px, w);
                    let mut best: Option<(f32, u32)> = None;
                    for &(t, bx) in bin {
                        if px < bx.px0 || px > bx.px1 || py < bx.py0 || py > bx.py1 {
                            continue;
                        }
                        let [a, b, c] = tris[t as usize].map(|i| &verts[i as usize]);
                        if let Some(d) = cover(a, b, c, x, y)
                            && best.is_none_or(|(bd, bt)| d < bd || (d == bd && t < bt))
                        {
                            best = Some((d, t));
                        }
                    }
                    *id = best.map_or(0, |(_, t)| t as i32 + 1);
                }
            }
        }
    });
}
