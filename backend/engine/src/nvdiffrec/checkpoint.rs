//! Checkpoints for `--resume`: the parameters and Adam's moments (safetensors) plus the
//! iteration and settings (JSON), each written to a temporary name and renamed, so an
//! interrupted write never replaces a good checkpoint with a broken one.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::Tensor;
use tch::nn::VarStore;

use super::{Config, NvdiffrecError};
use crate::nn::Adam;

const PARAMS: &str = "params.safetensors";
const OPTIMIZER: &str = "optimizer.safetensors";
const STATE: &str = "checkpoint.json";

/// The layout of the saved parameters; raised whenever the model's parameters change shape
/// (2: the material MLP grew from 6 to 9 outputs for the normal offset), so that an older
/// checkpoint is refused by name instead of failing inside libtorch's loader.
const FORMAT: u32 = 2;

#[derive(Debug, Serialize, Deserialize)]
struct State {
    /// Absent in checkpoints written before formats were numbered (format 1).
    #[serde(default = "first_format")]
    format: u32,
    iteration: u32,
    config: Config,
}

fn first_format() -> u32 {
    1
}

fn fail(path: &Path, reason: impl std::fmt::Display) -> NvdiffrecError {
    NvdiffrecError::Checkpoint { path: path.to_owned(), reason: reason.to_string() }
}

/// Writes the checkpoint of `iteration` into `dir`.
pub fn save(
    dir: &Path,
    vs: &VarStore,
    adam: &Adam,
    iteration: u32,
    config: &Config,
) -> Result<(), NvdiffrecError> {
    std::fs::create_dir_all(dir).map_err(|e| fail(dir, e))?;
    let write = |name: &str, f: &dyn Fn(&Path) -> Result<(), NvdiffrecError>| {
        let target = dir.join(name);
        // The extension must stay: the parameter writer picks safetensors by it.
        let temporary = dir.join(format!(".partial-{name}"));
        f(&temporary)?;
        std::fs::rename(&temporary, &target).map_err(|e| fail(&target, e))
    };
    write(PARAMS, &|p| vs.save(p).map_err(|e| fail(p, e)))?;
    write(OPTIMIZER, &|p| {
        let state = adam.state();
        let named: Vec<(&str, &Tensor)> = state.iter().map(|(n, t)| (n.as_str(), t)).collect();
        Tensor::write_safetensors(&named, p).map_err(|e| fail(p, e))
    })?;
    write(STATE, &|p| {
        let json =
            serde_json::to_vec_pretty(&State { format: FORMAT, iteration, config: config.clone() })
                .map_err(|e| fail(p, e))?;
        std::fs::write(p, json).map_err(|e| fail(p, e))
    })
}

/// Restores a checkpoint from `dir` into `vs` and `adam`; returns the iteration to continue
/// from. The checkpoint must come from a run with the same settings.
pub fn load(
    dir: &Path,
    vs: &mut VarStore,
    adam: &mut Adam,
    config: &Config,
) -> Result<u32, NvdiffrecError> {
    let state_path = dir.join(STATE);
    let text = std::fs::read_to_string(&state_path).map_err(|e| fail(&state_path, e))?;
    let state: State = serde_json::from_str(&text).map_err(|e| fail(&state_path, e))?;
    if state.format != FORMAT {
        return Err(fail(
            &state_path,
            format!(
                "was written by another version of meshcast (checkpoint format {}, this one reads {FORMAT}); start without resuming",
                state.format
            ),
        ));
    }
    if !same_model(&state.config, config) {
        return Err(fail(
            &state_path,
            "was written with other settings; resume with the same preset and config",
        ));
    }
    let params: PathBuf = dir.join(PARAMS);
    vs.load(&params).map_err(|e| fail(&params, e))?;
    let optimizer = dir.join(OPTIMIZER);
    let tensors = Tensor::read_safetensors(&optimizer).map_err(|e| fail(&optimizer, e))?;
    let device = vs.device();
    let tensors = tensors
        .into_iter()
        .map(|(n, t)| Ok((n, t.f_to_device(device)?)))
        .collect::<Result<Vec<_>, tch::TchError>>()?;
    adam.load_state(&tensors)?;
    Ok(state.iteration)
}

/// Whether two settings describe the same parameters and optimization: the length of the run
/// and how often it reports may change between a run and its resumption.
fn same_model(a: &Config, b: &Config) -> bool {
    let normalize = |c: &Config| Config {
        iterations: 0,
        snapshot_every: 0,
        validate_every: 0,
        checkpoint_every: 0,
        ..c.clone()
    };
    normalize(a) == normalize(b)
}

/// Whether `dir` holds a checkpoint.
pub fn exists(dir: &Path) -> bool {
    dir.join(STATE).is_file()
}
