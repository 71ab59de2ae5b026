//! Multi-resolution hash encoding (Müller et al., "Instant Neural Graphics Primitives", 2022) of
//! points in the unit cube, as tensor ops: per level, the eight corners of the enclosing cell are
//! looked up in a feature table (dense while the level's grid fits the table, spatially hashed
//! beyond) and blended trilinearly. Gradients reach the tables through autograd's `index_select`
//! backward; every level's table lives in one parameter so all lookups are a single gather.

use tch::{Kind, Tensor};

use crate::EngineError;

/// Hash-grid hyper-parameters (defaults: nvdiffrec's material encoding).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HashGridConfig {
    /// Number of resolution levels.
    pub levels: i64,
    /// Features per level.
    pub features: i64,
    /// log2 of the largest table size per level.
    pub log2_table_size: u32,
    /// Grid resolution of the coarsest level.
    pub base_resolution: f64,
    /// Grid resolution of the finest level.
    pub max_resolution: f64,
}

impl Default for HashGridConfig {
    fn default() -> Self {
        Self {
            levels: 16,
            features: 2,
            log2_table_size: 19,
            base_resolution: 16.0,
            max_resolution: 4096.0,
        }
    }
}

/// The encoding's parameters and per-level layout.
#[derive(Debug)]
pub struct HashGrid {
    /// All levels' feature tables, `[Σ sizes, features]`.
    pub table: Tensor,
    config: HashGridConfig,
    /// Per level: (scale, grid points per axis, table offset, table size, dense).
    layout: Vec<Level>,
}

#[derive(Debug, Clone, Copy)]
struct Level {
    scale: f64,
    resolution: i64,
    offset: i64,
    size: i64,
    dense: bool,
}

/// Primes of the spatial hash (one per axis; the first is 1 so x stays coherent in memory).
const PRIMES: [i64; 3] = [1, 2_654_435_761, 805_459_861];

impl HashGrid {
    /// Creates the tables under `path` (uniform in ±1e-4, as instant-ngp initializes them).
    pub fn new(path: &tch::nn::Path<'_>, config: HashGridConfig) -> Result<Self, EngineError> {
        if config.levels < 1 || config.features < 1 || config.log2_table_size > 24 {
            return Err(EngineError::InvalidArgument {
                op: "hash_grid",
                arg: "config",
                reason: format!("{config:?}"),
            });
        }
        let growth = if config.levels > 1 {
            ((config.max_resolution / config.base_resolution).ln() / (config.levels - 1) as f64)
                .exp()
        } else {
            1.0
        };
        let max_size = 1i64 << config.log2_table_size;
        let mut layout = Vec::new();
        let mut offset = 0;
        for l in 0..config.levels {
            let scale = config.base_resolution * growth.powi(l as i32) - 1.0;
            let resolution = scale.ceil() as i64 + 1;
            let dense_size = resolution.saturating_pow(3);
            let (size, dense) =
                if dense_size <= max_size { (dense_size, true) } else { (max_size, false) };
            layout.push(Level { scale, resolution, offset, size, dense });
            offset += size;
        }
        let table = path.f_uniform("table", &[offset, config.features], -1e-4, 1e-4)?;
        Ok(Self { table, config, layout })
    }

    /// Output width: levels × features.
    pub fn output_dim(&self) -> i64 {
        self.config.levels * self.config.features
    }

    /// Encodes `points` `[N, 3]` in [0, 1]³ (clamped) → `[N, levels × features]`.
    pub fn forward(&self, points: &Tensor) -> Result<Tensor, EngineError> {
        let n = points.size()[0];
        let x = points.f_clamp(0.0, 1.0)?;
        let device = x.device();
        // The eight corners as 0/1 offsets [1, 8, 3], bit k of the corner number for axis k.
        let bits: Vec<i64> = (0..8i64).flat_map(|c| [c & 1, (c >> 1) & 1, (c >> 2) & 1]).collect();
        let offsets = Tensor::from_slice(&bits).f_view([1, 8, 3])?.f_to_device(device)?;
        let upper = offsets.f_to_kind(x.kind())?;
        let primes = Tensor::from_slice(&PRIMES).f_view([1, 1, 3])?.f_to_device(device)?;
        let mut indices = Vec::with_capacity(self.layout.len());
        let mut weights = Vec::with_capacity(self.layout.len());
        for level in &self.layout {
            let pos = x.f_mul_scalar(level.scale)?.f_add_scalar(0.5)?;
            let cell = pos.f_floor()?;
            let frac = pos.f_sub(&cell)?.f_unsqueeze(1)?; // [N, 1, 3]
            let corner = cell
                .f_to_kind(Kind::Int64)?
                .f_unsqueeze(1)?
                .f_add(&offsets)?
                .f_clamp(0, level.resolution - 1)?; // [N, 8, 3]
            // Trilinear weight: Π over axes of frac (upper corner) or 1 − frac (lower).
            let w = frac.f_mul(&upper)?.f_add(
                &frac.f_neg()?.f_add_scalar(1.0)?.f_mul(&upper.f_neg()?.f_add_scalar(1.0)?)?,
            )?;
            weights.push(w.f_prod_dim_int(2, false, x.kind())?);
            let index = if level.dense {
                let r = level.resolution;
                let strides =
                    Tensor::from_slice(&[1, r, r * r]).f_view([1, 1, 3])?.f_to_device(device)?;
                corner.f_mul(&strides)?.f_sum_dim_intlist([2i64].as_slice(), false, Kind::Int64)?
            } else {
                let h = corner.f_mul(&primes)?;
                h.f_select(2, 0)?
                    .f_bitwise_xor_tensor(&h.f_select(2, 1)?)?
                    .f_bitwise_xor_tensor(&h.f_select(2, 2)?)?
                    .f_bitwise_and(level.size - 1)?
            };
            indices.push(index.f_add_scalar(level.offset)?);
        }
        let corners = self.layout.len() as i64 * 8;
        let index = Tensor::f_cat(&indices, 1)?.f_reshape([-1])?; // [N · L · 8]
        let weight = Tensor::f_cat(&weights, 1)?.f_unsqueeze(2)?; // [N, L·8, 1]
        let features = self
            .table
            .f_index_select(0, &index)?
            .f_reshape([n, corners, self.config.features])?
            .f_mul(&weight.f_to_kind(self.table.kind())?)?;
        Ok(features
            .f_reshape([n, self.config.levels, 8, self.config.features])?
            .f_sum_dim_intlist([2i64].as_slice(), false, self.table.kind())?
            .f_reshape([n, self.output_dim()])?)
    }
}
