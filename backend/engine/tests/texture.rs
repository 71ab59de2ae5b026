//! Texture sampling: bilinear against a float64 reference (wrap and clamp), mip chain values,
//! trilinear level selection, gradients against central differences, bad input.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

mod common;

use meshcast_engine::ops::texture::{Boundary, Filter, Mipmaps, texture};
use tch::{Device, Kind, Tensor};

/// Bilinear lookup of texel rows `tex[y][x][c]` in float64, written from the definition.
fn reference_bilinear(
    tex: &[f64],
    (th, tw, c): (usize, usize, usize),
    u: f64,
    v: f64,
    wrap: bool,
) -> Vec<f64> {
    let index = |i: i64, n: usize| {
        if wrap { i.rem_euclid(n as i64) as usize } else { i.clamp(0, n as i64 - 1) as usize }
    };
    let (x, y) = (u * tw as f64 - 0.5, v * th as f64 - 0.5);
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let mut out = vec![0.0; c];
    for (dy, wy) in [(0, 1.0 - fy), (1, fy)] {
        for (dx, wx) in [(0, 1.0 - fx), (1, fx)] {
            let (ix, iy) = (index(x0 as i64 + dx, tw), index(y0 as i64 + dy, th));
            for (k, o) in out.iter_mut().enumerate() {
                *o += wx * wy * tex[(iy * tw + ix) * c + k];
            }
        }
    }
    out
}

#[test]
fn bilinear_matches_float64_reference() {
    let (th, tw, c) = (5, 7, 3);
    for device in common::test_devices() {
        tch::manual_seed(1);
        let tex = Tensor::rand([1, th, tw, c], (Kind::Double, Device::Cpu));
        let uv = Tensor::rand([1, 9, 11, 2], (Kind::Double, Device::Cpu)) * 4.0 - 1.5;
        let tex_host = Vec::<f64>::try_from(tex.reshape([-1])).unwrap();
        let uv_host = Vec::<f64>::try_from(uv.reshape([-1])).unwrap();
        for (boundary, wrap) in [(Boundary::Wrap, true), (Boundary::Clamp, false)] {
            let mips = Mipmaps::build(&tex.to(device), 1).unwrap();
            let out = texture(&mips, &uv.to(device), None, Filter::Linear, boundary, 0.0).unwrap();
            let out = Vec::<f64>::try_from(out.to_device(Device::Cpu).reshape([-1])).unwrap();
            for (p, pair) in uv_host.chunks_exact(2).enumerate() {
                let want = reference_bilinear(
                    &tex_host,
                    (th as usize, tw as usize, c as usize),
                    pair[0],
                    pair[1],
                    wrap,
                );
                for k in 0..c as usize {
                    let got = out[p * c as usize + k];
                    assert!(
                        (got - want[k]).abs() < 1e-9,
                        "{device:?} {boundary:?} uv {pair:?}: {got} vs {}",
                        want[k]
                    );
                }
            }
        }
    }
}

#[test]
fn mip_levels_are_box_filtered() {
    let tex = Tensor::arange(16, (Kind::Double, Device::Cpu)).reshape([1, 4, 4, 1]);
    let mips = Mipmaps::build(&tex, 16).unwrap();
    assert_eq!(mips.len(), 3);
    // Level 1 at the centre of its texel (0, 0) is the mean of texels 0, 1, 4, 5.
    let uv = Tensor::from_slice(&[0.25f64, 0.25]).reshape([1, 1, 1, 2]);
    let texel_px = 1.0 / 4.0; // one screen pixel = one level-0 texel → footprint 1 texel
    let da = Tensor::from_slice(&[texel_px, 0.0, 0.0, texel_px]).reshape([1, 1, 1, 4]);
    let level1 =
        texture(&mips, &uv, Some(&da), Filter::LinearMipmapLinear, Boundary::Clamp, 1.0).unwrap();
    assert!((level1.double_value(&[0, 0, 0, 0]) - 2.5).abs() < 1e-12);
    let level2 =
        texture(&mips, &uv, Some(&da), Filter::LinearMipmapLinear, Boundary::Clamp, 2.0).unwrap();
    assert!((level2.double_value(&[0, 0, 0, 0]) - 7.5).abs() < 1e-12);
    // Halfway between levels 1 and 2 blends them equally.
    let half =
        texture(&mips, &uv, Some(&da), Filter::LinearMipmapLinear, Boundary::Clamp, 1.5).unwrap();
    assert!((half.double_value(&[0, 0, 0, 0]) - 5.0).abs() < 1e-12);
    // The footprint alone picks the level: 4 texels per pixel → level 2.
    let wide = &da * 4.0;
    let auto =
        texture(&mips, &uv, Some(&wide), Filter::LinearMipmapLinear, Boundary::Clamp, 0.0).unwrap();
    assert!((auto.double_value(&[0, 0, 0, 0]) - 7.5).abs() < 1e-12);
}

#[test]
fn gradients_match_central_differences() {
    for device in common::test_devices() {
        tch::manual_seed(2);
        let tex = Tensor::rand([1, 6, 5, 2], (Kind::Double, device));
        let uv = Tensor::rand([1, 3, 4, 2], (Kind::Double, device)) * 1.6 - 0.3;
        let da = Tensor::rand([1, 3, 4, 4], (Kind::Double, device)) * 0.3;
        let weights = Tensor::rand([1, 3, 4, 2], (Kind::Double, device));
        let loss = |tex: &Tensor, uv: &Tensor, da: &Tensor| {
            let mips = Mipmaps::build(tex, 8).unwrap();
            (texture(&mips, uv, Some(da), Filter::LinearMipmapLinear, Boundary::Wrap, 0.3).unwrap()
                * &weights)
                .sum(Kind::Double)
        };
        let vars = [
            tex.detach().set_requires_grad(true),
            uv.detach().set_requires_grad(true),
            da.detach().set_requires_grad(true),
        ];
        loss(&vars[0], &vars[1], &vars[2]).backward();
        for (which, name) in ["tex", "uv", "uv_da"].iter().enumerate() {
            let grad =
                Vec::<f64>::try_from(vars[which].grad().to_device(Device::Cpu).reshape([-1]))
                    .unwrap();
            for (i, analytic) in grad.iter().copied().enumerate() {
                let bump = |delta: f64| {
                    let mut inputs = [tex.copy(), uv.copy(), da.copy()];
                    let flat = inputs[which].reshape([-1]);
                    let _ = flat.narrow(0, i as i64, 1).g_add_scalar_(delta);
                    inputs[which] = flat.reshape(inputs[which].size());
                    loss(&inputs[0], &inputs[1], &inputs[2]).double_value(&[])
                };
                let numeric = (bump(1e-6) - bump(-1e-6)) / 2e-6;
                assert!(
                    (numeric - analytic).abs() < 1e-5 * (1.0 + numeric.abs()),
                    "{device:?} d/d{name}[{i}]: {analytic} vs {numeric}"
                );
            }
        }
    }
}

#[test]
fn bad_input_names_the_argument() {
    let tex = Tensor::zeros([1, 4, 4, 3], (Kind::Float, Device::Cpu));
    assert!(
        Mipmaps::build(&tex.narrow(3, 0, 1).squeeze_dim(3), 4)
            .unwrap_err()
            .to_string()
            .contains("`tex`")
    );
    assert!(Mipmaps::build(&tex.to_kind(Kind::Int), 4).unwrap_err().to_string().contains("`tex`"));
    let mips = Mipmaps::build(&tex, 4).unwrap();
    let uv = Tensor::zeros([1, 2, 2, 2], (Kind::Float, Device::Cpu));
    let e = texture(&mips, &uv.narrow(3, 0, 1), None, Filter::Linear, Boundary::Wrap, 0.0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("texture") && e.contains("`uv`"), "{e}");
    let e = texture(&mips, &uv, None, Filter::LinearMipmapLinear, Boundary::Wrap, 0.0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("`uv_da`"), "{e}");
    let e = texture(
        &mips,
        &Tensor::zeros([2, 2, 2, 2], (Kind::Float, Device::Cpu)),
        None,
        Filter::Linear,
        Boundary::Wrap,
        0.0,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("batch"), "{e}");
}
