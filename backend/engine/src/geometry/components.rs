//! Connected components of a triangle mesh and sub-meshes by triangle selection.

use tch::{Device, Kind, Tensor};

use super::TriangleMesh;
use crate::EngineError;

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// Component label per triangle (triangles sharing a vertex are connected), `[F]` int64 on
/// the CPU, labels in `0..count`. Union-find over vertices, near-linear in the mesh size.
pub fn triangle_components(
    triangles: &Tensor,
    vertices: i64,
) -> Result<(Tensor, i64), EngineError> {
    let tris = Vec::<i64>::try_from(
        triangles.f_to_kind(Kind::Int64)?.f_to_device(Device::Cpu)?.f_reshape([-1])?,
    )?;
    let mut parent: Vec<usize> = (0..vertices.max(0) as usize).collect();
    for t in tris.chunks_exact(3) {
        let a = find(&mut parent, t[0] as usize);
        for &v in &t[1..] {
            let b = find(&mut parent, v as usize);
            if a != b {
                parent[b] = a;
            }
        }
    }
    let mut label = vec![-1i64; parent.len()];
    let mut count = 0;
    let labels: Vec<i64> = tris
        .chunks_exact(3)
        .map(|t| {
            let root = find(&mut parent, t[0] as usize);
            if label[root] < 0 {
                label[root] = count;
                count += 1;
            }
            label[root]
        })
        .collect();
    Ok((Tensor::from_slice(&labels), count))
}

/// The triangles where `keep` (`[F]` bool) is set, with unused vertices dropped and the rest
/// renumbered in order.
pub fn select_triangles(mesh: &TriangleMesh, keep: &Tensor) -> Result<TriangleMesh, EngineError> {
    let device = mesh.vertices.device();
    let index = keep.f_to_device(device)?.f_nonzero()?.f_squeeze_dim(1)?;
    let tris = mesh.triangles.f_to_kind(Kind::Int64)?.f_index_select(0, &index)?;
    let v = mesh.vertices.size()[0];
    let used = Tensor::f_zeros([v], (Kind::Int64, device))?
        .f_index_fill(0, &tris.f_reshape([-1])?, 1)?
        .f_gt(0)?;
    let kept = used.f_nonzero()?.f_squeeze_dim(1)?;
    let remap = Tensor::f_full([v], -1, (Kind::Int64, device))?.f_index_copy(
        0,
        &kept,
        &Tensor::f_arange(kept.size()[0], (Kind::Int64, device))?,
    )?;
    let triangles = remap
        .f_index_select(0, &tris.f_reshape([-1])?)?
        .f_reshape([-1, 3])?
        .f_to_kind(Kind::Int)?;
    Ok(TriangleMesh { vertices: mesh.vertices.f_index_select(0, &kept)?, triangles })
}
