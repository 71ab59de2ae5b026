//! CUDA visibility pass: launches the binned kernels of `kernels/rasterize.cu` on tch tensors.

use cudarc::driver::{LaunchArgs, LaunchConfig, PushKernelArg};
use tch::{Kind, Tensor};

use crate::EngineError;
use crate::kernels::{KernelError, KernelRegistry};

const TILE: i64 = 16;
const OP: &str = "rasterize";

/// The arguments every raster kernel starts with, in the kernels' order.
struct SceneArgs {
    pos: u64,
    tris: u64,
    sizes: [i32; 7], // B, V, T, H, W, tiles_x, tiles_y
}

impl SceneArgs {
    fn push<'a>(&'a self, launch: &mut LaunchArgs<'a>) {
        launch.arg(&self.pos).arg(&self.tris);
        for size in &self.sizes {
            launch.arg(size);
        }
    }
}

/// Writes triangle id + 1 per pixel into `out` (`[B, H, W]` int32, contiguous, same device).
///
/// `pos` is `[B, V, 4]` float32 and `tris` `[T, 3]` int32, both contiguous on `out`'s device and
/// already validated (indices in range).
pub(super) fn visibility(
    pos: &Tensor,
    tris: &Tensor,
    out: &Tensor,
    ordinal: usize,
) -> Result<(), EngineError> {
    let (b, v) = (pos.size()[0], pos.size()[1]);
    let t = tris.size()[0];
    let (h, w) = (out.size()[1], out.size()[2]);
    let (tiles_x, tiles_y) = ((w + TILE - 1) / TILE, (h + TILE - 1) / TILE);
    let device = out.device();
    let registry = KernelRegistry::for_device(ordinal)?;
    let stream = registry.stream();
    let launch_err = |name: &'static str| move |e| KernelError::driver(format!("launch {name}"), e);
    let as_i32 =
        |n: i64| i32::try_from(n).map_err(|_| invalid("sizes", format!("{n} exceeds int32")));
    let scene = SceneArgs {
        pos: pos.data_ptr() as u64,
        tris: tris.data_ptr() as u64,
        sizes: [
            as_i32(b)?,
            as_i32(v)?,
            as_i32(t)?,
            as_i32(h)?,
            as_i32(w)?,
            as_i32(tiles_x)?,
            as_i32(tiles_y)?,
        ],
    };

    let tile_counts = Tensor::f_zeros([b * tiles_x * tiles_y], (Kind::Int, device))?;
    let counts_ptr = tile_counts.data_ptr() as u64;
    let per_triangle = LaunchConfig::for_num_elems(
        u32::try_from(b * t)
            .map_err(|_| invalid("tris", "batch × triangles exceeds 2³²".into()))?,
    );
    if b * t > 0 {
        let f = registry.function("raster_bin_count")?;
        let mut l = stream.launch_builder(f);
        scene.push(&mut l);
        l.arg(&counts_ptr);
        // SAFETY: buffers are live, contiguous and sized as the kernel indexes them (checked by caller).
        unsafe { l.launch(per_triangle) }.map_err(launch_err("raster_bin_count"))?;
    }
    let inclusive = tile_counts.f_cumsum(0, Kind::Int64)?;
    let total = if inclusive.numel() > 0 { inclusive.f_int64_value(&[-1])? } else { 0 };
    if total > i64::from(i32::MAX) {
        return Err(invalid("tris", format!("{total} triangle-tile pairs exceed int32 offsets")));
    }
    let offsets = inclusive.f_sub(&tile_counts)?.f_to_kind(Kind::Int)?;
    let cursor = Tensor::f_zeros([b * tiles_x * tiles_y], (Kind::Int, device))?;
    let tile_tris = Tensor::f_empty([total.max(1)], (Kind::Int, device))?;
    let (offsets_ptr, cursor_ptr, list_ptr, out_ptr) = (
        offsets.data_ptr() as u64,
        cursor.data_ptr() as u64,
        tile_tris.data_ptr() as u64,
        out.data_ptr() as u64,
    );
    if total > 0 {
        let f = registry.function("raster_bin_fill")?;
        let mut l = stream.launch_builder(f);
        scene.push(&mut l);
        l.arg(&offsets_ptr).arg(&cursor_ptr).arg(&list_ptr);
        // SAFETY: as above; `tile_tris` holds exactly `total` slots, the sum of the counts.
        unsafe { l.launch(per_triangle) }.map_err(launch_err("raster_bin_fill"))?;
    }
    if b * h * w > 0 {
        let f = registry.function("raster_tiles")?;
        let mut l = stream.launch_builder(f);
        scene.push(&mut l);
        l.arg(&offsets_ptr).arg(&counts_ptr).arg(&list_ptr).arg(&out_ptr);
        let config = LaunchConfig {
            grid_dim: (tiles_x as u32, tiles_y as u32, b as u32),
            block_dim: (TILE as u32, TILE as u32, 1),
            shared_mem_bytes: 0,
        };
        // SAFETY: `out` is [B, H, W] int32; every in-image pixel is written exactly once.
        unsafe { l.launch(config) }.map_err(launch_err("raster_tiles"))?;
    }
    Ok(())
}

fn invalid(arg: &'static str, reason: String) -> EngineError {
    EngineError::InvalidArgument { op: OP, arg, reason }
}
