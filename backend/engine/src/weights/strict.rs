//! Strict safetensors loading. The file is memory-mapped, so a multi-gigabyte checkpoint is
//! read once, tensor by tensor, straight into the parameters (converted to their dtype and
//! device) without a second copy in memory.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use safetensors::{Dtype, SafeTensors};
use tch::nn::VarStore;
use tch::{Kind, Tensor};

use super::WeightsError;

/// A parameter `name` of shape `dims` under `path`, left uninitialized for a checkpoint to fill
/// (pages are not touched until then, so building a full-size model costs no memory by itself).
pub fn param(path: &tch::nn::Path<'_>, name: &str, dims: &[i64]) -> Result<Tensor, tch::TchError> {
    Ok(path.add(name, Tensor::f_empty(dims, (path.kind(), path.device()))?, false))
}

/// Every parameter of `vs` with its shape, by key.
pub fn declared_shapes(vs: &VarStore) -> BTreeMap<String, Vec<i64>> {
    vs.variables().into_iter().map(|(k, v)| (k, v.size())).collect()
}

/// What [`load_strict`] loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadReport {
    /// Tensors copied.
    pub tensors: usize,
    /// Keys of the file outside `prefix`, left alone.
    pub skipped: usize,
    /// Keys (without `prefix`) the file stores as float16: the released fp16 layout.
    pub half: Vec<String>,
}

/// Loads every tensor of `file` whose key starts with `prefix` (which is removed) into the
/// parameter of `vs` with the remaining key. Fails before changing any parameter when keys or
/// shapes do not match or a dtype is not a float; F16 and BF16 are widened (or kept) to the
/// parameter's dtype.
pub fn load_strict(vs: &VarStore, file: &Path, prefix: &str) -> Result<LoadReport, WeightsError> {
    let io = |source| WeightsError::Io { path: file.to_owned(), source };
    let handle = std::fs::File::open(file).map_err(io)?;
    // SAFETY: the map is read-only and lives only during this call; a concurrent truncation of
    // the file by another process is outside what this program can guard against.
    let map = unsafe { memmap2::Mmap::map(&handle) }.map_err(io)?;
    let tensors = SafeTensors::deserialize(&map)
        .map_err(|e| WeightsError::Corrupt { path: file.to_owned(), reason: e.to_string() })?;
    let variables = vs.variables();
    let mut present = BTreeMap::new();
    let mut skipped = 0;
    for (name, view) in tensors.iter() {
        match name.strip_prefix(prefix) {
            Some(key) => {
                present.insert(key.to_owned(), view);
            }
            None => skipped += 1,
        }
    }
    let declared: BTreeSet<&String> = variables.keys().collect();
    let missing: Vec<String> =
        declared.iter().filter(|k| !present.contains_key(**k)).map(|k| (*k).clone()).collect();
    let unexpected: Vec<String> =
        present.keys().filter(|k| !variables.contains_key(*k)).cloned().collect();
    if !missing.is_empty() || !unexpected.is_empty() {
        return Err(WeightsError::Keys { path: file.to_owned(), missing, unexpected });
    }
    for (key, view) in &present {
        let expected = variables[key].size();
        let found = view.shape();
        if found.len() != expected.len()
            || found.iter().zip(&expected).any(|(&f, &e)| i64::try_from(f) != Ok(e))
        {
            return Err(WeightsError::Shape {
                path: file.to_owned(),
                key: key.clone(),
                expected,
                found: found.to_vec(),
            });
        }
        if kind_of(view.dtype()).is_none() {
            return Err(WeightsError::Dtype {
                path: file.to_owned(),
                key: key.clone(),
                dtype: format!("{:?}", view.dtype()),
            });
        }
    }
    for (key, view) in &present {
        let torch =
            |source| WeightsError::Torch { path: file.to_owned(), key: key.clone(), source };
        let shape: Vec<i64> = variables[key].size();
        let kind = kind_of(view.dtype()).unwrap_or(Kind::Float);
        let source = Tensor::f_from_data_size(view.data(), &shape, kind).map_err(torch)?;
        let mut target = variables[key].shallow_clone();
        tch::no_grad(|| target.f_copy_(&source)).map_err(torch)?;
    }
    let half = present
        .iter()
        .filter(|(_, view)| view.dtype() == Dtype::F16)
        .map(|(key, _)| key.clone())
        .collect();
    Ok(LoadReport { tensors: present.len(), skipped, half })
}

/// Stores the parameters `keys` of `vs` as float16, the dtype a released checkpoint keeps them
/// in: half the memory, and no cast per forward pass where the blocks compute in fp16. Exact
/// for values loaded from float16.
pub fn store_as_half(vs: &VarStore, keys: &[String]) -> Result<(), tch::TchError> {
    let variables = vs.variables();
    tch::no_grad(|| {
        for key in keys {
            if let Some(variable) = variables.get(key) {
                let half = variable.f_to_kind(Kind::Half)?;
                variable.shallow_clone().set_data(&half);
            }
        }
        Ok(())
    })
}

fn kind_of(dtype: Dtype) -> Option<Kind> {
    match dtype {
        Dtype::F32 => Some(Kind::Float),
        Dtype::F16 => Some(Kind::Half),
        Dtype::BF16 => Some(Kind::BFloat16),
        _ => None,
    }
}
