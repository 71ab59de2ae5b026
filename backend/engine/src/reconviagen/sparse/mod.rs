//! Sparse voxel tensors for TRELLIS's structured latents: the active voxels of one object
//! (`coords` `[M, 3]` int64, x y z) and their features (`feats` `[M, C]`). The pipeline
//! reconstructs one object at a time, so there is no batch column; the reference's `[M, 4]`
//! coordinates (batch first) convert at the edges. Voxel order is the reference's, so that
//! results compare row by row. Everything a layer derives from the coordinates alone — the
//! neighbour map of the convolutions, the attention windows — is computed once per coordinate
//! set and shared by every tensor on it, as the reference's spatial cache does.

pub mod conv;
pub mod neighbours;
pub mod norm;
pub mod position;
pub mod resample;
pub mod window;

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use tch::{Kind, Tensor};

use self::window::Partition;

/// The coordinates of a sparse tensor and what is derived from them.
#[derive(Debug)]
pub struct Layout {
    coords: Tensor,
    neighbours: OnceCell<Tensor>,
    windows: RefCell<HashMap<(i64, i64), Rc<Partition>>>,
}

impl Layout {
    /// `coords` `[M, 3]`, any integer kind, on the features' device.
    pub fn new(coords: &Tensor) -> Result<Rc<Self>, tch::TchError> {
        let size = coords.size();
        if size.len() != 2 || size[1] != 3 {
            return Err(tch::TchError::Shape(format!(
                "sparse coordinates are [M, 3] (x, y, z), got {size:?}"
            )));
        }
        Ok(Rc::new(Self {
            coords: coords.f_to_kind(Kind::Int64)?,
            neighbours: OnceCell::new(),
            windows: RefCell::new(HashMap::new()),
        }))
    }

    /// From the reference's `[M, 4]` coordinates (batch, x, y, z) of one object (batch 0), on
    /// `device`.
    pub fn from_batched(coords: &Tensor, device: tch::Device) -> Result<Rc<Self>, tch::TchError> {
        let size = coords.size();
        if size.len() != 2 || size[1] != 4 {
            return Err(tch::TchError::Shape(format!(
                "batched coordinates are [M, 4], got {size:?}"
            )));
        }
        let batch = coords.f_select(1, 0)?;
        if size[0] > 0 && batch.f_abs()?.f_max()?.f_int64_value(&[])? != 0 {
            return Err(tch::TchError::Shape("more than one object in a sparse batch".into()));
        }
        Self::new(&coords.f_narrow(1, 1, 3)?.f_to_device(device)?)
    }

    /// `[M, 3]` int64.
    pub fn coords(&self) -> &Tensor {
        &self.coords
    }

    /// Number of voxels.
    pub fn len(&self) -> i64 {
        self.coords.size()[0]
    }

    /// No voxels.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The 3×3×3 neighbour map (see [`neighbours::neighbour_map`]), computed on first use.
    pub fn neighbours(&self) -> Result<&Tensor, tch::TchError> {
        if let Some(map) = self.neighbours.get() {
            return Ok(map);
        }
        let map = neighbours::neighbour_map(&self.coords)?;
        Ok(self.neighbours.get_or_init(|| map))
    }

    /// The attention windows of side `size` shifted by `shift`, computed on first use.
    pub fn windows(&self, size: i64, shift: i64) -> Result<Rc<Partition>, tch::TchError> {
        if let Some(p) = self.windows.borrow().get(&(size, shift)) {
            return Ok(p.clone());
        }
        let partition = Rc::new(Partition::new(&self.coords, size, shift)?);
        self.windows.borrow_mut().insert((size, shift), partition.clone());
        Ok(partition)
    }
}

/// Features on a [`Layout`].
#[derive(Debug)]
pub struct SparseTensor {
    layout: Rc<Layout>,
    feats: Tensor,
}

impl SparseTensor {
    /// `feats` `[M, C]` on `layout`.
    pub fn new(layout: Rc<Layout>, feats: Tensor) -> Result<Self, tch::TchError> {
        if feats.dim() != 2 || feats.size()[0] != layout.len() {
            return Err(tch::TchError::Shape(format!(
                "{} voxels but features {:?}",
                layout.len(),
                feats.size()
            )));
        }
        Ok(Self { layout, feats })
    }

    /// From the reference's layout: `coords` `[M, 4]` (batch, x, y, z) of one object (batch 0).
    pub fn from_batched(coords: &Tensor, feats: Tensor) -> Result<Self, tch::TchError> {
        Self::new(Layout::from_batched(coords, feats.device())?, feats)
    }

    /// The reference's `[M, 4]` int32 coordinates (batch 0 first), for comparisons.
    pub fn batched_coords(&self) -> Result<Tensor, tch::TchError> {
        let zeros = self.layout.coords.f_narrow(1, 0, 1)?.f_zeros_like()?;
        Tensor::f_cat(&[zeros, self.layout.coords.shallow_clone()], 1)?.f_to_kind(Kind::Int)
    }

    /// The coordinates and what is derived from them.
    pub fn layout(&self) -> &Rc<Layout> {
        &self.layout
    }

    /// `[M, C]`.
    pub fn feats(&self) -> &Tensor {
        &self.feats
    }

    /// The same voxels with other features (`replace` in the reference).
    pub fn with_feats(&self, feats: Tensor) -> Result<Self, tch::TchError> {
        Self::new(self.layout.clone(), feats)
    }
}
