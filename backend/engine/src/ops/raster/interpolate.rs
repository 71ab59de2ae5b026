//! Per-pixel attribute interpolation: gather the triangle's three vertex attributes and blend
//! them with the barycentrics, as tensor ops (differentiable in attributes and, through `rast`,
//! in positions).

use tch::{Kind, Tensor};

use super::barycentric::covered_pixels;
use crate::EngineError;

/// Output of [`interpolate`].
#[derive(Debug)]
pub struct Interpolated {
    /// `[B, H, W, C]`, zero on background pixels.
    pub out: Tensor,
    /// `[B, H, W, 2C]`: (∂/∂x, ∂/∂y) per attribute in pixels, when `rast_db` was given.
    pub out_da: Option<Tensor>,
}

fn invalid(arg: &'static str, reason: String) -> EngineError {
    EngineError::InvalidArgument { op: "interpolate", arg, reason }
}

/// Interpolates `attr` (`[V, C]`, or `[B, V, C]` per image) over `rast` (`[B, H, W, 4]` from
/// [`super::rasterize`]) for `tris` `[T, 3]`; with `rast_db`, also the screen-space derivatives.
pub fn interpolate(
    attr: &Tensor,
    rast: &Tensor,
    tris: &Tensor,
    rast_db: Option<&Tensor>,
) -> Result<Interpolated, EngineError> {
    let &[b, h, w, 4] = rast.size().as_slice() else {
        return Err(invalid("rast", format!("expected [B, H, W, 4], got {:?}", rast.size())));
    };
    let (per_image, v, c) = match attr.size().as_slice() {
        &[v, c] => (false, v, c),
        &[ab, v, c] if ab == b => (true, v, c),
        shape => {
            return Err(invalid("attr", format!("expected [V, C] or [{b}, V, C], got {shape:?}")));
        }
    };
    if !matches!(attr.kind(), Kind::Float | Kind::Double) {
        return Err(invalid("attr", format!("expected float32 or float64, got {:?}", attr.kind())));
    }
    if attr.device() != rast.device() {
        return Err(invalid(
            "attr",
            format!("on {:?} but rast is on {:?}", attr.device(), rast.device()),
        ));
    }
    super::visibility::check_triangles("interpolate", tris, v, rast.device())?;
    let ids = rast.f_select(3, 3)?.f_round()?.f_to_kind(Kind::Int64)?;
    let t = tris.size()[0];
    if ids.numel() > 0 {
        let (lo, hi) = ids.f_aminmax(None::<i64>, false)?;
        let range = Vec::<i64>::try_from(Tensor::f_stack(&[lo, hi], 0)?)?;
        if range[0] < 0 || range[1] > t {
            return Err(invalid("rast", format!("triangle ids outside 0..={t}")));
        }
    }
    if let (Some(ordinal), None) = (super::fused::fused_device(attr), rast_db) {
        let attr = if per_image { attr.shallow_clone() } else { attr.f_unsqueeze(0)? };
        let out = super::fused::interpolate::interpolate(&attr, rast, tris, ordinal)?;
        return Ok(Interpolated { out, out_da: None });
    }
    let kind = attr.kind();
    let (covered, tri) = covered_pixels(&ids)?;
    let n = covered.size()[0];
    let uv = rast.f_reshape([-1, 4])?.f_index_select(0, &covered)?.f_to_kind(kind)?;
    let (u, vv) = (uv.f_select(1, 0)?.f_unsqueeze(1)?, uv.f_select(1, 1)?.f_unsqueeze(1)?);
    let mut corners = tris.f_to_kind(Kind::Int64)?.f_index_select(0, &tri)?; // [N, 3]
    let table = if per_image {
        let batch = covered.f_div_scalar_mode(h * w, "floor")?;
        corners = corners.f_add(&batch.f_mul_scalar(v)?.f_unsqueeze(1)?)?;
        attr.f_reshape([b * v, c])?
    } else {
        attr.shallow_clone()
    };
    let a = table.f_index_select(0, &corners.f_reshape([-1])?)?.f_reshape([n, 3, c])?;
    let (a0, a1, a2) = (a.f_select(1, 0)?, a.f_select(1, 1)?, a.f_select(1, 2)?);
    let (d0, d1) = (a0.f_sub(&a2)?, a1.f_sub(&a2)?);
    // u·a0 + v·a1 + (1 − u − v)·a2, written around a2 to share the differences with out_da.
    let values = a2.f_add(&u.f_mul(&d0)?)?.f_add(&vv.f_mul(&d1)?)?;
    let out = Tensor::f_zeros([b * h * w, c], (kind, attr.device()))?
        .f_index_copy(0, &covered, &values)?
        .f_reshape([b, h, w, c])?;
    let out_da = match rast_db {
        None => None,
        Some(db) => {
            if db.size() != [b, h, w, 4] {
                return Err(invalid(
                    "rast_db",
                    format!("expected [{b}, {h}, {w}, 4], got {:?}", db.size()),
                ));
            }
            let g = db.f_reshape([-1, 4])?.f_index_select(0, &covered)?.f_to_kind(kind)?;
            let col = |i: i64| g.f_select(1, i).and_then(|t| t.f_unsqueeze(1));
            let (dudx, dudy, dvdx, dvdy) = (col(0)?, col(1)?, col(2)?, col(3)?);
            let dx = dudx.f_mul(&d0)?.f_add(&dvdx.f_mul(&d1)?)?;
            let dy = dudy.f_mul(&d0)?.f_add(&dvdy.f_mul(&d1)?)?;
            let da = Tensor::f_stack(&[dx, dy], 2)?.f_reshape([n, 2 * c])?;
            Some(
                Tensor::f_zeros([b * h * w, 2 * c], (kind, attr.device()))?
                    .f_index_copy(0, &covered, &da)?
                    .f_reshape([b, h, w, 2 * c])?,
            )
        }
    };
    Ok(Interpolated { out, out_da })
}
