//! Changing a sparse tensor's resolution as TRELLIS does: average pooling by 2
//! (`SparseDownsample`), its inverse by copying each coarse voxel's features back to the fine
//! voxels it pooled (`SparseUpsample`), and subdivision of every voxel into its 8 children
//! (`SparseSubdivide`).

use std::rc::Rc;

use tch::{Kind, Tensor};

use super::{Layout, SparseTensor};

/// What [`downsample`] pooled, for the matching [`upsample`].
#[derive(Debug)]
pub struct Pooled {
    fine: Rc<Layout>,
    parent: Tensor,
    cells: i64,
}

/// Average pooling by 2: one voxel per occupied 2×2×2 cell, in increasing order of the cell's
/// row-major code (`torch.unique`'s order). The average is the reference's
/// `scatter_reduce(zeros, …, reduce='mean')`, whose default `include_self=True` counts the
/// zero it starts from: a cell of n voxels is their sum over n + 1.
pub fn downsample(x: &SparseTensor) -> Result<(SparseTensor, Pooled), tch::TchError> {
    let coarse = x.layout().coords().f_div_scalar_mode(2, "floor")?;
    let device = coarse.device();
    if x.layout().is_empty() {
        let layout = Layout::new(&coarse)?;
        let feats = x.feats().f_zeros_like()?;
        let parent = Tensor::f_empty([0], (Kind::Int64, device))?;
        return Ok((
            SparseTensor::new(layout, feats)?,
            Pooled { fine: x.layout().clone(), parent, cells: 0 },
        ));
    }
    let extent = coarse.f_amax([0i64].as_slice(), false)?.f_add_scalar(1)?;
    let [_, ny, nz] = [0, 1, 2].map(|d| extent.int64_value(&[d]));
    let code = coarse
        .f_select(1, 0)?
        .f_mul_scalar(ny * nz)?
        .f_add(&coarse.f_select(1, 1)?.f_mul_scalar(nz)?)?
        .f_add(&coarse.f_select(1, 2)?)?;
    let (cells, parent, counts) = code.f_unique_dim(0, true, true, true)?;
    let coords = Tensor::f_stack(
        &[
            cells.f_div_scalar_mode(ny * nz, "floor")?,
            cells.f_div_scalar_mode(nz, "floor")?.f_remainder(ny)?,
            cells.f_remainder(nz)?,
        ],
        1,
    )?;
    let feats = x.feats();
    let sums = Tensor::f_zeros([cells.size()[0], feats.size()[1]], (feats.kind(), device))?
        .f_index_add(0, &parent, feats)?;
    let mean = sums.f_div(&counts.f_add_scalar(1)?.f_unsqueeze(1)?.f_to_kind(feats.kind())?)?;
    let layout = Layout::new(&coords)?;
    let cells = cells.size()[0];
    Ok((SparseTensor::new(layout, mean)?, Pooled { fine: x.layout().clone(), parent, cells }))
}

/// The inverse of the [`downsample`] that gave `pooled`: each fine voxel takes its cell's
/// features from `x`.
pub fn upsample(x: &SparseTensor, pooled: &Pooled) -> Result<SparseTensor, tch::TchError> {
    if x.layout().len() != pooled.cells {
        return Err(tch::TchError::Shape(format!(
            "upsampling {} voxels where {} cells were pooled",
            x.layout().len(),
            pooled.cells
        )));
    }
    SparseTensor::new(pooled.fine.clone(), x.feats().f_index_select(0, &pooled.parent)?)
}

/// Every voxel replaced by its 8 children at twice the resolution, each parent's children
/// consecutive in `torch.nonzero(ones(2, 2, 2))` order (z fastest), with the parent's features.
pub fn subdivide(x: &SparseTensor) -> Result<SparseTensor, tch::TchError> {
    let device = x.feats().device();
    let children: Vec<i64> = (0..8).flat_map(|i| [i / 4, (i / 2) % 2, i % 2]).collect();
    let children = Tensor::from_slice(&children).f_reshape([1, 8, 3])?.f_to_device(device)?;
    let coords = x
        .layout()
        .coords()
        .f_mul_scalar(2)?
        .f_unsqueeze(1)?
        .f_add(&children)?
        .f_reshape([-1, 3])?;
    let feats = x.feats().f_repeat_interleave_self_int(8, Some(0), None)?;
    SparseTensor::new(Layout::new(&coords)?, feats)
}
