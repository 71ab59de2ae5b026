//! A Kuhn-subdivided cube grid: every cell of a `res³` grid is split into six tetrahedra around
//! its main diagonal. All cells use the same diagonal, so faces match between neighbours (the
//! grid is conforming) and marching tetrahedra over it yields a watertight surface. Generated in
//! code, so any resolution is available without data files.

use tch::{Device, Kind, Tensor};

use crate::EngineError;

/// The six edges of a tetrahedron by local vertex pairs; marching tets indexes edges this way.
pub const TET_EDGES: [[usize; 2]; 6] = [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]];

/// Vertices, tetrahedra and edges of a grid over the cube `[-half_extent, half_extent]³`.
#[derive(Debug)]
pub struct TetGrid {
    /// Cells per axis.
    pub resolution: i64,
    /// Edge length of a cell in world units.
    pub cell_size: f64,
    /// `[V, 3]` float32 vertex positions.
    pub vertices: Tensor,
    /// `[T, 4]` int64, every tetrahedron positively oriented.
    pub tets: Tensor,
    /// `[E, 2]` int64 unique edges (lower index first).
    pub edges: Tensor,
    /// `[T, 6]` int64: the index in `edges` of each tetrahedron's edge, in [`TET_EDGES`] order.
    pub tet_edges: Tensor,
}

impl TetGrid {
    /// Builds the grid with `resolution` cells per axis on `device`.
    pub fn new(resolution: i64, half_extent: f64, device: Device) -> Result<Self, EngineError> {
        if !((1..=512).contains(&resolution) && half_extent > 0.0 && half_extent.is_finite()) {
            return Err(EngineError::InvalidArgument {
                op: "tet_grid",
                arg: "resolution",
                reason: format!(
                    "need 1..=512 cells and a positive extent, got {resolution}, {half_extent}"
                ),
            });
        }
        let n = resolution + 1;
        let cell_size = 2.0 * half_extent / resolution as f64;
        let long = (Kind::Int64, device);
        // Vertex (i, j, k) has index (i·n + j)·n + k.
        let axis = Tensor::f_arange(n, long)?;
        let grid = Tensor::f_meshgrid_indexing(&[&axis, &axis, &axis], "ij")?;
        let ijk = Tensor::f_stack(&grid, 3)?.f_reshape([-1, 3])?;
        let vertices =
            ijk.f_to_kind(Kind::Float)?.f_mul_scalar(cell_size)?.f_sub_scalar(half_extent)?;
        let cells = Tensor::f_arange(resolution, long)?;
        let grid = Tensor::f_meshgrid_indexing(&[&cells, &cells, &cells], "ij")?;
        let origin = Tensor::f_stack(&grid, 3)?.f_reshape([-1, 1, 1, 3])?; // [C, 1, 1, 3]
        let corners = origin
            .f_add(&Tensor::from_slice(&kuhn_offsets()).f_view([1, 6, 4, 3])?.f_to(device)?)?;
        let index = |c: i64| corners.f_select(3, c);
        let tets = index(0)?
            .f_mul_scalar(n * n)?
            .f_add(&index(1)?.f_mul_scalar(n)?)?
            .f_add(&index(2)?)?
            .f_reshape([-1, 4])?;
        // Unique edges: sort each tetrahedron's six vertex pairs, key them, deduplicate.
        let pairs = Tensor::from_slice(
            TET_EDGES.as_flattened().iter().map(|&v| v as i64).collect::<Vec<_>>().as_slice(),
        )
        .f_to(device)?;
        let all = tets.f_index_select(1, &pairs)?.f_reshape([-1, 6, 2])?;
        let (lo, hi) =
            (all.f_amin([2i64].as_slice(), false)?, all.f_amax([2i64].as_slice(), false)?);
        let v = n * n * n;
        let keys = lo.f_mul_scalar(v)?.f_add(&hi)?.f_reshape([-1])?;
        let (unique, inverse, _) = keys.f_unique_dim(0, true, true, false)?;
        let edges =
            Tensor::f_stack(&[unique.f_div_scalar_mode(v, "floor")?, unique.f_remainder(v)?], 1)?;
        Ok(Self {
            resolution,
            cell_size,
            vertices,
            tets,
            edges,
            tet_edges: inverse.f_reshape([-1, 6])?,
        })
    }

    /// Number of vertices.
    pub fn num_vertices(&self) -> i64 {
        self.vertices.size()[0]
    }
}

/// Corner offsets `[6 tets][4 corners][xyz]` of a cell's Kuhn tetrahedra: one per axis order,
/// walking from corner 000 to 111, with two corners swapped where the order is an odd permutation
/// so every tetrahedron has positive volume.
fn kuhn_offsets() -> Vec<i64> {
    const ORDERS: [[usize; 3]; 6] =
        [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
    let mut out = Vec::with_capacity(6 * 4 * 3);
    for order in ORDERS {
        let mut corner = [0i64; 3];
        let mut tet = [[0i64; 3]; 4];
        for (step, &axis) in order.iter().enumerate() {
            corner[axis] += 1;
            tet[step + 1] = corner;
        }
        if odd(order) {
            tet.swap(2, 3);
        }
        out.extend(tet.as_flattened());
    }
    out
}

fn odd(order: [usize; 3]) -> bool {
    let inversions = (0..3)
        .flat_map(|a| (a + 1..3).map(move |b| (a, b)))
        .filter(|&(a, b)| order[a] > order[b])
        .count();
    inversions % 2 == 1
}

/// Signed volumes ×6 of `tets` over `vertices` (positive for every tetrahedron of a fresh grid).
pub fn signed_volumes(vertices: &Tensor, tets: &Tensor) -> Result<Tensor, EngineError> {
    let corner = |i: i64| -> Result<Tensor, tch::TchError> {
        vertices.f_index_select(0, &tets.f_select(1, i)?)
    };
    let p0 = corner(0)?;
    let (a, b, c) = (corner(1)?.f_sub(&p0)?, corner(2)?.f_sub(&p0)?, corner(3)?.f_sub(&p0)?);
    Ok(a.f_linalg_cross(&b, -1)?.f_mul(&c)?.f_sum_dim_intlist(
        [1i64].as_slice(),
        false,
        Kind::Float,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_parity() {
        assert!(!odd([0, 1, 2]) && odd([0, 2, 1]) && odd([1, 0, 2]) && !odd([1, 2, 0]));
    }
}
