//! Split-sum rendering: the BRDF table against direct numerical integration, the cube filters
//! against an analytic irradiance, the light's levels and gradients, shading under a uniform light.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

mod common;

use meshcast_engine::ops::cubemap::texel_directions;
use meshcast_engine::ops::texture::Mipmaps;
use meshcast_engine::render::brdf_lut::{brdf_lut, integrate};
use meshcast_engine::render::cube_filter::{Filter, Lobe, filter_matrix};
use meshcast_engine::render::{EnvironmentLight, Material, shade};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// ∫ f_spec · n·l dω split as F0 · A + B, by a fine (θ, φ) grid over the hemisphere.
fn reference_scale_bias(n_dot_v: f64, roughness: f64) -> (f64, f64) {
    let alpha = roughness * roughness;
    let k = alpha / 2.0;
    let g1 = |c: f64| c / (c * (1.0 - k) + k);
    let v = [(1.0 - n_dot_v * n_dot_v).sqrt(), 0.0, n_dot_v];
    let (steps_t, steps_p) = (800, 800);
    let (mut a, mut b) = (0.0, 0.0);
    for i in 0..steps_t {
        let theta = (i as f64 + 0.5) / steps_t as f64 * std::f64::consts::FRAC_PI_2;
        for j in 0..steps_p {
            let phi = (j as f64 + 0.5) / steps_p as f64 * std::f64::consts::TAU;
            let l = [theta.sin() * phi.cos(), theta.sin() * phi.sin(), theta.cos()];
            let h = [v[0] + l[0], v[1] + l[1], v[2] + l[2]];
            let len = (h[0] * h[0] + h[1] * h[1] + h[2] * h[2]).sqrt();
            let h = h.map(|x| x / len);
            let (n_dot_h, v_dot_h) = (h[2], v[0] * h[0] + v[2] * h[2]);
            let d = alpha * alpha
                / (std::f64::consts::PI
                    * (n_dot_h * n_dot_h * (alpha * alpha - 1.0) + 1.0).powi(2));
            let spec = d * g1(n_dot_v) * g1(l[2]) / (4.0 * n_dot_v * l[2]) * l[2];
            let d_omega = theta.sin()
                * (std::f64::consts::FRAC_PI_2 / steps_t as f64)
                * (std::f64::consts::TAU / steps_p as f64);
            let fc = (1.0 - v_dot_h).powi(5);
            a += spec * (1.0 - fc) * d_omega;
            b += spec * fc * d_omega;
        }
    }
    (a, b)
}

#[test]
fn brdf_table_matches_direct_integration() {
    for (n_dot_v, roughness) in [(0.9, 0.5), (0.5, 0.8), (0.3, 0.3), (0.95, 1.0)] {
        let (a, b) = integrate(n_dot_v, roughness);
        let (ra, rb) = reference_scale_bias(n_dot_v, roughness);
        assert!(
            (a - ra).abs() < 0.02 && (b - rb).abs() < 0.02,
            "n·v {n_dot_v} r {roughness}: ({a}, {b}) vs ({ra}, {rb})"
        );
    }
    let lut = brdf_lut(Device::Cpu).unwrap();
    assert_eq!(lut.size(), [1, 128, 128, 2]);
    assert!(
        lut.sum_dim_intlist([3i64].as_slice(), false, Kind::Float).max().double_value(&[])
            <= 1.0 + 1e-3
    );
}

#[test]
fn cosine_filter_gives_hemisphere_irradiance() {
    let size = 16;
    let filter = Filter::new(size, Lobe::Cosine, Device::Cpu).unwrap();
    let dirs = texel_directions(size as i64, Device::Cpu).unwrap().to_kind(Kind::Float);
    // Radiance 1 where z > 0: irradiance / π at normal n is (1 + n_z) / 2.
    let upper = dirs.select(3, 2).gt(0.0).to_kind(Kind::Float).unsqueeze(3).repeat([1, 1, 1, 3]);
    let filtered = filter.apply(&upper).unwrap();
    let expected = (dirs.select(3, 2) + 1.0) / 2.0;
    let err = (filtered.select(3, 0) - expected).abs().max().double_value(&[]);
    assert!(err < 0.03, "irradiance off by {err}");
    // Rows are normalized: a constant map stays constant.
    let constant =
        filter.apply(&Tensor::full([6, 16, 16, 3], 0.7, (Kind::Float, Device::Cpu))).unwrap();
    assert!((constant - 0.7).abs().max().double_value(&[]) < 1e-5);
    // A sharp GGX lobe barely blurs: most weight stays on the texel itself.
    let sharp = filter_matrix(size, Lobe::Ggx(0.08)).unwrap().to_dense(None, false);
    assert!(sharp.diagonal(0, 0, 1).min().double_value(&[]) > 0.3);
    // The hand-written backward is the transpose: compare with dense autograd.
    let dense = filter_matrix(size, Lobe::Ggx(0.3)).unwrap().to_dense(None, false);
    let filter = Filter::new(size, Lobe::Ggx(0.3), Device::Cpu).unwrap();
    let x = Tensor::rand([6, 16, 16, 3], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    let w = Tensor::rand([6, 16, 16, 3], (Kind::Float, Device::Cpu));
    (filter.apply(&x).unwrap() * &w).sum(Kind::Float).backward();
    let expected = dense.transpose(0, 1).mm(&w.reshape([-1, 3]));
    let err = (x.grad().reshape([-1, 3]) - expected).abs().max().double_value(&[]);
    assert!(err < 1e-5, "filter gradient off by {err}");
}

#[test]
fn light_levels_shading_and_gradients() {
    for device in common::test_devices() {
        let vs = VarStore::new(device);
        let light = EnvironmentLight::new(&vs.root(), 32).unwrap();
        let levels = light.prefilter().unwrap();
        assert_eq!(levels.specular.len(), 2);
        // Roughness → level: ≤ 0.08 sharpest, 0.5 the last filtered, 1 the box level.
        let mips =
            light.mip_level(&Tensor::from_slice(&[0.0f32, 0.08, 0.5, 1.0]).to(device)).unwrap();
        assert_eq!(
            Vec::<f32>::try_from(mips.to_device(Device::Cpu)).unwrap(),
            [0.0, 0.0, 0.0, 1.0]
        );
        let lut = Mipmaps::build(&brdf_lut(device).unwrap(), 1).unwrap();
        let n = 50;
        tch::manual_seed(4);
        let normal = Tensor::randn([n, 3], (Kind::Float, device));
        let normal = &normal / normal.norm_scalaropt_dim(2, [1i64].as_slice(), true);
        let pos = Tensor::zeros([n, 3], (Kind::Float, device));
        let camera = &normal * 3.0; // looking straight at each point: n·v = 1
        let kd = Tensor::rand([n, 3], (Kind::Float, device));
        let ks = Tensor::stack(
            &[
                Tensor::zeros([n], (Kind::Float, device)),
                Tensor::full([n], 0.6, (Kind::Float, device)),
                Tensor::full([n], 0.2, (Kind::Float, device)),
            ],
            1,
        );
        let material = Material { kd: kd.shallow_clone(), ks };
        let shaded = shade(&light, &levels, &lut, &pos, &normal, &camera, &material).unwrap();
        // Uniform radiance 0.5: diffuse 0.5 · kd (1 − m), specular 0.5 · (F0 A + B).
        let (a, b) = integrate(1.0 - 0.5 / 128.0, 0.6);
        let f0 = &kd * 0.2 + 0.04 * 0.8;
        let expected = &kd * 0.8 * 0.5 + (f0 * a + b) * 0.5;
        let err = (shaded - expected).abs().max().double_value(&[]);
        assert!(err < 0.01, "{device:?}: shading off by {err}");
        // Gradients reach the light through every level.
        let levels = light.prefilter().unwrap();
        let out = shade(&light, &levels, &lut, &pos, &normal, &camera, &material).unwrap();
        (out.sum(Kind::Float) + light.regularizer().unwrap()).backward();
        let grad = light.base.grad();
        assert!(grad.abs().sum(Kind::Float).double_value(&[]) > 0.0, "{device:?}");
        assert!(bool::try_from(grad.isfinite().all()).unwrap(), "{device:?}");
    }
}

#[test]
fn light_resolution_is_checked() {
    let vs = VarStore::new(Device::Cpu);
    for bad in [16, 48, 128] {
        assert!(EnvironmentLight::new(&vs.root(), bad).is_err(), "{bad}");
    }
}
