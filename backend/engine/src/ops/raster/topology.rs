//! Edge → opposite-vertex map of a triangle mesh, built once per topology for [`super::antialias`].
//!
//! For triangle `t` and its edge `i` (from vertex `i+1` to `i+2`), `opposite[t][i]` is the vertex
//! of the neighbouring triangle across that edge, or `tris[t][i]` itself where the edge has no
//! neighbour (an open boundary, always a silhouette). Non-manifold edges keep the first two
//! triangles seen, as nvdiffrast does.

use std::collections::HashMap;

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
    /// Builds the table for `tris` (`[T, 3]` int32); a CPU hash map, linear in T.
    pub fn new(tris: &Tensor, device: Device) -> Result<Self, EngineError> {
        let host = Vec::<i32>::try_from(tris.f_to_device(Device::Cpu)?.f_reshape([-1])?)?;
        let tris: &[[i32; 3]] = host.as_chunks::<3>().0;
        let mut edges: HashMap<(i32, i32), [i32; 2]> = HashMap::with_capacity(tris.len() * 2);
        let key = |a: i32, b: i32| (a.min(b), a.max(b));
        for tri in tris {
            if tri[0] == tri[1] || tri[1] == tri[2] || tri[2] == tri[0] {
                continue;
            }
            for i in 0..3 {
                let slot = edges.entry(key(tri[(i + 1) % 3], tri[(i + 2) % 3])).or_insert([-1, -1]);
                if slot[0] < 0 {
                    slot[0] = tri[i];
                } else if slot[1] < 0 && slot[0] != tri[i] {
                    slot[1] = tri[i];
                }
            }
        }
        let mut opposite = Vec::with_capacity(tris.len() * 3);
        for tri in tris {
            for i in 0..3 {
                let own = tri[i];
                let other =
                    edges.get(&key(tri[(i + 1) % 3], tri[(i + 2) % 3])).map_or(-1, |&[a, b]| {
                        if a == own {
                            b
                        } else if b == own {
                            a
                        } else {
                            -1
                        }
                    });
                opposite.push(i64::from(if other < 0 { own } else { other }));
            }
        }
        let triangles = tris.len() as i64;
        let opposite = Tensor::from_slice(&opposite)
            .f_reshape([triangles, 3])?
            .f_to_kind(Kind::Int64)?
            .f_to_device(device)?;
        Ok(Self { opposite, triangles })
    }

    /// Number of triangles the table was built for.
    pub fn triangles(&self) -> i64 {
        self.triangles
    }
}
