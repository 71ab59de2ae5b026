//! ReconViaGen as a server job: the uploaded views (with alpha, or masked here by the border
//! colour model where they have none — the reference's BiRefNet is not ported) are
//! preprocessed, the released models (loaded once from the weights folder and kept for the
//! next job) run with a progress report per step, and the textured mesh is written as
//! `mesh.glb` and OBJ like nvdiffrec's.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use image::RgbaImage;
use meshcast_engine::dataset::decode_upright;
use meshcast_engine::dataset::mask::{BorderColourModel, MaskEstimator};
use meshcast_engine::dataset::photos::photo_files;
use meshcast_engine::nvdiffrec::output::write_meshes;
use meshcast_engine::reconviagen::glb::GlbOptions;
use meshcast_engine::reconviagen::pipeline::{Models, PipelineError, Step, WeightFiles};
use meshcast_engine::reconviagen::preprocess::{crop_box, preprocess_to};
use meshcast_engine::reconviagen::stage1::MAX_VIEWS;
use meshcast_engine::tch;

use super::reconstructor::{JobEvents, Reconstructor, RunRequest, RunSummary, relative_to_upload};

/// The checkpoint files the pipeline reads, relative to the weights folder (as
/// `weights/manifest.toml` places them; DINOv2's pickle is converted to safetensors).
const FILES: [&str; 8] = [
    "dinov2/dinov2_vitl14_reg4_pretrain.safetensors",
    "vggt-object-v0-1/model.safetensors",
    "trellis-vggt-v0-2/ckpts/ss_vggt_cond.safetensors",
    "trellis-vggt-v0-2/ckpts/ss_flow_img_dit_L_16l8_fp16.safetensors",
    "trellis-vggt-v0-2/ckpts/ss_dec_conv3d_16l8_fp16.safetensors",
    "trellis-vggt-v0-2/ckpts/slat_vggt_cond.safetensors",
    "trellis-vggt-v0-2/ckpts/slat_flow_img_dit_L_64l8p2_fp16.safetensors",
    "trellis-vggt-v0-2/ckpts/slat_dec_mesh_swin8_B_64l8m256c_fp16.safetensors",
];

/// The options a job may set, with their defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Seed of both stages' noise.
    pub seed: i64,
    /// GLB settings: `simplify` (share of triangles removed, TRELLIS's 0.95) and
    /// `texture_size`.
    pub glb: GlbOptions,
}

/// Parses a job's JSON options; unknown keys and out-of-range values are errors.
pub fn options(json: &serde_json::Value) -> Result<Options, String> {
    let Some(object) = json.as_object() else {
        return Err("config must be a JSON object, e.g. {\"seed\":1}".to_owned());
    };
    let mut out = Options { seed: 1, glb: GlbOptions::default() };
    for (key, value) in object {
        match key.as_str() {
            "seed" => {
                out.seed = value.as_i64().filter(|s| *s >= 0).ok_or_else(|| {
                    format!("config: seed must be a whole number ≥ 0, not {value}")
                })?;
            }
            "simplify" => {
                let share = value.as_f64().filter(|s| (0.0..1.0).contains(s)).ok_or_else(|| {
                    format!(
                        "config: simplify is the share of triangles removed, in [0, 1), not {value}"
                    )
                })?;
                out.glb.keep = 1.0 - share;
            }
            "texture_size" => {
                out.glb.texture_size =
                    value.as_u64().filter(|s| (256..=4096).contains(s)).ok_or_else(|| {
                        format!("config: texture_size must be 256 to 4096, not {value}")
                    })? as u32;
            }
            other => {
                return Err(format!(
                    "config: unknown key `{other}` for reconviagen (known: seed, simplify, texture_size)"
                ));
            }
        }
    }
    Ok(out)
}

/// The ReconViaGen job.
#[derive(Debug)]
pub struct ReconviagenJob {
    weights_dir: PathBuf,
    /// The models of the last job, kept: loading them takes longer than a run. Jobs run one
    /// at a time, so a run holds the lock.
    loaded: Mutex<Option<(tch::Device, Models)>>,
    /// The models came from the embedder, not from the weights folder.
    preloaded: bool,
}

impl ReconviagenJob {
    /// A job reading its checkpoints from `weights_dir`.
    pub fn new(weights_dir: PathBuf) -> Self {
        Self { weights_dir, loaded: Mutex::new(None), preloaded: false }
    }

    /// A job that runs `models` (already filled, on `device`) instead of loading checkpoints:
    /// for servers embedding their own models and for tests.
    pub fn with_models(device: tch::Device, models: Models) -> Self {
        Self {
            weights_dir: PathBuf::new(),
            loaded: Mutex::new(Some((device, models))),
            preloaded: true,
        }
    }

    /// The released models on `device` in `slot`, loaded unless the last job left them there.
    fn load_into(
        &self,
        slot: &mut Option<(tch::Device, Models)>,
        device: tch::Device,
    ) -> Result<(), String> {
        if slot.as_ref().is_some_and(|(d, _)| *d == device) {
            return Ok(());
        }
        *slot = None;
        let paths: Vec<PathBuf> = FILES.iter().map(|f| self.weights_dir.join(f)).collect();
        let files = WeightFiles {
            dino: &paths[0],
            vggt: &paths[1],
            ss_condition: &paths[2],
            ss_flow: &paths[3],
            ss_decoder: &paths[4],
            slat_condition: &paths[5],
            slat_flow: &paths[6],
            mesh_decoder: &paths[7],
        };
        *slot = Some((device, Models::load(&files, device).map_err(|e| e.to_string())?));
        Ok(())
    }
}

impl Reconstructor for ReconviagenJob {
    fn availability(&self) -> Result<(), String> {
        if self.preloaded {
            return Ok(());
        }
        let missing: Vec<&str> =
            FILES.iter().copied().filter(|f| !self.weights_dir.join(f).is_file()).collect();
        match missing.as_slice() {
            [] => Ok(()),
            // The folder is the operator's `--weights-dir`; its path is not for uploaders.
            [first, rest @ ..] => Err(format!(
                "{} of its {} weight files are missing from the weights folder (first: {first}{}); run `meshcast weights fetch`",
                missing.len(),
                FILES.len(),
                if rest.is_empty() { "" } else { ", …" },
            )),
        }
    }

    fn check(
        &self,
        input: &Path,
        options_json: &serde_json::Value,
        _device: tch::Device,
    ) -> Result<(), String> {
        options(options_json)?;
        let views = photo_files(input);
        if views.is_empty() {
            return Err("no views: upload images of the object (PNG with alpha, or photos on a plain background)".into());
        }
        if views.len() > MAX_VIEWS {
            return Err(format!("{} views; reconviagen takes at most {MAX_VIEWS}", views.len()));
        }
        let plain = |e: &dyn std::fmt::Display| relative_to_upload(input, e);
        for path in &views {
            let image = decode_upright(path).map_err(|e| plain(&e))?.to_rgba8();
            // A view with alpha must show something; one without gets a mask when it runs.
            if image.pixels().any(|p| p[3] < 255) && crop_box(&image).is_none() {
                return Err(format!(
                    "view {} is transparent everywhere: its alpha shows no object",
                    plain(&path.display())
                ));
            }
        }
        Ok(())
    }

    fn run(
        &self,
        request: RunRequest<'_>,
        events: &mut dyn JobEvents,
    ) -> Result<RunSummary, String> {
        let options = options(request.options)?;
        events.stage("weights");
        events.stage_progress(0.0, "loading the models");
        let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        if !self.preloaded {
            self.load_into(&mut loaded, request.device)?;
        }
        let Some((device, models)) = loaded.as_ref() else {
            return Err("the models did not load".into());
        };
        let views = photo_files(request.input);
        events.stage("preprocess");
        let mut tensors = Vec::with_capacity(views.len());
        for (i, path) in views.iter().enumerate() {
            events.stage_progress(i as f64 / views.len() as f64, "cropping the views");
            let image = with_alpha(decode_upright(path).map_err(|e| e.to_string())?.to_rgba8());
            let view = preprocess_to(&image, i, models.input_size(), *device)
                .map_err(|e| e.to_string())?;
            tensors.push(view);
        }
        let mut current = None;
        let result = models.run(&tensors, options.seed, options.glb, request.cancel, |step, f| {
            let (name, detail) = match step {
                Step::Encoders => ("encoders", "DINOv2 and VGGT"),
                Step::Stage1 => ("stage1", "sampling the sparse structure"),
                Step::Stage2 => ("stage2", "sampling the structured latent"),
                Step::Decode => ("decode", "mesh decoder and FlexiCubes"),
                Step::Glb => ("glb", "simplifying, unwrapping, baking the texture"),
            };
            if current != Some(step) {
                current = Some(step);
                events.stage(name);
            }
            events.stage_progress(f, detail);
        });
        let reconstruction = match result {
            Ok(r) => r,
            Err(PipelineError::Cancelled) => {
                return Ok(RunSummary { triangles: 0, vertices: 0, psnr: None, cancelled: true });
            }
            Err(e) => return Err(e.to_string()),
        };
        events.stage("export");
        write_meshes(request.out, &reconstruction.glb).map_err(|e| e.to_string())?;
        tracing::info!(
            voxels = reconstruction.voxels,
            decoded = reconstruction.decoded_triangles,
            triangles = reconstruction.glb.triangles.len(),
            "reconviagen finished"
        );
        Ok(RunSummary {
            triangles: reconstruction.glb.triangles.len() as i64,
            vertices: reconstruction.glb.positions.len() as i64,
            psnr: None,
            cancelled: false,
        })
    }
}

/// `image` as is when it has a transparent background, else with the border colour model's
/// mask as alpha.
fn with_alpha(mut image: RgbaImage) -> RgbaImage {
    if image.pixels().any(|p| p[3] < 255) {
        return image;
    }
    let rgb = image::DynamicImage::ImageRgba8(image.clone()).to_rgb8();
    let mask = BorderColourModel::default().estimate(&rgb);
    for (p, m) in image.pixels_mut().zip(mask.pixels()) {
        p[3] = m[0];
    }
    image
}
