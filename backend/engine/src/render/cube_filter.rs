//! Convolutions of a cube map with a lobe around each texel's direction, as sparse matrices:
//! GGX lobes for the split-sum specular levels, a cosine lobe for diffuse irradiance.
//!
//! The light is learned, so its levels are refiltered every iteration: a fixed sparse matrix per
//! level (built once, on the CPU) makes that one sparse × dense product that autograd
//! differentiates. Weights below `1e-3` of a row's largest are dropped, which bounds the matrix
//! to the lobe; rows are normalized to sum to one. Built by brute force over texel pairs, which
//! is why the light's resolution is kept at 64² per face or less.

use rayon::prelude::*;
use tch::{Device, Kind, Tensor};

use crate::EngineError;
use crate::ops::cubemap::texel_directions;

/// Which lobe to filter with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lobe {
    /// GGX normal distribution with perceptual roughness (α = roughness²), n = v = r.
    Ggx(f64),
    /// Clamped cosine (Lambertian irradiance).
    Cosine,
}

const RELATIVE_CUTOFF: f64 = 1e-3;

/// Solid angle of each texel of a `size`² face, `[size · size]` (same for all six faces).
fn texel_solid_angles(size: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(size * size);
    for row in 0..size {
        for col in 0..size {
            let a = 2.0 * (col as f64 + 0.5) / size as f64 - 1.0;
            let b = 2.0 * (row as f64 + 0.5) / size as f64 - 1.0;
            out.push(4.0 / (size * size) as f64 / (1.0 + a * a + b * b).powf(1.5));
        }
    }
    out
}

fn weight(lobe: Lobe, n: [f64; 3], l: [f64; 3]) -> f64 {
    let n_dot_l = n[0] * l[0] + n[1] * l[1] + n[2] * l[2];
    if n_dot_l <= 0.0 {
        return 0.0;
    }
    match lobe {
        Lobe::Cosine => n_dot_l,
        Lobe::Ggx(roughness) => {
            let alpha2 = roughness.powi(4);
            let h = [n[0] + l[0], n[1] + l[1], n[2] + l[2]];
            let len = (h[0] * h[0] + h[1] * h[1] + h[2] * h[2]).sqrt().max(1e-12);
            let n_dot_h = (n[0] * h[0] + n[1] * h[1] + n[2] * h[2]) / len;
            let d = n_dot_h * n_dot_h * (alpha2 - 1.0) + 1.0;
            alpha2 / (std::f64::consts::PI * d * d) * n_dot_l
        }
    }
}

/// A filter as a sparse matrix and its transpose (CSR both): the transpose carries gradients
/// back, because libtorch's own backward for sparse products converts the matrix on every call,
/// which dominated a whole training iteration on the GPU.
#[derive(Debug)]
pub struct Filter {
    matrix: Tensor,
    transpose: Tensor,
}

impl Filter {
    /// The filter of `lobe` for cube faces of `size`² texels, on `device`.
    pub fn new(size: usize, lobe: Lobe, device: Device) -> Result<Self, EngineError> {
        let coo = filter_matrix(size, lobe)?;
        let csr = |m: &Tensor| -> Result<Tensor, EngineError> {
            Ok(m.f_coalesce()?.f_to_sparse_csr(None)?.f_to_device(device)?)
        };
        Ok(Self { matrix: csr(&coo)?, transpose: csr(&coo.f_transpose(0, 1)?)? })
    }

    /// Filters one cube level `[6, S, S, C]`; differentiable in the level.
    pub fn apply(&self, level: &Tensor) -> Result<Tensor, EngineError> {
        let shape = level.size();
        let c = shape[3];
        let input = level.f_reshape([-1, c])?;
        let out = tch::no_grad(|| self.matrix.f_mm(&input.f_detach()?))?;
        let transpose = self.transpose.shallow_clone();
        crate::autograd::attach_backward(
            "cube_filter",
            &[&input],
            &[&out],
            Box::new(move |grads| {
                Ok(vec![match &grads[0] {
                    Some(g) => Some(transpose.f_mm(&g.f_contiguous()?)?),
                    None => None,
                }])
            }),
        )?;
        Ok(out.f_reshape(shape.as_slice())?)
    }
}

/// The `[6·size², 6·size²]` sparse (COO, CPU) filter matrix of `lobe` for faces of `size`² texels.
pub fn filter_matrix(size: usize, lobe: Lobe) -> Result<Tensor, EngineError> {
    let dirs = Vec::<f64>::try_from(texel_directions(size as i64, Device::Cpu)?.f_reshape([-1])?)?;
    let dirs: &[[f64; 3]] = dirs.as_chunks::<3>().0;
    let omega = texel_solid_angles(size);
    let per_face = size * size;
    let rows: Vec<(Vec<i64>, Vec<f32>)> = (0..dirs.len())
        .into_par_iter()
        .map(|i| {
            let weights: Vec<f64> = dirs
                .iter()
                .enumerate()
                .map(|(j, &l)| weight(lobe, dirs[i], l) * omega[j % per_face])
                .collect();
            let max = weights.iter().copied().fold(0.0, f64::max);
            let keep: Vec<(usize, f64)> = weights
                .into_iter()
                .enumerate()
                .filter(|&(_, w)| w > max * RELATIVE_CUTOFF)
                .collect();
            let total: f64 = keep.iter().map(|(_, w)| w).sum();
            (
                keep.iter().map(|&(j, _)| j as i64).collect(),
                keep.iter().map(|&(_, w)| (w / total) as f32).collect(),
            )
        })
        .collect();
    let mut row_index = Vec::new();
    let mut col_index = Vec::new();
    let mut values = Vec::new();
    for (i, (cols, vals)) in rows.into_iter().enumerate() {
        row_index.extend(std::iter::repeat_n(i as i64, cols.len()));
        col_index.extend(cols);
        values.extend(vals);
    }
    let n = dirs.len() as i64;
    let indices =
        Tensor::f_stack(&[Tensor::from_slice(&row_index), Tensor::from_slice(&col_index)], 0)?;
    Ok(Tensor::f_sparse_coo_tensor_indices_size(
        &indices,
        &Tensor::from_slice(&values),
        [n, n],
        (Kind::Float, Device::Cpu),
        true,
    )?)
}
