//! The capture page's checks in a real browser: the blur score separates a sharp pattern from
//! the same pattern blurred, and the coverage plan counts kept views per ring.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report
#![cfg(target_arch = "wasm32")]

use meshcast_frontend::capture::plan::{HEIGHTS, PER_RING, coverage, filled};
use meshcast_frontend::capture::sharpness::{MIN_SHARPNESS, laplacian_variance, luma};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// A 64 × 64 RGBA pattern of 16-pixel squares, dark and light.
fn checkerboard() -> Vec<u8> {
    let mut rgba = Vec::with_capacity(64 * 64 * 4);
    for y in 0..64 {
        for x in 0..64 {
            let v = if (x / 16 + y / 16) % 2 == 0 { 40 } else { 210 };
            rgba.extend([v, v, v, 255]);
        }
    }
    rgba
}

/// `luma` under an r-pixel box blur (edges clamped).
fn blurred(luma: &[f32], r: i32) -> Vec<f32> {
    let at = |x: i32, y: i32| luma[(y.clamp(0, 63) * 64 + x.clamp(0, 63)) as usize];
    let n = ((2 * r + 1) * (2 * r + 1)) as f32;
    (0..64 * 64)
        .map(|i| {
            let (x, y) = (i % 64, i / 64);
            (-r..=r)
                .flat_map(|dy| (-r..=r).map(move |dx| (dx, dy)))
                .map(|(dx, dy)| at(x + dx, y + dy))
                .sum::<f32>()
                / n
        })
        .collect()
}

#[wasm_bindgen_test]
fn blur_score_separates_sharp_from_blurred() {
    let sharp = luma(&checkerboard());
    let sharp_score = laplacian_variance(&sharp, 64, 64);
    // Three box blurs ≈ a Gaussian of σ ≈ 3.5 px, like a photo taken with a shaking hand.
    let soft = blurred(&blurred(&blurred(&sharp, 3), 3), 3);
    let blurred_score = laplacian_variance(&soft, 64, 64);
    assert!(sharp_score > 10.0 * MIN_SHARPNESS, "sharp {sharp_score}");
    assert!(blurred_score < MIN_SHARPNESS, "blurred {blurred_score}");
    // A uniform frame (lens cap) scores zero; too small an image too.
    assert_eq!(laplacian_variance(&vec![128.0; 64 * 64], 64, 64), 0.0);
    assert_eq!(laplacian_variance(&[1.0, 2.0], 2, 1), 0.0);
}

#[wasm_bindgen_test]
fn coverage_counts_views_per_ring_up_to_the_targets() {
    let rings = [0, 0, 1, 2, 2, 2].into_iter().chain(std::iter::repeat_n(1, 20));
    let counts = filled(rings);
    assert_eq!(counts, [2, PER_RING, 3]);
    let total = (2 + PER_RING + 3) as f64 / (PER_RING * HEIGHTS.len()) as f64;
    assert!((coverage(&counts) - total).abs() < 1e-12);
    assert_eq!(filled([7, 9]), [0, 0, 0], "unknown rings are ignored");
}
