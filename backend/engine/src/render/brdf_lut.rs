//! The split-sum BRDF lookup table (Karis, "Real Shading in Unreal Engine 4", 2013): for
//! n·v and roughness, the scale and bias applied to F0 in the specular term, integrated by GGX
//! importance sampling with a Hammersley sequence. Computed once, in code, instead of shipping
//! a binary table.

use std::sync::OnceLock;

use rayon::prelude::*;
use tch::{Device, Tensor};

use crate::EngineError;

/// Table resolution per axis.
pub const LUT_SIZE: usize = 128;
const SAMPLES: u32 = 256;

fn radical_inverse(mut bits: u32) -> f64 {
    bits = bits.rotate_right(16);
    bits = ((bits & 0x5555_5555) << 1) | ((bits & 0xAAAA_AAAA) >> 1);
    bits = ((bits & 0x3333_3333) << 2) | ((bits & 0xCCCC_CCCC) >> 2);
    bits = ((bits & 0x0F0F_0F0F) << 4) | ((bits & 0xF0F0_F0F0) >> 4);
    bits = ((bits & 0x00FF_00FF) << 8) | ((bits & 0xFF00_FF00) >> 8);
    f64::from(bits) / 4_294_967_296.0
}

/// (scale, bias) for `n_dot_v` and perceptual `roughness` (GGX α = roughness²).
pub fn integrate(n_dot_v: f64, roughness: f64) -> (f64, f64) {
    let alpha = roughness * roughness;
    let v = [(1.0 - n_dot_v * n_dot_v).max(0.0).sqrt(), 0.0, n_dot_v];
    let k = alpha / 2.0; // Schlick-GGX geometry term for image-based lighting
    let g1 = |c: f64| c / (c * (1.0 - k) + k);
    let (mut a, mut b) = (0.0, 0.0);
    for i in 0..SAMPLES {
        let (u1, u2) = (f64::from(i) / f64::from(SAMPLES), radical_inverse(i));
        let phi = std::f64::consts::TAU * u1;
        let cos_theta = ((1.0 - u2) / (1.0 + (alpha * alpha - 1.0) * u2)).sqrt();
        let sin_theta = (1.0 - cos_theta * cos_theta).max(0.0).sqrt();
        let h = [sin_theta * phi.cos(), sin_theta * phi.sin(), cos_theta];
        let v_dot_h = v[0] * h[0] + v[1] * h[1] + v[2] * h[2];
        let l_z = 2.0 * v_dot_h * h[2] - v[2];
        if l_z > 0.0 {
            let g = g1(n_dot_v) * g1(l_z);
            let g_vis = g * v_dot_h.max(0.0) / (h[2] * n_dot_v);
            let fc = (1.0 - v_dot_h).max(0.0).powi(5);
            a += (1.0 - fc) * g_vis;
            b += fc * g_vis;
        }
    }
    (a / f64::from(SAMPLES), b / f64::from(SAMPLES))
}

/// The table as a `[1, LUT_SIZE, LUT_SIZE, 2]` float32 texture: u (width) = n·v, v (height) =
/// roughness, sampled at texel centres.
pub fn brdf_lut(device: Device) -> Result<Tensor, EngineError> {
    static TABLE: OnceLock<Vec<f32>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        (0..LUT_SIZE * LUT_SIZE)
            .into_par_iter()
            .flat_map_iter(|i| {
                let (row, col) = (i / LUT_SIZE, i % LUT_SIZE);
                let n_dot_v = ((col as f64 + 0.5) / LUT_SIZE as f64).max(1e-4);
                let roughness = (row as f64 + 0.5) / LUT_SIZE as f64;
                let (a, b) = integrate(n_dot_v, roughness);
                [a as f32, b as f32]
            })
            .collect()
    });
    let n = LUT_SIZE as i64;
    Ok(Tensor::from_slice(table).f_reshape([1, n, n, 2])?.f_to_device(device)?)
}
