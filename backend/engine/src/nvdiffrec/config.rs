//! Run settings: three presets and overrides from a JSON object (the CLI's `--config FILE` and
//! the job API's `config`), with unknown keys rejected so a typo is not silently ignored.

use serde::{Deserialize, Serialize};

use super::NvdiffrecError;

/// Everything a run depends on besides the dataset and the device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Cells per axis of the DMTet grid (32, 64, 128).
    pub grid_resolution: i64,
    /// Half the edge of the cube the grid spans, in world units.
    pub grid_extent: f64,
    /// Longest image side the views are resized to.
    pub image_size: u32,
    /// Views per iteration.
    pub batch: i64,
    /// Scale of the initial SDF in units per grid cell: Adam moves the surface by about
    /// `learning_rate / sdf_units_per_cell` cells per step (higher is steadier, lower faster;
    /// on the mug at grid 64, 1.0 kept the surface cleaner than 0.3, while 0.3 converges faster
    /// at grid 32).
    pub sdf_units_per_cell: f64,
    /// Pass-1 (DMTet) iterations.
    pub iterations: u32,
    /// Pass-1 learning rate (all parameter groups, as nvdiffrec).
    pub learning_rate: f64,
    /// Pass-2 iterations (fixed topology: vertex offsets, textures and light); 0 skips pass 2.
    pub pass2_iterations: u32,
    /// Pass-2 learning rate of the textures and the light.
    pub pass2_learning_rate: f64,
    /// Pass-2 learning rate of the vertex offsets (world units).
    pub pass2_position_learning_rate: f64,
    /// Weight of the Laplacian regularizer on the vertex offsets at the start of pass 2; it
    /// decays linearly to 0.
    pub laplace_weight: f64,
    /// The learning rate decays as 10^(−decay · iteration).
    pub learning_rate_decay: f64,
    /// Environment light face resolution (32 or 64).
    pub light_resolution: i64,
    /// SDF sign-flip regularizer weight at the start; it decays linearly to `sdf_weight_end`
    /// over the first quarter of the run.
    pub sdf_weight: f64,
    /// SDF regularizer weight after the first quarter.
    pub sdf_weight_end: f64,
    /// Weight of the base-colour smoothness term.
    pub kd_smoothness: f64,
    /// Weight of the roughness/metallic smoothness term.
    pub ks_smoothness: f64,
    /// Weight of the light regularizer.
    pub light_weight: f64,
    /// Weight of the mask (alpha) MSE.
    pub mask_weight: f64,
    /// log2 of the hash-grid table size per level.
    pub hash_table_log2: u32,
    /// Fit the grid's cube to the visual hull of the training masks (within `grid_extent`)
    /// instead of using `[-grid_extent, grid_extent]³` as is.
    pub fit_grid: bool,
    /// Drop hidden surface from the final pass-1 mesh: components no training view sees, then
    /// triangles that neither a training view nor a view around the object shows, beyond
    /// `visible_margin_rings` (`cleanup.rs`).
    pub remove_hidden: bool,
    /// Vertex rings around seen triangles kept by `remove_hidden`, so that visible triangles
    /// too small to cover a pixel centre stay.
    pub visible_margin_rings: u32,
    /// Rounds of umbrella smoothing of the final pass-1 surface. DMTet's surface wrinkles at the
    /// scale of a grid cell (Suzanne at grid 128: 1.5× the true area); 8 rounds bring the final
    /// mesh to 1.15× (3 rounds: 1.20–1.26×) at the same Chamfer distance (bench/RESULTS.md,
    /// session 7). 0 turns it off.
    pub surface_smoothing: u32,
    /// Texture atlas size in texels (square page; the atlas may use fewer rows).
    pub texture_size: u32,
    /// Send a mesh snapshot every this many iterations (0 = never).
    pub snapshot_every: u32,
    /// Evaluate test-view PSNR every this many iterations (0 = only at the end).
    pub validate_every: u32,
    /// Write a checkpoint every this many iterations (0 = never).
    pub checkpoint_every: u32,
    /// Seed of parameter initialization, view order and backgrounds.
    pub seed: i64,
    /// Synchronize the device between training phases and report per-phase seconds (for the
    /// benchmark's breakdown; slows the run a little).
    pub profile: bool,
}

/// A named starting point for [`Config`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// For the CPU: grid 32, ~128 px, a few hundred iterations.
    Tiny,
    /// For one GPU (the "budget S": grid 128, 400 px, batch 8, 2000 iterations).
    Default,
    /// Closer to the paper's settings.
    High,
}

impl Preset {
    /// Parses `tiny`, `default` or `high`.
    pub fn parse(name: &str) -> Result<Self, NvdiffrecError> {
        match name {
            "tiny" => Ok(Self::Tiny),
            "default" => Ok(Self::Default),
            "high" => Ok(Self::High),
            other => Err(NvdiffrecError::Config(format!(
                "unknown preset `{other}` (expected tiny, default or high)"
            ))),
        }
    }

    /// The preset's settings.
    pub fn config(self) -> Config {
        let base = Config::default();
        match self {
            Self::Tiny => Config {
                grid_resolution: 32,
                image_size: 128,
                batch: 2,
                iterations: 400,
                pass2_iterations: 100,
                hash_table_log2: 16,
                light_resolution: 32,
                texture_size: 512,
                // Cells of a 32 grid are large next to the wrinkles smoothing removes; at 96 px
                // 3 rounds cost Suzanne 1.2 dB of PSNR.
                surface_smoothing: 0,
                snapshot_every: 20,
                validate_every: 100,
                checkpoint_every: 100,
                ..base
            },
            Self::Default => base,
            Self::High => Config {
                grid_resolution: 128,
                image_size: 800,
                batch: 8,
                iterations: 5000,
                pass2_iterations: 2500,
                light_resolution: 64,
                texture_size: 2048,
                ..base
            },
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            grid_resolution: 128,
            grid_extent: 1.2,
            sdf_units_per_cell: 0.3,
            image_size: 400,
            batch: 8,
            iterations: 2000,
            learning_rate: 0.03,
            pass2_iterations: 1000,
            pass2_learning_rate: 0.01,
            pass2_position_learning_rate: 0.001,
            laplace_weight: 10_000.0,
            learning_rate_decay: 0.0002,
            light_resolution: 64,
            sdf_weight: 0.2,
            sdf_weight_end: 0.01,
            kd_smoothness: 0.1,
            ks_smoothness: 0.05,
            light_weight: 0.005,
            mask_weight: 1.0,
            hash_table_log2: 19,
            fit_grid: true,
            remove_hidden: true,
            visible_margin_rings: 2,
            surface_smoothing: 8,
            texture_size: 1024,
            snapshot_every: 25,
            validate_every: 250,
            checkpoint_every: 250,
            seed: 1,
            profile: false,
        }
    }
}

impl Config {
    /// The preset's settings with the keys of `overrides` (a JSON object) replacing them.
    pub fn from_preset_and_json(
        preset: Preset,
        overrides: Option<&serde_json::Value>,
    ) -> Result<Self, NvdiffrecError> {
        let mut merged = serde_json::to_value(preset.config())
            .map_err(|e| NvdiffrecError::Config(e.to_string()))?;
        if let Some(overrides) = overrides {
            let Some(object) = overrides.as_object() else {
                return Err(NvdiffrecError::Config("config must be a JSON object".into()));
            };
            for (key, value) in object {
                if let Some(slot) = merged.get_mut(key) {
                    *slot = value.clone();
                } else {
                    return Err(NvdiffrecError::Config(format!("unknown config key `{key}`")));
                }
            }
        }
        let config: Config =
            serde_json::from_value(merged).map_err(|e| NvdiffrecError::Config(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Rejects values the run cannot work with.
    pub fn validate(&self) -> Result<(), NvdiffrecError> {
        let fail = |m: String| Err(NvdiffrecError::Config(m));
        if !(8..=256).contains(&self.grid_resolution) {
            return fail(format!("grid_resolution {} is outside 8..=256", self.grid_resolution));
        }
        if !(16..=2048).contains(&self.image_size) {
            return fail(format!("image_size {} is outside 16..=2048", self.image_size));
        }
        if !(1..=64).contains(&self.batch) {
            return fail(format!("batch {} is outside 1..=64", self.batch));
        }
        if self.iterations == 0 {
            return fail("iterations must be at least 1".into());
        }
        if !(self.grid_extent > 0.0 && self.grid_extent.is_finite()) {
            return fail(format!("grid_extent {} must be positive", self.grid_extent));
        }
        if !(self.sdf_units_per_cell > 0.0 && self.sdf_units_per_cell.is_finite()) {
            return fail(format!(
                "sdf_units_per_cell {} must be positive",
                self.sdf_units_per_cell
            ));
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return fail(format!("learning_rate {} must be positive", self.learning_rate));
        }
        if ![32, 64].contains(&self.light_resolution) {
            return fail(format!("light_resolution {} must be 32 or 64", self.light_resolution));
        }
        if !(64..=8192).contains(&self.texture_size) {
            return fail(format!("texture_size {} is outside 64..=8192", self.texture_size));
        }
        if self.visible_margin_rings > 16 {
            return fail(format!("visible_margin_rings {} is above 16", self.visible_margin_rings));
        }
        if self.surface_smoothing > 100 {
            return fail(format!(
                "surface_smoothing {} is above 100 rounds",
                self.surface_smoothing
            ));
        }
        if !(10..=22).contains(&self.hash_table_log2) {
            return fail(format!("hash_table_log2 {} is outside 10..=22", self.hash_table_log2));
        }
        Ok(())
    }
}
