//! Edge → opposite-vertex map of a triangle mesh, built once per topology for [`super::antialias`].
//!
//! For triangle `t` and its edge `i` (from vertex `i+1` to `i+2`), `opposite[t][i]` is the vertex
//! of the neighbouring triangle across that edge, or `tris[t][i]` itself where the edge has no
//! neighbour (an open boundary, always a silhouette). Non-manifold edges pair the first two
//! triangles (in triangle order) and leave the rest open; degenerate triangles pair with nothing.
//!
//! Built with tensor ops on the mesh's device (sort the undirected edge keys, pair equal
//! neighbours), because DMTet's topology changes every iteration and a host round trip per
//! iteration would stall the GPU.

use tch::{Device, Kind, Tensor};

use crate::EngineError;

/// The opposite-vertex table of one mesh topology.
#[derive(Debug)]
pub struct Topology {
    /// `[T, 3]` int64 on the device it was built for.
    pub opposite: Tensor,
    triangles: i64,
}

impl Topology {
    /// Builds the table for `tris` (`[T, 3]` int32) on `device`; O(T log T).
    pub fn new(tris: &Tensor, device: Device) -> Result<Self, EngineError> {
        let t = tris.f_to_device(device)?.f_to_kind(Kind::Int64)?;
        let triangles = t.size()[0];
        if triangles == 0 {
            return Ok(Self { opposite: t, triangles });
        }
        let v = t.f_max()?.f_add_scalar(1)?; // keys: lo · V + hi
        // Edge i of each triangle runs between corners i+1 and i+2.
        let a = t.f_roll([-1], [1])?;
        let b = t.f_roll([-2], [1])?;
        let (lo, hi) = (a.f_minimum(&b)?, a.f_maximum(&b)?);
        let degenerate = t
            .f_select(1, 0)?
            .f_eq_tensor(&t.f_select(1, 1)?)?
            .f_logical_or(&t.f_select(1, 1)?.f_eq_tensor(&t.f_select(1, 2)?)?)?
            .f_logical_or(&t.f_select(1, 2)?.f_eq_tensor(&t.f_select(1, 0)?)?)?
            .f_unsqueeze(1)?
            .f_expand([triangles, 3], false)?
            .f_reshape([-1])?;
        let e = triangles * 3;
        let slot = Tensor::f_arange(e, (Kind::Int64, device))?;
        // Degenerate triangles get unique negative keys, so they never pair.
        let keys = lo
            .f_mul(&v)?
            .f_add(&hi)?
            .f_reshape([-1])?
            .f_where_self(&degenerate.f_logical_not()?, &slot.f_neg()?.f_sub_scalar(1)?)?;
        // A stable sort keeps slots of equal keys in triangle order.
        let (sorted, order) = keys.f_sort_stable(true, 0, false)?;
        let own = t.f_reshape([-1])?; // the opposite vertex of each edge slot is its own corner
        let mut opposite = own.shallow_clone();
        if e > 1 {
            let same_next =
                sorted.f_narrow(0, 0, e - 1)?.f_eq_tensor(&sorted.f_narrow(0, 1, e - 1)?)?;
            // Pair (k, k+1) only at the start of a run of equal keys: the first two triangles.
            let starts = Tensor::f_cat(
                &[
                    Tensor::f_ones([1], (Kind::Bool, device))?,
                    same_next.f_narrow(0, 0, e - 2)?.f_logical_not()?,
                ],
                0,
            )?;
            let pair = same_next.f_logical_and(&starts)?.f_nonzero()?.f_squeeze_dim(1)?;
            let first = order.f_index_select(0, &pair)?;
            let second = order.f_index_select(0, &pair.f_add_scalar(1)?)?;
            opposite = opposite
                .f_index_copy(0, &first, &own.f_index_select(0, &second)?)?
                .f_index_copy(0, &second, &own.f_index_select(0, &first)?)?;
        }
        Ok(Self { opposite: opposite.f_reshape([triangles, 3])?, triangles })
    }

    /// Number of triangles the table was built for.
    pub fn triangles(&self) -> i64 {
        self.triangles
    }
}
