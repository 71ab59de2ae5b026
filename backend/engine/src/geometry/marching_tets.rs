//! Marching tetrahedra (DMTet's surface extraction): the zero level set of a signed distance
//! field sampled at the vertices of a [`TetGrid`], as a welded triangle mesh.
//!
//! Each grid edge whose endpoints have opposite signs (negative = inside) gets one surface vertex
//! at the linear zero crossing, shared by every tetrahedron around the edge, so the mesh is
//! watertight. The crossing `p = (p_a·s_b − p_b·s_a) / (s_b − s_a)` is computed with tensor ops,
//! so positions are differentiable in both the SDF values and the (deformed) grid vertices. The
//! triangle table is derived in code from a reference tetrahedron rather than typed in: triangles
//! face from inside to outside for positively oriented tetrahedra.

use std::sync::OnceLock;

use tch::{Kind, Tensor};

use super::tet_grid::{TET_EDGES, TetGrid};
use crate::EngineError;

/// A triangle mesh on one device.
#[derive(Debug)]
pub struct TriangleMesh {
    /// `[V, 3]` positions.
    pub vertices: Tensor,
    /// `[F, 3]` int32 triangles, counter-clockwise seen from outside.
    pub triangles: Tensor,
}

/// Per inside-code (bit k set = corner k inside): up to two triangles as local edge indices,
/// −1 for unused slots.
fn triangle_table() -> &'static [[i64; 6]; 16] {
    static TABLE: OnceLock<[[i64; 6]; 16]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let corners = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0f64]];
        let midpoint = |e: usize| {
            let [a, b] = TET_EDGES[e];
            [0, 1, 2].map(|c| 0.5 * (corners[a][c] + corners[b][c]))
        };
        let mut table = [[-1i64; 6]; 16];
        for (code, row) in table.iter_mut().enumerate() {
            let inside = |v: usize| code >> v & 1 == 1;
            let crossing: Vec<usize> =
                (0..6).filter(|&e| inside(TET_EDGES[e][0]) != inside(TET_EDGES[e][1])).collect();
            // Cyclic order: consecutive crossing edges share a corner (quads: (i,k) (i,l) (j,l) (j,k)).
            let polygon: Vec<usize> = match crossing.len() {
                3 => crossing,
                4 => {
                    let (ins, outs): (Vec<usize>, Vec<usize>) = (0..4).partition(|&v| inside(v));
                    let edge = |a: usize, b: usize| {
                        (0..6).find(|&e| TET_EDGES[e] == [a.min(b), a.max(b)]).unwrap_or_default()
                    };
                    vec![
                        edge(ins[0], outs[0]),
                        edge(ins[0], outs[1]),
                        edge(ins[1], outs[1]),
                        edge(ins[1], outs[0]),
                    ]
                }
                _ => continue,
            };
            let centroid = |pick: bool| {
                let vs: Vec<usize> = (0..4).filter(|&v| inside(v) == pick).collect();
                [0, 1, 2].map(|c| vs.iter().map(|&v| corners[v][c]).sum::<f64>() / vs.len() as f64)
            };
            let (cin, cout) = (centroid(true), centroid(false));
            let outward = [0, 1, 2].map(|c| cout[c] - cin[c]);
            for (slot, tri) in [[0, 1, 2], [0, 2, 3]].iter().take(polygon.len() - 2).enumerate() {
                let mut t = tri.map(|i| polygon[i]);
                let [a, b, c] = t.map(midpoint);
                let (u, v) = ([0, 1, 2].map(|i| b[i] - a[i]), [0, 1, 2].map(|i| c[i] - a[i]));
                let n = [
                    u[1] * v[2] - u[2] * v[1],
                    u[2] * v[0] - u[0] * v[2],
                    u[0] * v[1] - u[1] * v[0],
                ];
                if n.iter().zip(outward).map(|(x, y)| x * y).sum::<f64>() < 0.0 {
                    t.swap(1, 2);
                }
                for (k, e) in t.iter().enumerate() {
                    row[3 * slot + k] = *e as i64;
                }
            }
        }
        table
    })
}

/// Extracts the surface where `sdf` (`[V]`, negative inside) crosses zero, with the grid's
/// vertices displaced to `vertices` (`[V, 3]`, e.g. DMTet's deformed grid).
pub fn marching_tets(
    grid: &TetGrid,
    vertices: &Tensor,
    sdf: &Tensor,
) -> Result<TriangleMesh, EngineError> {
    let v = grid.num_vertices();
    if sdf.size() != [v] || vertices.size() != [v, 3] {
        return Err(EngineError::InvalidArgument {
            op: "marching_tets",
            arg: "sdf",
            reason: format!(
                "expected sdf [{v}] and vertices [{v}, 3], got {:?} and {:?}",
                sdf.size(),
                vertices.size()
            ),
        });
    }
    let device = sdf.device();
    let long = (Kind::Int64, device);
    let inside = sdf.f_detach()?.f_lt(0.0)?;
    let ends = grid.edges.f_to_device(device)?;
    let (a, b) = (ends.f_select(1, 0)?, ends.f_select(1, 1)?);
    let crossing = inside.f_index_select(0, &a)?.f_ne_tensor(&inside.f_index_select(0, &b)?)?;
    let crossing_edges = crossing.f_nonzero()?.f_squeeze_dim(1)?;
    // Edge → surface vertex id (−1 where the edge does not cross).
    let edge_vertex = Tensor::f_full([grid.edges.size()[0]], -1, long)?.f_index_copy(
        0,
        &crossing_edges,
        &Tensor::f_arange(crossing_edges.size()[0], long)?,
    )?;
    let (ea, eb) = (a.f_index_select(0, &crossing_edges)?, b.f_index_select(0, &crossing_edges)?);
    let (sa, sb) =
        (sdf.f_index_select(0, &ea)?.f_unsqueeze(1)?, sdf.f_index_select(0, &eb)?.f_unsqueeze(1)?);
    let (pa, pb) = (vertices.f_index_select(0, &ea)?, vertices.f_index_select(0, &eb)?);
    let surface = pa.f_mul(&sb)?.f_sub(&pb.f_mul(&sa)?)?.f_div(&sb.f_sub(&sa)?)?;

    // Tetrahedra that straddle the surface, their inside-code and triangles.
    let tets = grid.tets.f_to_device(device)?;
    let weights = Tensor::from_slice(&[1i64, 2, 4, 8]).f_to_device(device)?;
    let code = inside
        .f_index_select(0, &tets.f_reshape([-1])?)?
        .f_reshape([-1, 4])?
        .f_to_kind(Kind::Int64)?
        .f_mul(&weights)?
        .f_sum_dim_intlist([1i64].as_slice(), false, Kind::Int64)?;
    let active = code.f_gt(0)?.f_logical_and(&code.f_lt(15)?)?.f_nonzero()?.f_squeeze_dim(1)?;
    let code = code.f_index_select(0, &active)?;
    let table = Tensor::from_slice(triangle_table().as_flattened())
        .f_reshape([16, 6])?
        .f_to_device(device)?;
    let local = table.f_index_select(0, &code)?.f_reshape([-1, 2, 3])?; // [A, 2, 3] local edges
    let tet_edges = grid.tet_edges.f_to_device(device)?.f_index_select(0, &active)?; // [A, 6]
    let used = local.f_select(2, 0)?.f_ge(0)?; // [A, 2]
    let global_edges = tet_edges.f_gather(1, &local.f_clamp_min(0)?.f_reshape([-1, 6])?, false)?;
    let tris = edge_vertex
        .f_index_select(0, &global_edges.f_reshape([-1])?)?
        .f_reshape([-1, 2, 3])?
        .f_index(&[Some(used)])?
        .f_to_kind(Kind::Int)?;
    Ok(TriangleMesh { vertices: surface, triangles: tris })
}
