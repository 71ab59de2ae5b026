//! Stage 1 of `TrellisVGGTTo3DPipeline.run`: preprocessed views → DINOv2 patch tokens and VGGT
//! layers 4/11/17/23 → the GGC condition → 30 guided flow steps from seeded (or given) noise →
//! the decoder's occupancy → the coordinates of occupied voxels.

use tch::{Kind, Tensor};

use super::aggregator::Aggregator;
use super::condition::SparseStructureCondition;
#[cfg(doc)]
use super::condition::VGGT_LAYERS;
use super::decoder::{SparseStructureDecoder, occupied};
use super::dinov2::Dinov2;
use super::flow::SparseStructureFlow;
use super::precision::Precision;
use super::sampler::SamplerSettings;
use super::trace::Trace;

/// Views beyond which stage 1 refuses to start: global attention over every view's 1374 tokens
/// grows quadratically (8 views ≈ 11k tokens), and the reference is used with a handful.
pub const MAX_VIEWS: usize = 32;

/// Why stage 1 cannot run or failed.
#[derive(Debug, thiserror::Error)]
pub enum Stage1Error {
    /// No views.
    #[error("stage 1 needs at least one view")]
    NoViews,
    /// Too many views for one run.
    #[error("{0} views is more than the {MAX_VIEWS} one run takes")]
    TooManyViews(usize),
    /// A view of another shape than the first.
    #[error("view {index} is {found:?}; every view must be [3, {side}, {side}] like view 0")]
    ViewShape {
        /// Which view.
        index: usize,
        /// Its shape.
        found: Vec<i64>,
        /// The side of view 0.
        side: i64,
    },
    /// libtorch failed (out of memory, a CUDA error).
    #[error("stage 1 failed: {0}")]
    Torch(#[from] tch::TchError),
}

/// The stage-1 modules, loaded.
#[derive(Debug)]
pub struct Stage1<'a> {
    /// The image condition encoder.
    pub dino: &'a Dinov2,
    /// The multi-view aggregator.
    pub aggregator: &'a Aggregator,
    /// The GGC condition.
    pub condition: &'a SparseStructureCondition,
    /// The flow DiT.
    pub flow: &'a SparseStructureFlow,
    /// The occupancy decoder.
    pub decoder: &'a SparseStructureDecoder,
    /// The aggregator layers the conditions read ([`VGGT_LAYERS`] for the released models).
    pub layers: [usize; 4],
    /// Latent shape `[C, R, R, R]` the flow samples.
    pub latent: [i64; 4],
    /// Sampler settings.
    pub sampler: SamplerSettings,
    /// Arithmetic of the aggregator ([`Precision::vggt_on`] the device, as the pipeline).
    pub aggregator_precision: Precision,
    /// Arithmetic of the condition, the flow and the decoder ([`Precision::trellis_on`] the
    /// device: the released fp16 blocks on CUDA).
    pub trellis_precision: Precision,
}

/// What the encoders make of the views, which both stages' conditions read.
#[derive(Debug)]
pub struct Encoded {
    /// VGGT's outputs for the four layers the conditions read, each `[1, N, P, 2048]`.
    pub aggregated: Vec<Tensor>,
    /// DINOv2's normalized tokens of every view, special tokens first, `[1, N, P, 1024]`.
    pub image_cond: Tensor,
    /// Special tokens at the front of each view's tokens.
    pub special_tokens: i64,
}

impl Stage1<'_> {
    /// `views` (each `[3, S, S]` in [0, 1], see `preprocess`) → occupied voxels `[M, 4]` int32
    /// `(batch, x, y, z)`. `noise` replaces the seeded draw (tests); `on_step(step, steps)`
    /// follows the sampler. Inputs are checked before any model runs.
    pub fn run(
        &self,
        views: &[Tensor],
        noise: Option<&Tensor>,
        seed: i64,
        on_step: impl FnMut(usize, usize),
    ) -> Result<Tensor, Stage1Error> {
        let encoded = self.encode(views)?;
        self.sample(&encoded, noise, seed, on_step)
    }

    /// The views checked and encoded by DINOv2 and the VGGT aggregator.
    pub fn encode(&self, views: &[Tensor]) -> Result<Encoded, Stage1Error> {
        let Some(first) = views.first() else { return Err(Stage1Error::NoViews) };
        if views.len() > MAX_VIEWS {
            return Err(Stage1Error::TooManyViews(views.len()));
        }
        let side = first.size().get(1).copied().unwrap_or(0);
        for (index, view) in views.iter().enumerate() {
            if view.size() != [3, side, side] {
                return Err(Stage1Error::ViewShape { index, found: view.size(), side });
            }
        }
        Ok(tch::no_grad(|| -> Result<Encoded, tch::TchError> {
            let images = Tensor::f_stack(views, 0)?.f_to_kind(Kind::Float)?; // [N, 3, S, S]
            let tokens = self.dino.forward(&images, Precision::Float32, &mut Trace::off())?.prenorm;
            let width = tokens.size()[2];
            let image_cond = tokens
                .f_layer_norm([width].as_slice(), None::<Tensor>, None::<Tensor>, 1e-5, false)?
                .f_unsqueeze(0)?;
            let aggregated = self.aggregator.forward(
                &images.f_unsqueeze(0)?,
                &self.layers,
                self.aggregator_precision,
                &mut Trace::off(),
            )?;
            Ok(Encoded {
                aggregated,
                image_cond,
                special_tokens: self.dino.config().special_tokens(),
            })
        })?)
    }

    /// The GGC condition of `encoded`, the sampled sparse structure and its occupied voxels.
    pub fn sample(
        &self,
        encoded: &Encoded,
        noise: Option<&Tensor>,
        seed: i64,
        on_step: impl FnMut(usize, usize),
    ) -> Result<Tensor, Stage1Error> {
        Ok(tch::no_grad(|| self.sample_checked(encoded, noise, seed, on_step))?)
    }

    fn sample_checked(
        &self,
        encoded: &Encoded,
        noise: Option<&Tensor>,
        seed: i64,
        on_step: impl FnMut(usize, usize),
    ) -> Result<Tensor, tch::TchError> {
        let image_cond = &encoded.image_cond;
        let device = image_cond.device();
        let skip = encoded.special_tokens;
        let patches = image_cond.f_narrow(2, skip, image_cond.size()[2] - skip)?;
        let precision = self.trellis_precision;
        let cond = self.condition.forward(
            &encoded.aggregated,
            &patches,
            skip,
            precision,
            &mut Trace::off(),
        )?;
        let neg = cond.f_zeros_like()?;
        let [c, r, ..] = self.latent;
        let noise = match noise {
            Some(noise) => noise.f_to_device(device)?,
            None => standard_normal(&[1, c, r, r, r], seed)?.f_to_device(device)?,
        };
        let latent = self.sampler.sample(
            &noise,
            |x, t, positive| {
                let time = Tensor::from_slice(&[(1000.0 * t) as f32]).f_to_device(device)?;
                let c = if positive { &cond } else { &neg };
                self.flow.forward(x, &time, c, precision, &mut Trace::off())
            },
            on_step,
        )?;
        occupied(&self.decoder.forward(&latent, precision, &mut Trace::off())?)
    }
}

/// Standard-normal noise of `shape` from its own generator seeded with `seed`: the same for a
/// seed on every device and run, and unlike `tch::manual_seed` it leaves libtorch's global
/// generator (which other jobs in the process draw from) alone.
pub fn standard_normal(shape: &[i64], seed: i64) -> Result<Tensor, tch::TchError> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed as u64);
    let count = shape.iter().product::<i64>().max(0) as usize;
    let values: Vec<f32> =
        (0..count).map(|_| rng.sample::<f32, _>(rand_distr::StandardNormal)).collect();
    Tensor::from_slice(&values).f_reshape(shape)
}
