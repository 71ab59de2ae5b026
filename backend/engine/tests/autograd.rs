//! The autograd shim: a Rust backward attached to kernel-style outputs gives the gradients
//! autograd would, errors surface from `backward`, and contexts are freed with the graph.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use meshcast_engine::EngineError;
use meshcast_engine::autograd::attach_backward;
use tch::{Kind, Tensor};

/// y = x² · k computed without autograd, with its backward attached by hand.
fn square_times(x: &Tensor, k: &Tensor, drops: Arc<AtomicUsize>) -> Tensor {
    let y = tch::no_grad(|| x * x * k);
    let (xs, ks) = (x.detach(), k.detach());
    let guard = DropCounter(drops);
    attach_backward(
        "square_times",
        &[x, k],
        &[&y],
        Box::new(move |grads| {
            let _ = &guard;
            let g = grads[0].as_ref().unwrap();
            Ok(vec![Some(g * 2.0 * &xs * &ks), Some((g * &xs * &xs).sum(Kind::Float).reshape([1]))])
        }),
    )
    .unwrap();
    y
}

struct DropCounter(Arc<AtomicUsize>);
impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn custom_backward_matches_autograd() {
    for device in common::test_devices() {
        let drops = Arc::new(AtomicUsize::new(0));
        let x = Tensor::randn([5, 3], (Kind::Float, device)).set_requires_grad(true);
        let k = Tensor::from_slice(&[1.5f32]).to(device).set_requires_grad(true);
        let y = square_times(&x, &k, drops.clone());
        assert!(y.requires_grad());
        (&y * &y).sum(Kind::Float).backward();
        let (gx, gk) = (x.grad(), k.grad());

        let (x2, k2) = (x.detach().set_requires_grad(true), k.detach().set_requires_grad(true));
        let y2 = &x2 * &x2 * &k2;
        (&y2 * &y2).sum(Kind::Float).backward();
        assert!(gx.allclose(&x2.grad(), 1e-5, 1e-6, false), "{device:?}: dx");
        assert!(gk.allclose(&k2.grad(), 1e-5, 1e-6, false), "{device:?}: dk");

        drop(y);
        assert_eq!(drops.load(Ordering::SeqCst), 1, "the context is freed with the graph");
    }
}

#[test]
fn nothing_is_attached_without_grad() {
    let drops = Arc::new(AtomicUsize::new(0));
    let x = Tensor::randn([4], (Kind::Float, tch::Device::Cpu));
    let k = Tensor::from_slice(&[2.0f32]);
    let y = square_times(&x, &k, drops.clone());
    assert!(!y.requires_grad());
    assert_eq!(drops.load(Ordering::SeqCst), 1, "unused context dropped at once");

    let x = x.set_requires_grad(true);
    let y = tch::no_grad(|| square_times(&x, &k, drops.clone()));
    assert!(!y.requires_grad(), "grad mode off: no node");
}

#[test]
fn backward_errors_and_panics_reach_the_caller() {
    let x = Tensor::randn([3], (Kind::Float, tch::Device::Cpu)).set_requires_grad(true);
    let failing = |fail: bool| {
        let y = tch::no_grad(|| &x * 2.0);
        attach_backward(
            "failing",
            &[&x],
            &[&y],
            Box::new(move |_| {
                if fail {
                    Err(EngineError::InvalidArgument {
                        op: "failing",
                        arg: "grad",
                        reason: "on purpose".into(),
                    })
                } else {
                    panic!("on purpose")
                }
            }),
        )
        .unwrap();
        y.sum(Kind::Float).f_backward()
    };
    let error = failing(true).unwrap_err().to_string();
    assert!(error.contains("failing") && error.contains("on purpose"), "{error}");
    let error = failing(false).unwrap_err().to_string();
    assert!(error.contains("panicked"), "{error}");

    let y = tch::no_grad(|| &x * 2.0);
    let wrong_count = attach_backward("wrong", &[&x], &[&y], Box::new(|_| Ok(vec![])));
    wrong_count.unwrap();
    let error = y.sum(Kind::Float).f_backward().unwrap_err().to_string();
    assert!(error.contains("returned 0 gradients for 1 inputs"), "{error}");

    let tracked = &x * 1.0;
    let error = attach_backward("tracked", &[&x], &[&tracked], Box::new(|_| Ok(vec![None])));
    assert!(error.unwrap_err().to_string().contains("already requires grad"));
}
