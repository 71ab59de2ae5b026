//! sRGB → linear: every device against a float64 reference; on CUDA the kernel against the tch
//! formula on the same tensor, with a poisoned output buffer.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

mod common;

use meshcast_engine::ops::color::{srgb_to_linear, srgb_to_linear_out, srgb_to_linear_reference};
use tch::{Device, Kind, Tensor};

/// Values around both branches of the curve, including the knee at 0.04045 and out-of-range ones.
fn random_image(device: Device, seed: i64) -> Tensor {
    tch::manual_seed(seed);
    Tensor::rand([3, 257, 311], (Kind::Float, device)) * 1.2 - 0.1
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a.to_kind(Kind::Double).to_device(Device::Cpu)
        - b.to_kind(Kind::Double).to_device(Device::Cpu))
    .abs()
    .max()
    .double_value(&[])
}

#[test]
fn srgb_to_linear_matches_float64_reference() {
    for device in common::test_devices() {
        let x = random_image(device, 7);
        let ours = srgb_to_linear(&x).unwrap();
        assert_eq!(ours.device(), device);
        assert_eq!(ours.kind(), Kind::Float);
        let reference =
            srgb_to_linear_reference(&x.to_kind(Kind::Double).to_device(Device::Cpu)).unwrap();
        // Values are NaN for negative inputs on the power branch? No: negatives take the linear branch.
        assert_eq!(ours.isnan().any().int64_value(&[]), 0, "{device:?}: NaN in output");
        let err = max_abs_diff(&ours, &reference);
        assert!(err < 2e-6, "{device:?}: max |ours - f64| = {err:e}");
    }
}

#[test]
fn cuda_kernel_equals_tch_op_on_same_tensor() {
    for device in common::test_devices().into_iter().filter(|d| d.is_cuda()) {
        let x = random_image(device, 11);
        let out = Tensor::full(x.size(), f64::NAN, (Kind::Float, device));
        srgb_to_linear_out(&x, &out).unwrap();
        let tch_op = srgb_to_linear_reference(&x).unwrap();
        assert_eq!(
            out.isnan().sum(Kind::Int64).int64_value(&[]),
            0,
            "{device:?}: unwritten elements"
        );
        let err = max_abs_diff(&out, &tch_op);
        assert!(err < 1e-6, "{device:?}: kernel vs tch op max diff {err:e}");
    }
}

#[test]
fn out_variant_rejects_wrong_arguments() {
    let x = Tensor::zeros([4], (Kind::Float, Device::Cpu));
    let err = srgb_to_linear_out(&x, &x).unwrap_err().to_string();
    assert!(err.contains("srgb_to_linear") && err.contains("CUDA"), "{err}");
    for device in common::test_devices().into_iter().filter(|d| d.is_cuda()) {
        let x = Tensor::rand([4], (Kind::Float, device));
        let out = Tensor::empty([5], (Kind::Float, device));
        let err = srgb_to_linear_out(&x, &out).unwrap_err().to_string();
        assert!(err.contains("`out`"), "{err}");
        let half = x.to_kind(Kind::Half);
        let err = srgb_to_linear_out(&half, &out).unwrap_err().to_string();
        assert!(err.contains("float32"), "{err}");
    }
}
