//! Cube map sampling with nvdiffrast's (OpenGL's) face layout: textures `[B, 6, H, W, C]` with
//! faces +x, −x, +y, −y, +z, −z; directions `[B, h, w, 3]`, not necessarily unit length.
//!
//! Seams: a bilinear tap that falls off its face is re-projected through its 3D direction onto
//! the neighbouring face, so filtering is continuous across cube edges (at corners the tap lands
//! on the nearest of the three faces). Where each tap lands depends only on the face size, so it
//! is tabulated once per size; the taps are gathered with tensor ops, so the result is
//! differentiable in the texture and in the directions. Mip levels are per-face box filters; a
//! per-pixel level (`lod`) picks and blends two of them, as the split-sum light's prefiltered
//! levels need.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use tch::{Kind, Tensor};

use super::mip::blend_levels;
use crate::EngineError;
use crate::ops::gather::gather_rows;

fn invalid(arg: &'static str, reason: String) -> EngineError {
    EngineError::InvalidArgument { op: "texture_cube", arg, reason }
}

/// A cube map and its mip levels (level 0 first), each `[B, 6, H, W, C]`.
#[derive(Debug)]
pub struct CubeMipmaps {
    levels: Vec<Tensor>,
}

impl CubeMipmaps {
    /// Builds the chain by 2×2 box filtering each face down to 1×1 (or `max_levels`).
    pub fn build(cube: &Tensor, max_levels: usize) -> Result<Self, EngineError> {
        let &[b, 6, h, w, c] = cube.size().as_slice() else {
            return Err(invalid("tex", format!("expected [B, 6, H, W, C], got {:?}", cube.size())));
        };
        if h != w || h == 0 {
            return Err(invalid(
                "tex",
                format!("cube faces must be square and non-empty, got {h}×{w}"),
            ));
        }
        if !matches!(cube.kind(), Kind::Float | Kind::Double) {
            return Err(invalid(
                "tex",
                format!("expected float32 or float64, got {:?}", cube.kind()),
            ));
        }
        let mut levels = vec![cube.shallow_clone()];
        let mut size = h;
        while levels.len() < max_levels.max(1) && size > 1 {
            let last = &levels[levels.len() - 1];
            let faces = last.f_reshape([b * 6, size, size, c])?.f_permute([0, 3, 1, 2])?;
            let next = faces.f_avg_pool2d([2, 2], [2, 2], [0, 0], true, false, None::<i64>)?;
            size = next.size()[2];
            levels.push(next.f_permute([0, 2, 3, 1])?.f_reshape([b, 6, size, size, c])?);
        }
        Ok(Self { levels })
    }

    /// A chain from given levels (e.g. prefiltered ones), level 0 first, each `[B, 6, S, S, C]`.
    pub fn from_levels(levels: Vec<Tensor>) -> Result<Self, EngineError> {
        if levels.is_empty() {
            return Err(invalid("tex", "no levels".into()));
        }
        for level in &levels {
            let size = level.size();
            if size.len() != 5 || size[1] != 6 || size[2] != size[3] {
                return Err(invalid(
                    "tex",
                    format!("expected [B, 6, S, S, C] levels, got {size:?}"),
                ));
            }
        }
        Ok(Self { levels })
    }

    /// Number of levels.
    pub fn len(&self) -> usize {
        self.levels.len()
    }

    /// True when there are no levels (never, after `build`).
    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }
}

/// Face index and face coordinates (s, t) ∈ [0, 1]² of directions `[N, 3]`, as OpenGL defines
/// them: the major axis picks the face (ties go to z, then y... as nvdiffrast orders them).
fn face_coordinates(dir: &Tensor) -> Result<(Tensor, Tensor, Tensor), tch::TchError> {
    let (x, y, z) = (dir.f_select(1, 0)?, dir.f_select(1, 1)?, dir.f_select(1, 2)?);
    let (ax, ay, az) = (x.f_abs()?, y.f_abs()?, z.f_abs()?);
    let z_major = az.f_gt_tensor(&ax.f_maximum(&ay)?)?;
    let y_major = z_major.f_logical_not()?.f_logical_and(&ay.f_gt_tensor(&ax)?)?;
    let x_major = z_major.f_logical_or(&y_major)?.f_logical_not()?;
    // Per face (+x, −x, +y, −y, +z, −z): (major, s numerator, t numerator).
    let major = x.f_where_self(&x_major, &y.f_where_self(&y_major, &z)?)?;
    let negative = major.f_lt(0.0)?.f_to_kind(Kind::Int64)?;
    let axis = y_major
        .f_to_kind(Kind::Int64)?
        .f_mul_scalar(2)?
        .f_add(&z_major.f_to_kind(Kind::Int64)?.f_mul_scalar(4)?)?;
    let face = axis.f_add(&negative)?;
    let sign = major.f_sign()?; // ±1 of the major axis
    let m = major.f_abs()?.f_mul_scalar(2.0)?;
    // s: +x → −z, −x → +z, ±y → +x, +z → +x, −z → −x; t: ±x → −y, +y → +z, −y → −z, ±z → −y.
    let s_num = z
        .f_neg()?
        .f_mul(&sign)?
        .f_where_self(&x_major, &x.f_where_self(&y_major, &x.f_mul(&sign)?)?)?;
    let t_num =
        y.f_neg()?.f_where_self(&x_major, &z.f_mul(&sign)?.f_where_self(&y_major, &y.f_neg()?)?)?;
    // Zero or non-finite directions land mid-face (and are zeroed by the caller), never on an
    // out-of-range index.
    let unit = |num: &Tensor| -> Result<Tensor, tch::TchError> {
        num.f_div(&m)?
            .f_add_scalar(0.5)?
            .f_nan_to_num(Some(0.5), Some(0.5), Some(0.5))?
            .f_clamp(0.0, 1.0)
    };
    Ok((face, unit(&s_num)?, unit(&t_num)?))
}

/// The direction through face coordinates (s, t) of `face` (inverse of [`face_coordinates`]).
fn face_direction(face: &Tensor, s: &Tensor, t: &Tensor) -> Result<Tensor, tch::TchError> {
    let (a, b) = (s.f_mul_scalar(2.0)?.f_sub_scalar(1.0)?, t.f_mul_scalar(2.0)?.f_sub_scalar(1.0)?);
    let one = a.f_ones_like()?;
    let rows = [
        [one.shallow_clone(), b.f_neg()?, a.f_neg()?], // +x: s = −z, t = −y
        [one.f_neg()?, b.f_neg()?, a.shallow_clone()], // −x: s = +z, t = −y
        [a.shallow_clone(), one.shallow_clone(), b.shallow_clone()], // +y: s = +x, t = +z
        [a.shallow_clone(), one.f_neg()?, b.f_neg()?], // −y: s = +x, t = −z
        [a.shallow_clone(), b.f_neg()?, one.shallow_clone()], // +z: s = +x, t = −y
        [a.f_neg()?, b.f_neg()?, one.f_neg()?],        // −z: s = −x, t = −y
    ];
    let mut out = Tensor::f_stack(&rows[0], 1)?;
    for (f, row) in rows.iter().enumerate().skip(1) {
        out = Tensor::f_stack(row, 1)?.f_where_self(&face.f_eq(f as i64)?.f_unsqueeze(1)?, &out)?;
    }
    Ok(out)
}

/// Unit directions through the texel centres of a cube map with `size`² texels per face:
/// `[6, size, size, 3]` float64 (rows follow t, columns s, as the sampler indexes them).
pub fn texel_directions(size: i64, device: tch::Device) -> Result<Tensor, EngineError> {
    let centres = Tensor::f_arange(size, (Kind::Double, device))?
        .f_add_scalar(0.5)?
        .f_div_scalar(size as f64)?;
    let grid = Tensor::f_meshgrid_indexing(&[&centres, &centres], "ij")?; // [t, s]
    let (t, s) = (grid[0].f_reshape([1, -1])?, grid[1].f_reshape([1, -1])?);
    let face = Tensor::f_arange(6, (Kind::Int64, device))?
        .f_unsqueeze(1)?
        .f_expand([6, size * size], false)?;
    let (s, t) = (s.f_expand([6, size * size], false)?, t.f_expand([6, size * size], false)?);
    let dir = face_direction(&face.f_reshape([-1])?, &s.f_reshape([-1])?, &t.f_reshape([-1])?)?;
    let unit = dir.f_div(&dir.f_norm_scalaropt_dim(2, [1i64].as_slice(), true)?)?;
    Ok(unit.f_reshape([6, size, size, 3])?)
}

/// Face index and coordinates of a set of directions, shared by every level they sample.
struct FaceCoordinates {
    face: Tensor,
    s: Tensor,
    t: Tensor,
}

/// For a face of `size`² texels: `[6 · (size + 2)²]` int64, the texel `(face · size + row) ·
/// size + column` that a bilinear tap reads at each position of the face with a one-texel
/// border (rows and columns −1 ..= size), border taps re-projected through their 3D direction
/// onto the neighbouring face. The table depends only on the size, so it is built once per size
/// and device instead of re-projecting four taps of every pixel at every lookup.
fn tap_table(size: i64, device: tch::Device) -> Result<Tensor, tch::TchError> {
    type Tables = Mutex<HashMap<(i64, tch::Device), Tensor>>;
    static TABLES: OnceLock<Tables> = OnceLock::new();
    let tables = TABLES.get_or_init(Default::default);
    let mut guard = tables.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(table) = guard.get(&(size, device)) {
        return Ok(table.shallow_clone());
    }
    let sf = size as f64;
    let padded = size + 2;
    let double = (Kind::Double, tch::Device::Cpu);
    let face = Tensor::f_arange(6, (Kind::Int64, tch::Device::Cpu))?.f_repeat_interleave_self_int(
        padded * padded,
        None,
        None::<i64>,
    )?;
    let offsets = Tensor::f_arange_start(-1, size + 1, double)?;
    let grid = Tensor::f_meshgrid_indexing(&[&offsets, &offsets], "ij")?; // [row, column]
    let (row, column) =
        (grid[0].f_reshape([-1])?.f_repeat([6])?, grid[1].f_reshape([-1])?.f_repeat([6])?);
    let centre_s = column.f_add_scalar(0.5)?.f_div_scalar(sf)?;
    let centre_t = row.f_add_scalar(0.5)?.f_div_scalar(sf)?;
    let (tap_face, tap_s, tap_t) = face_coordinates(&face_direction(&face, &centre_s, &centre_t)?)?;
    let texel = |u: &Tensor| -> Result<Tensor, tch::TchError> {
        u.f_mul_scalar(sf)?.f_floor()?.f_clamp(0.0, sf - 1.0)?.f_to_kind(Kind::Int64)
    };
    let table = tap_face
        .f_mul_scalar(size)?
        .f_add(&texel(&tap_t)?)?
        .f_mul_scalar(size)?
        .f_add(&texel(&tap_s)?)?
        .f_to_device(device)?;
    guard.insert((size, device), table.shallow_clone());
    Ok(table)
}

/// Bilinear sample of one level `[B, 6, S, S, C]` at directions (as `coordinates`, `[N]` each)
/// of batch items `batch`.
fn sample_level(
    level: &Tensor,
    coordinates: &FaceCoordinates,
    batch: &Tensor,
) -> Result<Tensor, tch::TchError> {
    let (size, c) = (level.size()[2], level.size()[4]);
    let sf = size as f64;
    let x = coordinates.s.f_mul_scalar(sf)?.f_sub_scalar(0.5)?;
    let y = coordinates.t.f_mul_scalar(sf)?.f_sub_scalar(0.5)?;
    let (x0, y0) = (x.f_floor()?.f_detach()?, y.f_floor()?.f_detach()?);
    let (fx, fy) = (x.f_sub(&x0)?, y.f_sub(&y0)?);
    let table = level.f_reshape([-1, c])?;
    let taps = tap_table(size, level.device())?;
    let padded = size + 2;
    // The tap (0, 0) in the bordered face: x0, y0 ∈ [−1, size − 1] as s, t ∈ [0, 1].
    let corner = coordinates
        .face
        .f_mul_scalar(padded * padded)?
        .f_add(&y0.f_add_scalar(1.0)?.f_to_kind(Kind::Int64)?.f_mul_scalar(padded)?)?
        .f_add(&x0.f_add_scalar(1.0)?.f_to_kind(Kind::Int64)?)?;
    let first_texel = batch.f_mul_scalar(6 * size * size)?;
    let mut out: Option<Tensor> = None;
    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
        let texel = taps.f_index_select(0, &corner.f_add_scalar(dy * padded + dx)?)?;
        let index = first_texel.f_add(&texel)?;
        let wx = if dx == 0 { fx.f_neg()?.f_add_scalar(1.0)? } else { fx.shallow_clone() };
        let wy = if dy == 0 { fy.f_neg()?.f_add_scalar(1.0)? } else { fy.shallow_clone() };
        // Many pixels read the same few texels of the small prefiltered levels: see gather_rows.
        let term = gather_rows(&table, &index)?
            .f_mul(&wx.f_mul(&wy)?.f_unsqueeze(1)?.f_to_kind(table.kind())?)?;
        out = Some(match out {
            None => term,
            Some(acc) => acc.f_add(&term)?,
        });
    }
    out.ok_or(tch::TchError::Kind("no taps".into()))
}

/// Samples `mips` in directions `dir` (`[B, h, w, 3]`) → `[B, h, w, C]`; `lod` (`[B, h, w]`,
/// clamped to the chain) blends the two nearest levels, `None` samples level 0 bilinearly.
pub fn texture_cube(
    mips: &CubeMipmaps,
    dir: &Tensor,
    lod: Option<&Tensor>,
) -> Result<Tensor, EngineError> {
    let base = &mips.levels[0];
    let (b, c) = (base.size()[0], base.size()[4]);
    let &[db, h, w, 3] = dir.size().as_slice() else {
        return Err(invalid("dir", format!("expected [B, h, w, 3], got {:?}", dir.size())));
    };
    if db != b {
        return Err(invalid("dir", format!("batch {db} does not match the cube's {b}")));
    }
    if dir.device() != base.device() {
        return Err(invalid(
            "dir",
            format!("on {:?} but the cube map is on {:?}", dir.device(), base.device()),
        ));
    }
    if let Some(lod) = lod
        && lod.size() != [b, h, w]
    {
        return Err(invalid("lod", format!("expected [{b}, {h}, {w}], got {:?}", lod.size())));
    }
    let n = b * h * w;
    let flat_dir = dir.f_reshape([n, 3])?;
    let batch = Tensor::f_arange(b, (Kind::Int64, dir.device()))?.f_repeat_interleave_self_int(
        h * w,
        None,
        None::<i64>,
    )?;
    // Directions with no defined face sample to zero.
    let valid = flat_dir
        .f_isfinite()?
        .f_all_dim(1, false)?
        .f_logical_and(&flat_dir.f_abs()?.f_amax([1i64].as_slice(), false)?.f_gt(0.0)?)?;
    let flat_dir = flat_dir.f_nan_to_num(Some(0.0), Some(0.0), Some(0.0))?;
    let (face, s, t) = face_coordinates(&flat_dir)?;
    let coordinates = FaceCoordinates { face, s, t };
    let result = match lod {
        None => sample_level(base, &coordinates, &batch)?,
        Some(lod) => blend_levels(&lod.f_reshape([n])?, mips.len(), |l| {
            sample_level(&mips.levels[l], &coordinates, &batch)
        })?,
    };
    let result = result.f_mul(&valid.f_unsqueeze(1)?.f_to_kind(result.kind())?)?;
    Ok(result.f_reshape([b, h, w, c])?)
}
