//! 2D texture sampling with nvdiffrast's conventions: textures `[B, H, W, C]`, texture
//! coordinates `[B, h, w, 2]` with u along the width and v along the height, texel `(i, j)`
//! centred at `((i + ½)/W, (j + ½)/H)`, v = 0 at row 0 (no flip). Bilinear, and trilinear over a
//! box-filtered mip chain with the level of detail from the uv pixel derivatives of
//! [`super::raster::interpolate`]. Differentiable in the texture, the coordinates and the
//! derivatives (libtorch's `grid_sampler` does the bilinear taps).

use tch::{Kind, Tensor};

use super::mip::blend_levels;
use crate::EngineError;

/// How coordinates outside [0, 1] are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// Repeat the texture (nvdiffrast's default).
    Wrap,
    /// Clamp to the edge texels.
    Clamp,
    /// Zero outside.
    Zero,
}

/// Which filter to sample with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Bilinear on the full-resolution texture.
    Linear,
    /// Bilinear on the two nearest mip levels, blended (needs uv derivatives).
    LinearMipmapLinear,
}

fn invalid(arg: &'static str, reason: String) -> EngineError {
    EngineError::InvalidArgument { op: "texture", arg, reason }
}

/// A texture and its mip levels (level 0 first), each `[B, C, H, W]` as the sampler wants them.
#[derive(Debug)]
pub struct Mipmaps {
    levels: Vec<Tensor>,
}

impl Mipmaps {
    /// Builds the chain by 2×2 box filtering down to 1×1 (or `max_levels`); differentiable, so
    /// rebuild it after each optimizer step of a learned texture.
    pub fn build(texture: &Tensor, max_levels: usize) -> Result<Self, EngineError> {
        let base = check_texture(texture)?.f_permute([0, 3, 1, 2])?;
        let mut levels = vec![base];
        while levels.len() < max_levels.max(1) {
            let last = &levels[levels.len() - 1];
            let (h, w) = (last.size()[2], last.size()[3]);
            if h == 1 && w == 1 {
                break;
            }
            let (kh, kw) = (if h > 1 { 2 } else { 1 }, if w > 1 { 2 } else { 1 });
            let next = last.f_avg_pool2d([kh, kw], [kh, kw], [0, 0], true, false, None::<i64>)?;
            levels.push(next);
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

fn check_texture(texture: &Tensor) -> Result<&Tensor, EngineError> {
    if texture.dim() != 4 || texture.size()[1] == 0 || texture.size()[2] == 0 {
        return Err(invalid("tex", format!("expected [B, H, W, C], got {:?}", texture.size())));
    }
    if !matches!(texture.kind(), Kind::Float | Kind::Double) {
        return Err(invalid(
            "tex",
            format!("expected float32 or float64, got {:?}", texture.kind()),
        ));
    }
    Ok(texture)
}

/// Bilinear taps of one level `[B, C, H, W]` at `uv` `[B, h, w, 2]` → `[B, h, w, C]`.
fn sample_level(level: &Tensor, uv: &Tensor, boundary: Boundary) -> Result<Tensor, tch::TchError> {
    let (h, w) = (level.size()[2] as f64, level.size()[3] as f64);
    let (input, grid) = match boundary {
        Boundary::Wrap => {
            // One texel of wrapped border makes the bilinear taps at the seams read the far side.
            let padded = level.f_pad([1, 1, 1, 1], "circular", None)?;
            let wrapped = uv.f_sub(&uv.f_floor()?)?;
            let u = wrapped
                .f_select(3, 0)?
                .f_mul_scalar(w)?
                .f_add_scalar(1.0)?
                .f_mul_scalar(2.0 / (w + 2.0))?;
            let v = wrapped
                .f_select(3, 1)?
                .f_mul_scalar(h)?
                .f_add_scalar(1.0)?
                .f_mul_scalar(2.0 / (h + 2.0))?;
            (padded, Tensor::f_stack(&[u, v], 3)?.f_sub_scalar(1.0)?)
        }
        Boundary::Clamp | Boundary::Zero => {
            (level.shallow_clone(), uv.f_mul_scalar(2.0)?.f_sub_scalar(1.0)?)
        }
    };
    let padding_mode = if boundary == Boundary::Zero { 0 } else { 1 };
    let grid = grid.f_to_kind(input.kind())?;
    Tensor::f_grid_sampler(&input, &grid, 0, padding_mode, false)?.f_permute([0, 2, 3, 1])
}

/// Samples `mips` at `uv`; `uv_da` (`[B, h, w, 4]`: du/dx, du/dy, dv/dx, dv/dy, as `interpolate`
/// returns for the uv attribute) selects the mip level, shifted by `lod_bias` levels.
pub fn texture(
    mips: &Mipmaps,
    uv: &Tensor,
    uv_da: Option<&Tensor>,
    filter: Filter,
    boundary: Boundary,
    lod_bias: f64,
) -> Result<Tensor, EngineError> {
    let base = &mips.levels[0];
    let b = base.size()[0];
    let &[ub, h, w, 2] = uv.size().as_slice() else {
        return Err(invalid("uv", format!("expected [B, h, w, 2], got {:?}", uv.size())));
    };
    if ub != b {
        return Err(invalid("uv", format!("batch {ub} does not match the texture's {b}")));
    }
    if uv.device() != base.device() {
        return Err(invalid(
            "uv",
            format!("on {:?} but the texture is on {:?}", uv.device(), base.device()),
        ));
    }
    if filter == Filter::Linear || mips.len() == 1 {
        return Ok(sample_level(base, uv, boundary)?);
    }
    let Some(da) = uv_da else {
        return Err(invalid("uv_da", "trilinear filtering needs the uv pixel derivatives".into()));
    };
    if da.size() != [b, h, w, 4] {
        return Err(invalid("uv_da", format!("expected [{b}, {h}, {w}, 4], got {:?}", da.size())));
    }
    // Isotropic level of detail: log2 of the longer screen axis' footprint in texels.
    let (th, tw) = (base.size()[2] as f64, base.size()[3] as f64);
    let da = da.f_to_kind(uv.kind())?;
    let col = |i: i64| da.f_select(3, i);
    let (dudx, dudy, dvdx, dvdy) = (
        col(0)?.f_mul_scalar(tw)?,
        col(1)?.f_mul_scalar(tw)?,
        col(2)?.f_mul_scalar(th)?,
        col(3)?.f_mul_scalar(th)?,
    );
    let along_x = dudx.f_square()?.f_add(&dvdx.f_square()?)?;
    let along_y = dudy.f_square()?.f_add(&dvdy.f_square()?)?;
    let footprint = along_x.f_maximum(&along_y)?.f_clamp_min(1e-20)?;
    let lod = footprint.f_log2()?.f_mul_scalar(0.5)?.f_add_scalar(lod_bias)?;
    Ok(blend_levels(&lod, mips.len(), |l| sample_level(&mips.levels[l], uv, boundary))?)
}
