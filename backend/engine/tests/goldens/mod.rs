//! Shared by the ReconViaGen parity tests: where the reference's outputs are, reading them, and
//! the released checkpoints' key manifests. Each test binary uses a subset.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tch::Tensor;

/// `tests/data/goldens/reconviagen`.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/goldens/reconviagen")
}

/// All tensors of a safetensors file, by name.
pub fn read(path: &Path) -> BTreeMap<String, Tensor> {
    Tensor::read_safetensors(path).expect("golden file").into_iter().collect()
}

/// ‖ours − reference‖ / ‖reference‖ (the README's measure for the fp16 and bf16 paths), on the
/// CPU in float64.
pub fn rel_l2(ours: &Tensor, reference: &Tensor) -> f64 {
    let kind = tch::Kind::Double;
    let reference = reference.to_device(tch::Device::Cpu).to_kind(kind);
    let diff = ours.to_device(tch::Device::Cpu).to_kind(kind) - &reference;
    diff.norm().double_value(&[]) / reference.norm().double_value(&[]).max(f64::MIN_POSITIVE)
}

/// Key → shape of the released checkpoint described by `manifest/<name>`, for the keys that
/// start with `prefix` (removed).
pub fn released_shapes(name: &str, prefix: &str) -> BTreeMap<String, Vec<i64>> {
    let text = std::fs::read_to_string(dir().join("manifest").join(name)).expect("manifest");
    let json: serde_json::Value = serde_json::from_str(&text).expect("manifest JSON");
    json["keys"]
        .as_array()
        .expect("a key list")
        .iter()
        .filter_map(|k| {
            let key = k["name"].as_str()?.strip_prefix(prefix)?;
            let shape = k["shape"].as_array()?.iter().map(|d| d.as_i64().unwrap_or(-1));
            Some((key.to_owned(), shape.collect()))
        })
        .collect()
}

/// Max |ours − reference| within 1e-4 of the reference's scale (README's threshold for float32
/// modules), printed.
#[allow(clippy::print_stdout)] // the figures are the test's report
pub fn assert_close(what: &str, ours: &Tensor, reference: &Tensor) {
    assert_eq!(ours.size(), reference.size(), "{what}: shape");
    let scale = reference.abs().max().double_value(&[]).max(1.0);
    let err = (ours.to_device(tch::Device::Cpu).to_kind(tch::Kind::Float) - reference)
        .abs()
        .max()
        .double_value(&[]);
    println!("{what}: max abs error {err:.2e} (scale {scale:.2})");
    assert!(err <= 1e-4 * scale, "{what}: {err}");
}
