//! Multi-resolution hash encoding (Müller et al., "Instant Neural Graphics Primitives", 2022) of
//! points in the unit cube, as tensor ops: per level, the eight corners of the enclosing cell are
//! looked up in a feature table (dense while the level's grid fits the table, spatially hashed
//! beyond) and blended trilinearly. Every level's table lives in one parameter so all lookups are
//! a single [`gather_rows`].

use tch::{Kind, Tensor};

use crate::EngineError;
use crate::autograd::attach_backward;
use crate::ops::gather::gather_rows;
use crate::ops::launch::{KernelArg, launch_per_element};

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
    ///
    /// On CUDA in float32 the encoding runs as a kernel with a hand-written backward (see
    /// `kernels/hash_grid.cu`); elsewhere as tensor ops, which are also the reference.
    pub fn forward(&self, points: &Tensor) -> Result<Tensor, EngineError> {
        if let (tch::Device::Cuda(ordinal), Kind::Float) = (self.table.device(), self.table.kind())
            && points.kind() == Kind::Float
            && self.config.features <= 8
        {
            return self.forward_cuda(points, ordinal);
        }
        self.forward_reference(points)
    }

    /// The level parameters as the kernels take them, on the table's device.
    fn level_tensors(&self) -> Result<[Tensor; 5], EngineError> {
        let device = self.table.device();
        let scales: Vec<f32> = self.layout.iter().map(|l| l.scale as f32).collect();
        let resolutions: Vec<i32> = self.layout.iter().map(|l| l.resolution as i32).collect();
        let offsets: Vec<i64> = self.layout.iter().map(|l| l.offset).collect();
        let sizes: Vec<i64> = self.layout.iter().map(|l| l.size).collect();
        let dense: Vec<i32> = self.layout.iter().map(|l| i32::from(l.dense)).collect();
        Ok([
            Tensor::from_slice(&scales).f_to_device(device)?,
            Tensor::from_slice(&resolutions).f_to_device(device)?,
            Tensor::from_slice(&offsets).f_to_device(device)?,
            Tensor::from_slice(&sizes).f_to_device(device)?,
            Tensor::from_slice(&dense).f_to_device(device)?,
        ])
    }

    fn forward_cuda(&self, points: &Tensor, ordinal: usize) -> Result<Tensor, EngineError> {
        const OP: &str = "hash_grid";
        let n = points.size()[0];
        let (l, f) = (self.config.levels, self.config.features);
        let saved_points = points.f_detach()?.f_contiguous()?;
        let table = self.table.f_detach()?;
        let levels = self.level_tensors()?;
        let out = Tensor::f_empty([n, l * f], (Kind::Float, table.device()))?;
        let sizes = [KernelArg::size(OP, n)?, KernelArg::size(OP, l)?, KernelArg::size(OP, f)?];
        let mut args = vec![KernelArg::tensor(&saved_points), KernelArg::tensor(&table)];
        args.extend(levels.iter().map(KernelArg::tensor));
        args.extend(sizes);
        args.push(KernelArg::tensor(&out));
        // SAFETY: contiguous float32 [N, 3] points and [R, F] table, level tensors of L entries
        // with offsets + sizes ≤ R (built in `new`), a [N, L·F] output; all held here.
        unsafe { launch_per_element(ordinal, "hash_grid_forward", n * l, &args) }?;
        let rows = table.size()[0];
        attach_backward(
            OP,
            &[points, &self.table],
            &[&out],
            Box::new(move |grads| {
                let Some(grad) = &grads[0] else { return Ok(vec![None, None]) };
                let grad = grad.f_contiguous()?;
                let device = table.device();
                let grad_table = Tensor::f_zeros([rows, f], (Kind::Float, device))?;
                let grad_points = Tensor::f_zeros([n, 3], (Kind::Float, device))?;
                let mut args = vec![KernelArg::tensor(&saved_points), KernelArg::tensor(&table)];
                args.extend(levels.iter().map(KernelArg::tensor));
                args.push(KernelArg::tensor(&grad));
                args.extend(sizes);
                args.extend([KernelArg::tensor(&grad_table), KernelArg::tensor(&grad_points)]);
                // SAFETY: the forward's buffers (held by this closure), the [N, L·F] gradient
                // and zeroed [R, F] and [N, 3] accumulators.
                unsafe { launch_per_element(ordinal, "hash_grid_backward", n * l, &args) }?;
                Ok(vec![Some(grad_points), Some(grad_table)])
            }),
        )?;
        Ok(out)
    }

    /// The tensor-op encoding (CPU, float64, and the reference of the CUDA kernels).
    pub fn forward_reference(&self, points: &Tensor) -> Result<Tensor, EngineError> {
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
        let features = gather_rows(&self.table, &index)?
            .f_reshape([n, corners, self.config.features])?
            .f_mul(&weight.f_to_kind(self.table.kind())?)?;
        Ok(features
            .f_reshape([n, self.config.levels, 8, self.config.features])?
            .f_sum_dim_intlist([2i64].as_slice(), false, self.table.kind())?
            .f_reshape([n, self.output_dim()])?)
    }
}
