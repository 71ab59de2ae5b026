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
        // Triangle-major within each tile: a small triangle tests only the pixels of its box.
        // The depth test is order-independent (nearer wins, ties go to the lower id), so the
        // result equals the CUDA kernel's pixel-major loop.
        let row0 = ty * TILE;
        let row_count = rows.len() / w;
        let mut depth = vec![f32::INFINITY; rows.len()];
        let mut best = vec![u32::MAX; rows.len()];
        for tx in 0..tiles_x {
            let (col0, col1) = (tx * TILE, ((tx + 1) * TILE).min(w) - 1);
            for &(t, bx) in &bins[ty * tiles_x + tx] {
                let [a, b, c] = tris[t as usize].map(|i| &verts[i as usize]);
                let (y0, y1) = (bx.py0.max(row0), bx.py1.min(row0 + row_count - 1));
                let (x0, x1) = (bx.px0.max(col0), bx.px1.min(col1));
                for py in y0..=y1 {
                    let y = pixel_ndc(py, h);
                    for px in x0..=x1 {
                        if let Some(d) = cover(a, b, c, pixel_ndc(px, w), y) {
                            let k = (py - row0) * w + px;
                            if d < depth[k] || (d == depth[k] && t < best[k]) {
                                depth[k] = d;
                                best[k] = t;
                            }
                        }
                    }
                }
            }
        }
        for (id, &t) in rows.iter_mut().zip(&best) {
            *id = if t == u32::MAX { 0 } else { t as i32 + 1 };
        }
    });
}
