//! Adam (Kingma & Ba) over parameter groups with their own learning rates.
//!
//! Hand-written rather than tch's `nn::Optimizer` because that one panics on libtorch errors
//! (a CUDA out-of-memory must fail the run, not the process) and cannot save its moment
//! estimates, which `--resume` needs to continue a run where it stopped.

use tch::{Kind, Tensor};

use crate::EngineError;

/// Parameters sharing one learning rate.
#[derive(Debug)]
pub struct ParamGroup {
    /// Name used in checkpoints and NaN reports.
    pub name: &'static str,
    /// The tensors (leaves requiring grad).
    pub params: Vec<Tensor>,
    /// Current learning rate.
    pub lr: f64,
}

/// Adam state for a set of parameter groups.
#[derive(Debug)]
pub struct Adam {
    /// The groups, in creation order.
    pub groups: Vec<ParamGroup>,
    beta1: f64,
    beta2: f64,
    eps: f64,
    /// First and second moments per parameter, group-major.
    moments: Vec<(Tensor, Tensor)>,
    /// Steps taken.
    pub steps: i64,
}

impl Adam {
    /// Adam with betas (0.9, 0.999) and eps 1e-8 (nvdiffrec's settings).
    pub fn new(groups: Vec<ParamGroup>) -> Result<Self, EngineError> {
        let moments = groups
            .iter()
            .flat_map(|g| g.params.iter())
            .map(|p| Ok((p.f_zeros_like()?, p.f_zeros_like()?)))
            .collect::<Result<_, tch::TchError>>()?;
        Ok(Self { groups, beta1: 0.9, beta2: 0.999, eps: 1e-8, moments, steps: 0 })
    }

    /// Clears every parameter's gradient.
    pub fn zero_grad(&mut self) {
        for p in self.groups.iter_mut().flat_map(|g| g.params.iter_mut()) {
            p.zero_grad();
        }
    }

    /// One update from the current gradients (parameters without a gradient are skipped).
    pub fn step(&mut self) -> Result<(), EngineError> {
        self.steps += 1;
        let (b1, b2) = (self.beta1, self.beta2);
        let correction1 = 1.0 - b1.powi(self.steps as i32);
        let correction2 = 1.0 - b2.powi(self.steps as i32);
        let mut k = 0;
        tch::no_grad(|| -> Result<(), EngineError> {
            for group in &self.groups {
                for p in &group.params {
                    let (m, v) = &mut self.moments[k];
                    k += 1;
                    let g = p.grad();
                    if !g.defined() {
                        continue;
                    }
                    let _ = m.f_mul_scalar_(b1)?.f_add_(&g.f_mul_scalar(1.0 - b1)?)?;
                    let _ = v.f_mul_scalar_(b2)?.f_addcmul_(&g, &g.f_mul_scalar(1.0 - b2)?)?;
                    let denom = v.f_div_scalar(correction2)?.f_sqrt()?.f_add_scalar(self.eps)?;
                    let update = m.f_div(&denom)?.f_mul_scalar(group.lr / correction1)?;
                    let _ = p.shallow_clone().f_sub_(&update)?;
                }
            }
            Ok(())
        })
    }

    /// The moment tensors by name (`group.index.m` / `.v`) for a checkpoint.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        let mut k = 0;
        for group in &self.groups {
            for i in 0..group.params.len() {
                let (m, v) = &self.moments[k];
                out.push((format!("{}.{i}.m", group.name), m.shallow_clone()));
                out.push((format!("{}.{i}.v", group.name), v.shallow_clone()));
                k += 1;
            }
        }
        out.push(("steps".into(), Tensor::from(self.steps)));
        out
    }

    /// Restores moments saved by [`Adam::state`]; names must match this optimizer's.
    pub fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<(), EngineError> {
        let lookup = |name: &str| state.iter().find(|(n, _)| n == name).map(|(_, t)| t);
        let missing = |name: String| EngineError::InvalidArgument {
            op: "adam",
            arg: "state",
            reason: format!("checkpoint lacks {name}"),
        };
        let mut k = 0;
        for group in &self.groups {
            for i in 0..group.params.len() {
                let (m, v) = &mut self.moments[k];
                k += 1;
                for (suffix, dst) in [("m", m), ("v", v)] {
                    let name = format!("{}.{i}.{suffix}", group.name);
                    let src = lookup(&name).ok_or_else(|| missing(name.clone()))?;
                    tch::no_grad(|| dst.f_copy_(src))?;
                }
            }
        }
        self.steps = lookup("steps")
            .ok_or_else(|| missing("steps".into()))?
            .f_to_kind(Kind::Int64)?
            .f_int64_value(&[])?;
        Ok(())
    }
}
