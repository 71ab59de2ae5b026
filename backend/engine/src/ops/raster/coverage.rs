//! The per-triangle setup and per-pixel coverage test of the visibility pass, on the CPU.
//!
//! A line-for-line twin of `kernels/rasterize.cu` (`triangle_setup`, `cover`): the CUDA source is
//! compiled with `--fmad=false` and Rust never fuses multiply-adds, so both round identically and
//! CPU and GPU agree pixel for pixel.

/// A clip-space vertex.
pub(super) type Vertex = [f32; 4];

/// Inclusive pixel range a triangle may cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PixelBox {
    pub px0: usize,
    pub px1: usize,
    pub py0: usize,
    pub py1: usize,
}

fn finite(v: &Vertex) -> bool {
    v.iter().all(|c| c.is_finite())
}

/// Culls triangles that cannot cover a pixel centre; otherwise a conservative pixel box.
pub(super) fn triangle_setup(
    a: &Vertex,
    b: &Vertex,
    c: &Vertex,
    h: usize,
    w: usize,
) -> Option<PixelBox> {
    if !finite(a) || !finite(b) || !finite(c) {
        return None;
    }
    let all = |f: &dyn Fn(&Vertex) -> bool| f(a) && f(b) && f(c);
    if all(&|v| v[3] <= 0.0)
        || all(&|v| v[0] > v[3])
        || all(&|v| v[0] < -v[3])
        || all(&|v| v[1] > v[3])
        || all(&|v| v[1] < -v[3])
        || all(&|v| v[2] > v[3])
        || all(&|v| v[2] < -v[3])
    {
        return None;
    }
    let (wf, hf) = (w as f32, h as f32);
    let (px0, px1, py0, py1) = if all(&|v| v[3] > 0.0) {
        let sx = |v: &Vertex| (v[0] / v[3] * 0.5 + 0.5) * wf - 0.5;
        let sy = |v: &Vertex| (v[1] / v[3] * 0.5 + 0.5) * hf - 0.5;
        let x0 = sx(a).min(sx(b).min(sx(c)));
        let x1 = sx(a).max(sx(b).max(sx(c)));
        let y0 = sy(a).min(sy(b).min(sy(c)));
        let y1 = sy(a).max(sy(b).max(sy(c)));
        (
            (x0.max(-2.0).floor() as i64).max(0),
            (x1.min(wf + 1.0).ceil() as i64).min(w as i64 - 1),
            (y0.max(-2.0).floor() as i64).max(0),
            (y1.min(hf + 1.0).ceil() as i64).min(h as i64 - 1),
        )
    } else {
        (0, w as i64 - 1, 0, h as i64 - 1)
    };
    (px0 <= px1 && py0 <= py1).then_some(PixelBox {
        px0: px0 as usize,
        px1: px1 as usize,
        py0: py0 as usize,
        py1: py1 as usize,
    })
}

/// NDC coordinate of pixel centre `p` along an axis of `size` pixels.
pub(super) fn pixel_ndc(p: usize, size: usize) -> f32 {
    (2 * p + 1) as f32 / size as f32 - 1.0
}

/// Perspective-correct coverage of the pixel centre `(x, y)`: z/w on a hit.
pub(super) fn cover(p0: &Vertex, p1: &Vertex, p2: &Vertex, x: f32, y: f32) -> Option<f32> {
    let (a0, a1, a2) = (p0[0] - x * p0[3], p1[0] - x * p1[3], p2[0] - x * p2[3]);
    let (c0, c1, c2) = (p0[1] - y * p0[3], p1[1] - y * p1[3], p2[1] - y * p2[3]);
    let b0 = a1 * c2 - a2 * c1;
    let b1 = a2 * c0 - a0 * c2;
    let b2 = a0 * c1 - a1 * c0;
    let s = b0 + b1 + b2;
    if s > 0.0 {
        if b0 < 0.0 || b1 < 0.0 || b2 < 0.0 {
            return None;
        }
    } else if s < 0.0 {
        if b0 > 0.0 || b1 > 0.0 || b2 > 0.0 {
            return None;
        }
    } else {
        return None;
    }
    let wn = b0 * p0[3] + b1 * p1[3] + b2 * p2[3];
    // Behind the camera; written so a NaN quotient is rejected too.
    if wn / s <= 0.0 || (wn / s).is_nan() {
        return None;
    }
    let d = (b0 * p0[2] + b1 * p1[2] + b2 * p2[2]) / wn;
    (-1.0..=1.0).contains(&d).then_some(d)
}
