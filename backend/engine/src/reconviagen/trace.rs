//! Named intermediate tensors of a forward pass, recorded on request so that a parity test
//! against the reference points at the block that diverges (the goldens store the same names).

use std::collections::BTreeMap;

use tch::Tensor;

/// Intermediates by name; recording is off unless the trace was made with [`Trace::recording`].
#[derive(Debug, Default)]
pub struct Trace {
    tensors: Option<BTreeMap<String, Tensor>>,
}

impl Trace {
    /// A trace that keeps what is recorded.
    pub fn recording() -> Self {
        Self { tensors: Some(BTreeMap::new()) }
    }

    /// A trace that drops everything (the production path).
    pub fn off() -> Self {
        Self { tensors: None }
    }

    /// Keeps a copy of `tensor` under `name` when recording.
    pub fn record(&mut self, name: impl Into<String>, tensor: &Tensor) {
        if let Some(map) = &mut self.tensors {
            map.insert(name.into(), tensor.shallow_clone());
        }
    }

    /// The tensor recorded under `name`.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.tensors.as_ref()?.get(name)
    }
}
