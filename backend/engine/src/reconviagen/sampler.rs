//! The flow-matching sampler exactly as `TrellisVGGTTo3DPipeline.run` drives it
//! (`FlowEulerGuidanceIntervalSampler`, σ_min = 1e-5): Euler steps from t = 1 (noise) to t = 0 on
//! a schedule warped by `rescale_t` (computed in float64), classifier-free guidance inside an
//! interval of t written as ReconViaGen writes it, `w·v_cond + (1 − w)·v_neg` (upstream TRELLIS
//! has `(1 + w)·v_cond − w·v_neg`), and guidance rescale, which pulls the guided prediction of
//! x₀ back to the spread of the conditional one.

use tch::{Kind, Tensor};

/// How the spread of x₀ is measured for guidance rescale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spread {
    /// `torch.std` (unbiased) over every dimension but the batch: dense latents (stage 1).
    Unbiased,
    /// `sqrt(E[x²] − E[x]²)` over all values: TRELLIS's `SparseTensor.std` (stage 2).
    Population,
}

/// A sampler configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplerSettings {
    /// Euler steps.
    pub steps: usize,
    /// Guidance weight w.
    pub cfg_strength: f64,
    /// Guidance applies where `lo ≤ t ≤ hi`.
    pub cfg_interval: (f64, f64),
    /// Share of the rescaled x₀ in the final one.
    pub guidance_rescale: f64,
    /// Warp of the time schedule towards t = 1.
    pub rescale_t: f64,
    /// The flow's σ_min.
    pub sigma_min: f64,
    /// How x₀'s spread is measured.
    pub spread: Spread,
}

impl SamplerSettings {
    /// Stage 1 (sparse structure), the app's defaults.
    pub const STAGE1: Self = Self {
        steps: 30,
        cfg_strength: 7.5,
        cfg_interval: (0.6, 1.0),
        guidance_rescale: 0.7,
        rescale_t: 5.0,
        sigma_min: 1e-5,
        spread: Spread::Unbiased,
    };

    /// Stage 2 (structured latent), the app's defaults.
    pub const STAGE2: Self = Self {
        steps: 12,
        cfg_strength: 7.5,
        cfg_interval: (0.6, 1.0),
        guidance_rescale: 0.5,
        rescale_t: 3.0,
        sigma_min: 1e-5,
        spread: Spread::Population,
    };

    /// `steps + 1` times from 1 to 0: `t = r·u / (1 + (r − 1)·u)` over `u = linspace(1, 0)`.
    pub fn schedule(&self) -> Vec<f64> {
        let r = self.rescale_t;
        (0..=self.steps)
            .map(|i| {
                let u = 1.0 - i as f64 / self.steps as f64;
                r * u / (1.0 + (r - 1.0) * u)
            })
            .collect()
    }

    /// Whether step from `t` evaluates the model twice and guides.
    pub fn guided_at(&self, t: f64) -> bool {
        self.cfg_interval.0 <= t && t <= self.cfg_interval.1
    }

    /// x₀ predicted from `x_t` and velocity `v` at time `t`.
    fn x0(&self, x_t: &Tensor, t: f64, v: &Tensor) -> Result<Tensor, tch::TchError> {
        let s = self.sigma_min;
        x_t.f_mul_scalar(1.0 - s)?.f_sub(&v.f_mul_scalar(s + (1.0 - s) * t)?)
    }

    fn spread_of(&self, x: &Tensor) -> Result<Tensor, tch::TchError> {
        match self.spread {
            Spread::Unbiased => {
                let dims: Vec<i64> = (1..x.dim() as i64).collect();
                x.f_std_dim(dims.as_slice(), true, true)
            }
            Spread::Population => {
                let mean = x.f_mean(Kind::Float)?;
                x.f_square()?.f_mean(Kind::Float)?.f_sub(&mean.f_square()?)?.f_sqrt()
            }
        }
    }

    /// The velocity a guided step uses: `w·v_cond + (1 − w)·v_neg`, then guidance rescale
    /// (x₀ of the guided velocity scaled to the conditional x₀'s spread, mixed by
    /// `guidance_rescale`, turned back into a velocity).
    pub fn guided_velocity(
        &self,
        x_t: &Tensor,
        t: f64,
        v_cond: &Tensor,
        v_neg: &Tensor,
    ) -> Result<Tensor, tch::TchError> {
        let w = self.cfg_strength;
        let v = v_cond.f_mul_scalar(w)?.f_add(&v_neg.f_mul_scalar(1.0 - w)?)?;
        if self.guidance_rescale <= 0.0 {
            return Ok(v);
        }
        let x0_pos = self.x0(x_t, t, v_cond)?;
        let x0_cfg = self.x0(x_t, t, &v)?;
        let rescaled = x0_cfg.f_mul(&self.spread_of(&x0_pos)?.f_div(&self.spread_of(&x0_cfg)?)?)?;
        let r = self.guidance_rescale;
        let x0 = rescaled.f_mul_scalar(r)?.f_add(&x0_cfg.f_mul_scalar(1.0 - r)?)?;
        let s = self.sigma_min;
        x_t.f_mul_scalar(1.0 - s)?.f_sub(&x0)?.f_div_scalar(s + (1.0 - s) * t)
    }

    /// Samples from `noise`. `model(x_t, t, conditional)` returns the velocity with the positive
    /// (true) or negative (false) condition; `on_step(step, steps)` follows each finished step.
    pub fn sample(
        &self,
        noise: &Tensor,
        mut model: impl FnMut(&Tensor, f64, bool) -> Result<Tensor, tch::TchError>,
        mut on_step: impl FnMut(usize, usize),
    ) -> Result<Tensor, tch::TchError> {
        let times = self.schedule();
        let mut x = noise.shallow_clone();
        for (step, pair) in times.windows(2).enumerate() {
            let (t, next) = (pair[0], pair[1]);
            let v_cond = model(&x, t, true)?;
            let v = if self.guided_at(t) {
                let v_neg = model(&x, t, false)?;
                self.guided_velocity(&x, t, &v_cond, &v_neg)?
            } else {
                v_cond
            };
            x = x.f_sub(&v.f_mul_scalar(t - next)?)?;
            on_step(step + 1, self.steps);
        }
        Ok(x)
    }
}
