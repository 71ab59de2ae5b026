//! DMTet's geometry (Shen et al., 2021): an SDF value and a bounded offset per tet-grid vertex,
//! turned into a mesh by marching tetrahedra every iteration.

use tch::{Device, Kind, Tensor};

use super::NvdiffrecError;
use super::bounds::GridBox;
use crate::geometry::{TetGrid, TriangleMesh, marching_tets};

/// The grid and its trainable fields.
#[derive(Debug)]
pub struct Dmtet {
    /// The fixed tetrahedral grid.
    pub grid: TetGrid,
    /// `[V]` signed distance, negative inside.
    pub sdf: Tensor,
    /// `[V, 3]` unbounded offsets; the applied offset is `½ cell · tanh(deform)`, so vertices
    /// never leave their neighbourhood and tetrahedra rarely invert.
    pub deform: Tensor,
}

impl Dmtet {
    /// A grid of `resolution`³ cells over the cube `domain`, starting from a sphere of half its
    /// extent around its centre, with a little noise.
    ///
    /// nvdiffrec starts from uniform noise (`rand − 0.1`); a sphere converges to the same
    /// surfaces without first carving away the noise's closed fragments, which would otherwise
    /// linger inside the object.
    ///
    /// The SDF is stored in `units_per_cell` per cell of distance, not world units: Adam moves
    /// every value by about the learning rate per step whatever its gradient, so with true
    /// distances (a fraction of a cell next to the surface) one step flipped the signs of the
    /// surface's neighbours and the surface dissolved into fragments at fine grids (grid 64:
    /// 29k → 186k triangles in 20 iterations). In cell units a step moves the surface by a
    /// resolution-independent fraction of a cell.
    pub fn new(
        path: &tch::nn::Path<'_>,
        resolution: i64,
        domain: GridBox,
        units_per_cell: f64,
        device: Device,
    ) -> Result<Self, NvdiffrecError> {
        let extent = domain.half_extent;
        let mut grid = TetGrid::new(resolution, extent, device)?;
        let radius = grid.vertices.f_norm_scalaropt_dim(2, [1i64].as_slice(), false)?;
        let center = Tensor::from_slice(&domain.center)
            .f_to_kind(grid.vertices.kind())?
            .f_to_device(device)?;
        grid.vertices = grid.vertices.f_add(&center)?;
        let noise = Tensor::f_rand_like(&radius)?.f_sub_scalar(0.5)?.f_mul_scalar(0.2)?;
        let init = radius
            .f_sub_scalar(0.5 * extent)?
            .f_div_scalar(grid.cell_size)?
            .f_add(&noise)?
            .f_mul_scalar(units_per_cell)?;
        let sdf = path.f_var_copy("sdf", &init)?;
        let deform = path.f_zeros("deform", &[grid.num_vertices(), 3])?;
        Ok(Self { grid, sdf, deform })
    }

    /// The deformed vertex positions `[V, 3]`.
    pub fn vertices(&self) -> Result<Tensor, NvdiffrecError> {
        Ok(self
            .grid
            .vertices
            .f_add(&self.deform.f_tanh()?.f_mul_scalar(0.5 * self.grid.cell_size)?)?)
    }

    /// The current surface.
    pub fn mesh(&self) -> Result<TriangleMesh, NvdiffrecError> {
        Ok(marching_tets(&self.grid, &self.vertices()?, &self.sdf)?)
    }

    /// nvdiffrec's sign-flip regularizer: on every edge whose ends have opposite signs, binary
    /// cross-entropy pushing each end's SDF towards the other's sign. It removes floaters and
    /// keeps the zero set from wandering where no image constrains it.
    pub fn sdf_regularizer(&self) -> Result<Tensor, NvdiffrecError> {
        let edges = &self.grid.edges;
        let a = self.sdf.f_index_select(0, &edges.f_select(1, 0)?)?;
        let b = self.sdf.f_index_select(0, &edges.f_select(1, 1)?)?;
        let flip = a.f_gt(0.0)?.f_ne_tensor(&b.f_gt(0.0)?)?.f_nonzero()?.f_squeeze_dim(1)?;
        if flip.size()[0] == 0 {
            return Ok(Tensor::f_zeros([], (Kind::Float, self.sdf.device()))?);
        }
        let (a, b) = (a.f_index_select(0, &flip)?, b.f_index_select(0, &flip)?);
        let bce = |logit: &Tensor, target: &Tensor| -> Result<Tensor, tch::TchError> {
            logit.f_binary_cross_entropy_with_logits(
                &target.f_gt(0.0)?.f_to_kind(Kind::Float)?,
                None::<Tensor>,
                None::<Tensor>,
                tch::Reduction::Mean,
            )
        };
        Ok(bce(&a, &b)?.f_add(&bce(&b, &a)?)?)
    }
}
