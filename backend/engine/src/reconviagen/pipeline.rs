//! The whole of `TrellisVGGTTo3DPipeline.run` on preprocessed views: DINOv2 and the VGGT
//! aggregator encode them, stage 1 samples the sparse structure, the stage-2 condition and flow
//! sample the structured latent on its voxels, the mesh decoder and FlexiCubes give the surface,
//! and `glb` the textured mesh. [`Models`] holds the modules (built from a
//! [`PipelineConfig`], filled by checkpoints or by tests); [`Models::run`] reports each step's
//! progress and stops between steps when cancelled.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use tch::nn::VarStore;
use tch::{Device, Tensor};

use super::aggregator::{Aggregator, AggregatorConfig};
use super::condition::{ConditionConfig, SparseStructureCondition, VGGT_LAYERS};
use super::decoder::{DecoderConfig, SparseStructureDecoder};
use super::dinov2::{Dinov2, Dinov2Config};
use super::flexicubes;
use super::flow::{FlowConfig, SparseStructureFlow};
use super::glb::{GlbError, GlbOptions, textured};
use super::mesh_decoder::{MeshDecoder, MeshDecoderConfig};
use super::precision::Precision;
use super::sampler::SamplerSettings;
use super::slat_condition::{SlatCondition, SlatConditionConfig};
use super::slat_flow::{SlatFlow, SlatFlowConfig};
use super::sparse::SparseTensor;
use super::stage1::{Encoded, Stage1, Stage1Error};
use super::stage2::{Stage2, Stage2Error};
use super::trace::Trace;
use crate::export::ExportMesh;
use crate::weights::{WeightsError, load_strict, store_as_half};

/// Sizes of every module.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineConfig {
    /// The image condition encoder.
    pub dino: Dinov2Config,
    /// The multi-view aggregator.
    pub aggregator: AggregatorConfig,
    /// The aggregator layers both conditions read.
    pub layers: [usize; 4],
    /// The stage-1 condition.
    pub ss_condition: ConditionConfig,
    /// The stage-1 flow.
    pub ss_flow: FlowConfig,
    /// The occupancy decoder.
    pub ss_decoder: DecoderConfig,
    /// The stage-2 condition.
    pub slat_condition: SlatConditionConfig,
    /// The stage-2 flow.
    pub slat_flow: SlatFlowConfig,
    /// The mesh decoder.
    pub mesh_decoder: MeshDecoderConfig,
}

impl PipelineConfig {
    /// The released models.
    pub fn released() -> Self {
        Self {
            dino: Dinov2Config::VITL14_REG,
            aggregator: AggregatorConfig::VGGT,
            layers: VGGT_LAYERS,
            ss_condition: ConditionConfig::RELEASED,
            ss_flow: FlowConfig::RELEASED,
            ss_decoder: DecoderConfig::released(),
            slat_condition: SlatConditionConfig::RELEASED,
            slat_flow: SlatFlowConfig::released(),
            mesh_decoder: MeshDecoderConfig::RELEASED,
        }
    }
}

impl PipelineConfig {
    /// The smallest widths that fit together (28² views, 16³ structure, a 64³ mesh grid): the
    /// same code paths as the released models at a size that runs in seconds on a CPU, for
    /// tests and demonstrations with random weights.
    pub fn miniature() -> Self {
        let vit = Dinov2Config {
            img_size: 28,
            patch_size: 14,
            embed_dim: 8,
            depth: 1,
            heads: 2,
            mlp_ratio: 4,
            registers: 4,
        };
        Self {
            dino: vit,
            aggregator: AggregatorConfig {
                patch_embed: vit,
                embed_dim: 8,
                depth: 2,
                heads: 2,
                mlp_ratio: 4,
                registers: 4,
                rope_base: 100.0,
            },
            layers: [0, 1, 1, 1],
            ss_condition: ConditionConfig {
                channels: 8,
                context_channels: 24,
                heads: 2,
                tokens: 4,
            },
            ss_flow: FlowConfig {
                resolution: 4,
                in_channels: 2,
                out_channels: 2,
                model_channels: 8,
                cond_channels: 8,
                blocks: 1,
                heads: 2,
                patch_size: 1,
            },
            ss_decoder: DecoderConfig {
                latent_channels: 2,
                out_channels: 1,
                channels: vec![4, 4, 4],
                res_blocks: 1,
                middle_blocks: 1,
            },
            slat_condition: SlatConditionConfig { vggt: 16, dino: 8 },
            slat_flow: SlatFlowConfig {
                latent_channels: 8,
                model_channels: 16,
                cond_channels: 8,
                blocks: 1,
                heads: 2,
                io_res_blocks: 1,
                io_channels: vec![8],
            },
            mesh_decoder: MeshDecoderConfig {
                trunk: super::swin_transformer::SwinConfig {
                    latent_channels: 8,
                    model_channels: 256,
                    blocks: 1,
                    heads: 4,
                    mlp_ratio: 1,
                    window: 8,
                },
                resolution: 16,
            },
        }
    }
}

/// The checkpoint file of each module.
#[derive(Debug, Clone)]
pub struct WeightFiles<'a> {
    /// DINOv2 (safetensors, torch.hub keys).
    pub dino: &'a Path,
    /// The whole VGGT model; its `aggregator.*` keys are read.
    pub vggt: &'a Path,
    /// `ss_vggt_cond`.
    pub ss_condition: &'a Path,
    /// `ss_flow_img_dit_L_16l8_fp16`.
    pub ss_flow: &'a Path,
    /// `ss_dec_conv3d_16l8_fp16`.
    pub ss_decoder: &'a Path,
    /// `slat_vggt_cond`.
    pub slat_condition: &'a Path,
    /// `slat_flow_img_dit_L_64l8p2_fp16`.
    pub slat_flow: &'a Path,
    /// `slat_dec_mesh_swin8_B_64l8m256c_fp16`.
    pub mesh_decoder: &'a Path,
}

/// A step of [`Models::run`], for progress reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// DINOv2 and the aggregator.
    Encoders,
    /// Stage-1 sampling.
    Stage1,
    /// Stage-2 sampling.
    Stage2,
    /// Mesh decoder and FlexiCubes.
    Decode,
    /// Simplification, unwrap, texture.
    Glb,
}

/// Why a run did not finish.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Stage 1 refused the views or failed.
    #[error(transparent)]
    Stage1(#[from] Stage1Error),
    /// Stage 2 failed (no voxels, …).
    #[error(transparent)]
    Stage2(#[from] Stage2Error),
    /// The mesh could not be made into a GLB.
    #[error(transparent)]
    Glb(#[from] GlbError),
    /// A checkpoint did not load.
    #[error(transparent)]
    Weights(#[from] WeightsError),
    /// A tensor operation failed.
    #[error("the reconstruction failed: {0}")]
    Torch(#[from] tch::TchError),
    /// Stopped on request.
    #[error("cancelled")]
    Cancelled,
}

/// What a run made.
#[derive(Debug)]
pub struct Reconstruction {
    /// The textured mesh.
    pub glb: ExportMesh,
    /// Voxels stage 1 found.
    pub voxels: i64,
    /// Triangles of the decoded mesh before simplification.
    pub decoded_triangles: i64,
}

/// Every module of the pipeline on one device.
#[derive(Debug)]
pub struct Models {
    config: PipelineConfig,
    device: Device,
    stores: [VarStore; 8],
    dino: Dinov2,
    aggregator: Aggregator,
    ss_condition: SparseStructureCondition,
    ss_flow: SparseStructureFlow,
    ss_decoder: SparseStructureDecoder,
    slat_condition: SlatCondition,
    slat_flow: SlatFlow,
    mesh_decoder: MeshDecoder,
}

impl Models {
    /// The modules of `config` on `device`, parameters uninitialized (load checkpoints next).
    pub fn new(config: PipelineConfig, device: Device) -> Result<Self, tch::TchError> {
        let stores: [VarStore; 8] = std::array::from_fn(|_| VarStore::new(device));
        Ok(Self {
            dino: Dinov2::new(&stores[0].root(), config.dino)?,
            aggregator: Aggregator::new(&stores[1].root(), config.aggregator)?,
            ss_condition: SparseStructureCondition::new(&stores[2].root(), config.ss_condition)?,
            ss_flow: SparseStructureFlow::new(&stores[3].root(), config.ss_flow)?,
            ss_decoder: SparseStructureDecoder::new(&stores[4].root(), &config.ss_decoder)?,
            slat_condition: SlatCondition::new(&stores[5].root(), config.slat_condition)?,
            slat_flow: SlatFlow::new(&stores[6].root(), &config.slat_flow)?,
            mesh_decoder: MeshDecoder::new(&stores[7].root(), config.mesh_decoder)?,
            stores,
            config,
            device,
        })
    }

    /// The released models on `device`, loaded strictly from `files`.
    pub fn load(files: &WeightFiles<'_>, device: Device) -> Result<Self, PipelineError> {
        let models = Self::new(PipelineConfig::released(), device)?;
        let sources = [
            (files.dino, ""),
            (files.vggt, "aggregator."),
            (files.ss_condition, ""),
            (files.ss_flow, ""),
            (files.ss_decoder, ""),
            (files.slat_condition, ""),
            (files.slat_flow, ""),
            (files.mesh_decoder, ""),
        ];
        // TRELLIS's modules keep their fp16 parameters in fp16 where they compute in it (the
        // encoders' checkpoints are float32).
        let half = Precision::trellis_on(device) == Precision::Float16Blocks;
        for (i, (store, (file, prefix))) in models.stores.iter().zip(sources).enumerate() {
            let report = load_strict(store, file, prefix)?;
            if half && i >= 2 {
                store_as_half(store, &report.half)?;
            }
        }
        Ok(models)
    }

    /// The parameter stores, one per module, in pipeline order (tests fill them).
    pub fn stores(&self) -> &[VarStore] {
        &self.stores
    }

    /// The device the modules are on.
    pub fn device(&self) -> Device {
        self.device
    }

    /// Side of the square views the encoders take (518 for the released models).
    pub fn input_size(&self) -> i64 {
        self.config.dino.img_size
    }

    /// Fills every parameter with seeded random values of the right scale — N(0, 1/fan_in)
    /// for matrices and filters, 1 for norm weights, N(0, 0.05²) for the rest — in name order,
    /// for tests and benchmarks without checkpoints.
    pub fn randomize(&self, seed: i64) {
        tch::manual_seed(seed);
        tch::no_grad(|| {
            for store in &self.stores {
                let mut variables: Vec<_> = store.variables().into_iter().collect();
                variables.sort_by(|a, b| a.0.cmp(&b.0));
                for (name, mut t) in variables {
                    let size = t.size();
                    if name.contains("norm") && name.ends_with("weight") && size.len() == 1 {
                        let _ = t.fill_(1.0);
                    } else if size.len() >= 2 {
                        let fan_in: i64 = size[1..].iter().product();
                        let _ = t.normal_(0.0, 1.0 / (fan_in as f64).sqrt());
                    } else {
                        let _ = t.normal_(0.0, 0.05);
                    }
                }
            }
        });
    }

    /// Stage 1 as the pipeline runs it: the released precisions on this device.
    pub fn stage1(&self) -> Stage1<'_> {
        let f = &self.config.ss_flow;
        Stage1 {
            dino: &self.dino,
            aggregator: &self.aggregator,
            condition: &self.ss_condition,
            flow: &self.ss_flow,
            decoder: &self.ss_decoder,
            layers: self.config.layers,
            latent: [f.in_channels, f.resolution, f.resolution, f.resolution],
            sampler: SamplerSettings::STAGE1,
            aggregator_precision: Precision::vggt_on(self.device),
            trellis_precision: Precision::trellis_on(self.device),
        }
    }

    /// Stage 2 as the pipeline runs it.
    pub fn stage2(&self) -> Stage2<'_> {
        Stage2 {
            flow: &self.slat_flow,
            sampler: SamplerSettings::STAGE2,
            precision: Precision::trellis_on(self.device),
        }
    }

    /// The per-view stage-2 conditions of the encoded views.
    pub fn stage2_conditions(&self, encoded: &Encoded) -> Result<Vec<Tensor>, tch::TchError> {
        tch::no_grad(|| {
            self.slat_condition.forward(
                &encoded.aggregated,
                &encoded.image_cond,
                Precision::trellis_on(self.device),
                &mut Trace::off(),
            )
        })
    }

    /// The mesh decoder's head on `latent` (the SDF and the rest FlexiCubes reads).
    pub fn decode_head(&self, latent: &SparseTensor) -> Result<SparseTensor, tch::TchError> {
        tch::no_grad(|| {
            self.mesh_decoder.forward(latent, Precision::trellis_on(self.device), &mut Trace::off())
        })
    }

    /// Side of the grid the mesh is extracted on (4× the latent's).
    pub fn mesh_resolution(&self) -> i64 {
        4 * self.config.mesh_decoder.resolution
    }

    /// Preprocessed `views` (each `[3, S, S]` on the models' device) → the textured mesh, from
    /// noise seeded with `seed`. `on_progress(step, fraction)` follows the steps; `cancel`
    /// stops the run between them.
    pub fn run(
        &self,
        views: &[Tensor],
        seed: i64,
        glb: GlbOptions,
        cancel: &AtomicBool,
        mut on_progress: impl FnMut(Step, f64),
    ) -> Result<Reconstruction, PipelineError> {
        let stop = || {
            if cancel.load(Ordering::Relaxed) { Err(PipelineError::Cancelled) } else { Ok(()) }
        };
        let stage1 = self.stage1();
        on_progress(Step::Encoders, 0.0);
        let encoded = stage1.encode(views)?;
        on_progress(Step::Encoders, 1.0);
        stop()?;
        let voxels = stage1.sample(&encoded, None, seed, |s, n| {
            on_progress(Step::Stage1, s as f64 / n as f64);
        })?;
        stop()?;
        let conds = self.stage2_conditions(&encoded)?;
        let stage2 = self.stage2();
        let latent = stage2.run(&voxels, &conds, None, seed, |s, n| {
            on_progress(Step::Stage2, s as f64 / n as f64);
        })?;
        stop()?;
        on_progress(Step::Decode, 0.0);
        let head = self.decode_head(&latent)?;
        let mesh =
            tch::no_grad(|| flexicubes::extract(&head, self.mesh_resolution(), &mut Trace::off()))?;
        on_progress(Step::Decode, 1.0);
        stop()?;
        on_progress(Step::Glb, 0.0);
        let decoded_triangles = mesh.faces.size()[0];
        let glb = textured(&mesh, glb)?;
        on_progress(Step::Glb, 1.0);
        Ok(Reconstruction { glb, voxels: voxels.size()[0], decoded_triangles })
    }
}
