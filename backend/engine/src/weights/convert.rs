//! Checkpoints released as PyTorch pickles (`torch.save`'s zip format, e.g. DINOv2's `.pth`)
//! rewritten once as safetensors, so that everything at run time goes through the strict,
//! memory-mapped loader.

use std::path::Path;

use tch::Tensor;

use super::WeightsError;

/// Reads the state dict in `pickle` and writes it to `safetensors` (through a temporary file in
/// the same folder, renamed into place). Returns the number of tensors.
pub fn pickle_to_safetensors(pickle: &Path, safetensors: &Path) -> Result<usize, WeightsError> {
    let tensors = Tensor::loadz_multi(pickle).map_err(|e| WeightsError::Corrupt {
        path: pickle.to_owned(),
        reason: format!("not a PyTorch state dict ({e})"),
    })?;
    let io = |source| WeightsError::Io { path: safetensors.to_owned(), source };
    let dir = safetensors.parent().unwrap_or_else(|| Path::new("."));
    let temporary = tempfile::Builder::new().suffix(".safetensors").tempfile_in(dir).map_err(io)?;
    let named: Vec<(&str, &Tensor)> = tensors.iter().map(|(k, t)| (k.as_str(), t)).collect();
    Tensor::write_safetensors(&named, temporary.path())
        .map_err(|e| io(std::io::Error::other(e.to_string())))?;
    temporary.persist(safetensors).map_err(|e| io(e.error))?;
    Ok(tensors.len())
}
