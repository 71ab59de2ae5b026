//! Stage 2: the occupied voxels of stage 1 and the per-view conditions → the structured latent
//! (8 channels per voxel), sampled by the stage-2 flow with the stage-2 sampler settings from
//! seeded noise, then de-normalized with the released latent statistics (`slat * std + mean`).

use tch::{Kind, Tensor};

use super::precision::Precision;
use super::sampler::SamplerSettings;
use super::slat_flow::SlatFlow;
use super::sparse::{Layout, SparseTensor};
use super::stage1::standard_normal;
use super::trace::Trace;

/// TRELLIS's `slat_normalization` mean, per latent channel.
pub const LATENT_MEAN: [f32; 8] = [
    -2.1687546,
    -0.0043470464,
    -0.1335235,
    -0.08418073,
    -0.52712065,
    0.7238689,
    -1.141445,
    1.2039363,
];

/// TRELLIS's `slat_normalization` standard deviation, per latent channel.
pub const LATENT_STD: [f32; 8] =
    [2.3776507, 2.3863783, 2.124418, 2.1748552, 2.6639447, 2.3711922, 2.6217446, 2.684523];

/// Why stage 2 did not run.
#[derive(Debug, thiserror::Error)]
pub enum Stage2Error {
    /// Stage 1 found nothing to refine.
    #[error(
        "stage 1 found no occupied voxels: the views show no object the model recognises (check the masks or crop)"
    )]
    NoVoxels,
    /// No condition.
    #[error("stage 2 needs at least one view's condition")]
    NoViews,
    /// A tensor operation failed (out of memory, a CUDA error).
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

/// The stage-2 flow and how it runs.
#[derive(Debug)]
pub struct Stage2<'a> {
    /// The flow model.
    pub flow: &'a SlatFlow,
    /// Sampler settings ([`SamplerSettings::STAGE2`]).
    pub sampler: SamplerSettings,
    /// Arithmetic of the flow's blocks ([`Precision::trellis_on`] the device).
    pub precision: Precision,
}

impl Stage2<'_> {
    /// The de-normalized latent on `voxels` (`[M, 4]`, batch 0, as stage 1 gives them) for the
    /// per-view conditions `conds` (each `[1, T, C]`). `noise` `[M, 8]` replaces the seeded
    /// draw (tests); `on_step(step, steps)` follows the sampler.
    pub fn run(
        &self,
        voxels: &Tensor,
        conds: &[Tensor],
        noise: Option<&Tensor>,
        seed: i64,
        on_step: impl FnMut(usize, usize),
    ) -> Result<SparseTensor, Stage2Error> {
        if voxels.dim() != 2 || voxels.size()[0] == 0 {
            return Err(Stage2Error::NoVoxels);
        }
        if conds.is_empty() {
            return Err(Stage2Error::NoViews);
        }
        let device = conds[0].device();
        let layout = Layout::from_batched(voxels, device)?;
        let channels = LATENT_MEAN.len() as i64;
        let noise = match noise {
            Some(n) => n.f_to_device(device)?.f_to_kind(Kind::Float)?,
            None => standard_normal(&[layout.len(), channels], seed)?.f_to_device(device)?,
        };
        let negative = conds.iter().map(Tensor::f_zeros_like).collect::<Result<Vec<_>, _>>()?;
        let latent = self.sampler.sample(
            &noise,
            |x, t, conditional| {
                let x = SparseTensor::new(layout.clone(), x.shallow_clone())?;
                let model_t = Tensor::from_slice(&[(1000.0 * t) as f32]).f_to_device(device)?;
                let conds = if conditional { conds } else { negative.as_slice() };
                let v =
                    self.flow.forward(&x, &model_t, conds, self.precision, &mut Trace::off())?;
                Ok(v.feats().shallow_clone())
            },
            on_step,
        )?;
        let stat = |values: &[f32]| Tensor::from_slice(values).f_to_device(device);
        let latent = latent.f_mul(&stat(&LATENT_STD)?)?.f_add(&stat(&LATENT_MEAN)?)?;
        Ok(SparseTensor::new(layout, latent)?)
    }
}
