//! Hash-grid encoding, MLP and Adam: trilinear exactness, gradients against central differences,
//! learning a 3D colour field, and Adam's first step and checkpointed state.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

mod common;

use meshcast_engine::nn::{Adam, HashGrid, HashGridConfig, Mlp, ParamGroup};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

fn small() -> HashGridConfig {
    HashGridConfig {
        levels: 6,
        features: 2,
        log2_table_size: 12,
        base_resolution: 4.0,
        max_resolution: 64.0,
    }
}

#[test]
fn encoding_is_trilinear_and_differentiable() {
    for device in common::test_devices() {
        let mut vs = VarStore::new(device);
        let grid = HashGrid::new(&vs.root(), small()).unwrap();
        vs.double();
        assert_eq!(grid.output_dim(), 12);
        tch::manual_seed(2);
        let points = Tensor::rand([20, 3], (Kind::Double, device));
        // Linear along a segment inside one cell of every level: the encoding of the midpoint is
        // the mean of the ends when the segment is tiny.
        let a = &points;
        let b = a + 1e-6;
        let mid = (a + &b) / 2.0;
        let enc = |p: &Tensor| grid.forward(p).unwrap();
        let lin = (enc(a) + enc(&b)) / 2.0 - enc(&mid);
        assert!(lin.abs().max().double_value(&[]) < 1e-12, "{device:?}");
        // d/dtable and d/dpoints against central differences.
        let weights = Tensor::rand([20, 12], (Kind::Double, device));
        let var = points.detach().set_requires_grad(true);
        (enc(&var) * &weights).sum(Kind::Double).backward();
        let grad = var.grad();
        let table_grad = grid.table.grad();
        assert_eq!(table_grad.size(), grid.table.size());
        let eps = 1e-7;
        for i in 0..6 {
            let bump = |d: f64| {
                let moved = points.reshape([-1]).copy();
                let _ = moved.narrow(0, i, 1).g_add_scalar_(d);
                (enc(&moved.reshape([20, 3])) * &weights).sum(Kind::Double).double_value(&[])
            };
            let numeric = (bump(eps) - bump(-eps)) / (2.0 * eps);
            let analytic = grad.reshape([-1]).double_value(&[i]);
            assert!(
                (numeric - analytic).abs() < 1e-5 * (1.0 + numeric.abs()),
                "{device:?} point {i}: {analytic} vs {numeric}"
            );
        }
        // The table gradient is the sum of the corner weights: each point contributes 8 weights
        // summing to 1 per level and feature.
        let total = table_grad.sum(Kind::Double).double_value(&[]);
        let expected = weights.sum(Kind::Double).double_value(&[]);
        assert!((total - expected).abs() < 1e-9, "{device:?}: {total} vs {expected}");
    }
}

#[test]
fn grid_and_mlp_learn_a_colour_field() {
    for device in common::test_devices() {
        tch::manual_seed(7);
        let vs = VarStore::new(device);
        let grid = HashGrid::new(&(vs.root() / "grid"), small()).unwrap();
        let mlp = Mlp::new(&(vs.root() / "mlp"), grid.output_dim(), 32, 2, 3).unwrap();
        let field = |p: &Tensor| {
            Tensor::stack(
                &[
                    (p.select(1, 0) * 6.0).sin(),
                    (p.select(1, 1) * 4.0 + p.select(1, 2) * 3.0).cos(),
                    p.select(1, 2) * 2.0 - 1.0,
                ],
                1,
            ) * 0.5
                + 0.5
        };
        let mut adam = Adam::new(vec![
            ParamGroup { name: "grid", params: vec![grid.table.shallow_clone()], lr: 0.01 },
            ParamGroup {
                name: "mlp",
                params: vs
                    .trainable_variables()
                    .into_iter()
                    .filter(|t| t.size() != grid.table.size())
                    .collect(),
                lr: 0.01,
            },
        ])
        .unwrap();
        let test = Tensor::rand([2048, 3], (Kind::Float, device));
        let error = |_: ()| {
            (mlp.forward(&grid.forward(&test).unwrap()).sigmoid() - field(&test))
                .square()
                .mean(Kind::Float)
                .double_value(&[])
        };
        let before = error(());
        for _ in 0..200 {
            let p = Tensor::rand([1024, 3], (Kind::Float, device));
            let loss = (mlp.forward(&grid.forward(&p).unwrap()).sigmoid() - field(&p))
                .square()
                .mean(Kind::Float);
            adam.zero_grad();
            loss.backward();
            adam.step().unwrap();
        }
        let after = error(());
        assert!(after < before / 20.0 && after < 2e-3, "{device:?}: mse {before} → {after}");
    }
}

#[test]
fn adam_first_step_and_state_round_trip() {
    let p = Tensor::from_slice(&[1.0f32, -2.0, 3.0]).set_requires_grad(true);
    let mut adam =
        Adam::new(vec![ParamGroup { name: "p", params: vec![p.shallow_clone()], lr: 0.1 }])
            .unwrap();
    (&p * Tensor::from_slice(&[2.0f32, -0.5, 0.0])).sum(Kind::Float).backward();
    adam.step().unwrap();
    // Bias-corrected first step: lr · g / (|g| + eps) = ±lr where g ≠ 0, nothing where g = 0.
    let got = Vec::<f32>::try_from(p.detach()).unwrap();
    assert!((got[0] - 0.9).abs() < 1e-6 && (got[1] + 1.9).abs() < 1e-6 && got[2] == 3.0, "{got:?}");
    let state = adam.state();
    let q = p.detach().copy().set_requires_grad(true);
    let mut restored =
        Adam::new(vec![ParamGroup { name: "p", params: vec![q.shallow_clone()], lr: 0.1 }])
            .unwrap();
    restored.load_state(&state).unwrap();
    assert_eq!(restored.steps, 1);
    let mut wrong =
        Adam::new(vec![ParamGroup { name: "other", params: vec![q], lr: 0.1 }]).unwrap();
    let error = wrong.load_state(&state).unwrap_err().to_string();
    assert!(error.contains("other.0.m"), "{error}");
    let _ = Device::Cpu;
}

#[test]
fn cuda_kernel_matches_the_tensor_reference() {
    for device in common::test_devices().into_iter().filter(|d| d.is_cuda()) {
        let vs = VarStore::new(device);
        let grid = HashGrid::new(&vs.root(), small()).unwrap();
        tch::manual_seed(9);
        // Bigger table values than the ±1e-4 initialization, so gradients are not tiny.
        let _ = tch::no_grad(|| grid.table.shallow_clone().uniform_(-1.0, 1.0));
        // Some points outside the unit cube exercise the clamp.
        let points = Tensor::rand([3000, 3], (Kind::Float, device)) * 1.1 - 0.05;
        let weights = Tensor::rand([3000, grid.output_dim()], (Kind::Float, device));
        let run = |reference: bool| {
            let p = points.detach().set_requires_grad(true);
            grid.table.shallow_clone().zero_grad();
            let out =
                if reference { grid.forward_reference(&p) } else { grid.forward(&p) }.unwrap();
            (&out * &weights).sum(Kind::Float).backward();
            (out.detach(), grid.table.grad().copy(), p.grad())
        };
        let (out_ref, table_ref, points_ref) = run(true);
        let (out, table, pts) = run(false);
        let err = |a: &Tensor, b: &Tensor| (a - b).abs().max().double_value(&[]);
        assert!(err(&out, &out_ref) < 1e-5, "{device:?}: forward {}", err(&out, &out_ref));
        assert!(
            err(&table, &table_ref) < 1e-4,
            "{device:?}: table gradient {}",
            err(&table, &table_ref)
        );
        let rel =
            (&pts - &points_ref).norm().double_value(&[]) / points_ref.norm().double_value(&[]);
        assert!(rel < 1e-4, "{device:?}: point gradient off by {rel:.2e}");
    }
}
