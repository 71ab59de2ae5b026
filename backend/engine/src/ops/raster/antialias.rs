//! Analytic silhouette antialiasing (nvdiffrast's `antialias`), as tensor ops.
//!
//! Between each pair of horizontally or vertically adjacent pixels with different triangle ids,
//! the nearer triangle's silhouette edge that crosses the segment between the two pixel centres
//! is found; the colours of the pair are blended by where it crosses. The crossing point depends
//! on the edge's projected vertices, so this is the route by which silhouette (and mask) gradients
//! reach vertex positions. An edge is a silhouette when the triangle across it (from
//! [`Topology`]) faces the other way on screen, or when there is none.

use tch::{Kind, Tensor};

use super::topology::Topology;
use super::visibility::{batched_positions, check_triangles};
use crate::EngineError;

/// Crossings this close outside the pixel pair (in pixels) still count: 1/16 px of slack for
/// rounding, as nvdiffrast allows.
const EDGE_SLACK_PX: f64 = 0.0625;

fn invalid(arg: &'static str, reason: String) -> EngineError {
    EngineError::InvalidArgument { op: "antialias", arg, reason }
}

/// `u₍ᵢ₊ₖ₎` along the last axis of `[N, 3]`.
fn shift(u: &Tensor, k: i64) -> Result<Tensor, tch::TchError> {
    u.f_roll([-k], [1])
}

/// Antialiased `color` (`[B, H, W, C]`) for the rasterization `rast` of `pos` / `tris`.
pub fn antialias(
    color: &Tensor,
    rast: &Tensor,
    pos: &Tensor,
    tris: &Tensor,
    topology: &Topology,
) -> Result<Tensor, EngineError> {
    let pos = batched_positions("antialias", pos)?;
    let &[b, h, w, c] = color.size().as_slice() else {
        return Err(invalid("color", format!("expected [B, H, W, C], got {:?}", color.size())));
    };
    if rast.size() != [b, h, w, 4] {
        return Err(invalid("rast", format!("expected [{b}, {h}, {w}, 4], got {:?}", rast.size())));
    }
    for (arg, device) in [("rast", rast.device()), ("pos", pos.device())] {
        if device != color.device() {
            return Err(invalid(
                arg,
                format!("on {device:?} but color is on {:?}", color.device()),
            ));
        }
    }
    let v = pos.size()[1];
    if pos.size()[0] != b && pos.size()[0] != 1 {
        return Err(invalid(
            "pos",
            format!("batch {} does not match colour batch {b}", pos.size()[0]),
        ));
    }
    check_triangles("antialias", tris, v, pos.device())?;
    if topology.triangles() != tris.size()[0] {
        return Err(invalid(
            "topology",
            format!("built for {} triangles, got {}", topology.triangles(), tris.size()[0]),
        ));
    }
    if let Some(ordinal) = super::fused::fused_device(color)
        && pos.kind() == Kind::Float
    {
        return super::fused::antialias::antialias(
            color,
            rast,
            &pos,
            tris,
            &topology.opposite,
            ordinal,
        );
    }
    let kind = color.kind();
    let pos = if pos.size()[0] == b { pos } else { pos.f_expand([b, v, 4], false)? };
    let flat_pos = pos.f_reshape([b * v, 4])?.f_to_kind(kind)?;
    let flat_color = color.f_reshape([b * h * w, c])?;
    let ids = rast.f_select(3, 3)?.f_detach()?;
    let depth = rast.f_select(3, 2)?.f_detach()?;
    let (xh, yh) = (w as f64 / 2.0, h as f64 / 2.0);
    let tris64 = tris.f_to_kind(Kind::Int64)?;

    let mut out = color.f_reshape([b * h * w, c])?;
    for down in [false, true] {
        // Pixel pairs (p0, p1) with p1 right of / above p0 (rows go up with y).
        let (dim, len) = if down { (1, h) } else { (2, w) };
        if len < 2 {
            continue;
        }
        let id0 = ids.f_narrow(dim, 0, len - 1)?;
        let id1 = ids.f_narrow(dim, 1, len - 1)?;
        let work = id0.f_ne_tensor(&id1)?.f_nonzero()?; // [N, 3]: b, y, x of p0
        if work.size()[0] == 0 {
            continue;
        }
        let (wb, wy, wx) = (work.f_select(1, 0)?, work.f_select(1, 1)?, work.f_select(1, 2)?);
        let pixel0 = wb.f_mul_scalar(h * w)?.f_add(&wy.f_mul_scalar(w)?)?.f_add(&wx)?;
        let pixel1 = pixel0.f_add_scalar(if down { w } else { 1 })?;
        let flat_ids = ids.f_reshape([-1])?;
        let flat_depth = depth.f_reshape([-1])?;
        let tri0 = flat_ids.f_index_select(0, &pixel0)?.f_to_kind(Kind::Int64)?.f_sub_scalar(1)?;
        let tri1 = flat_ids.f_index_select(0, &pixel1)?.f_to_kind(Kind::Int64)?.f_sub_scalar(1)?;
        let (z0, z1) =
            (flat_depth.f_index_select(0, &pixel0)?, flat_depth.f_index_select(0, &pixel1)?);
        // The nearer triangle, or the only one where the other pixel is background.
        let use_tri1 = tri0
            .f_lt(0)?
            .f_logical_or(&tri1.f_ge(0)?.f_logical_and(&z0.f_lt_tensor(&z1)?.f_logical_not()?)?)?;
        let tri = tri1.f_where_self(&use_tri1, &tri0)?;
        let step = use_tri1.f_to_kind(Kind::Int64)?;
        let (px, py) = if down {
            (wx.shallow_clone(), wy.f_add(&step)?)
        } else {
            (wx.f_add(&step)?, wy.shallow_clone())
        };
        let ds = use_tri1.f_to_kind(kind)?.f_mul_scalar(-2.0)?.f_add_scalar(1.0)?; // +1 own pixel, −1 neighbour's

        let n = tri.size()[0];
        let base = wb.f_mul_scalar(v)?.f_unsqueeze(1)?;
        let corners = tris64.f_index_select(0, &tri)?.f_add(&base)?;
        let opposite = topology.opposite.f_index_select(0, &tri)?.f_add(&base)?;
        let project = |index: &Tensor| -> Result<(Tensor, Tensor), tch::TchError> {
            let p = flat_pos.f_index_select(0, &index.f_reshape([-1])?)?.f_reshape([n, 3, 4])?;
            let wv = p.f_select(2, 3)?;
            let fx = px.f_to_kind(kind)?.f_add_scalar(0.5 - xh)?.f_unsqueeze(1)?;
            let fy = py.f_to_kind(kind)?.f_add_scalar(0.5 - yh)?.f_unsqueeze(1)?;
            let x = p.f_select(2, 0)?.f_div(&wv)?.f_mul_scalar(xh)?.f_sub(&fx)?;
            let y = p.f_select(2, 1)?.f_div(&wv)?.f_mul_scalar(yh)?.f_sub(&fy)?;
            Ok((x, y))
        };
        let (x, y) = project(&corners)?;
        let (ox, oy) = project(&opposite)?;
        let (x1, x2, y1, y2) = (shift(&x, 1)?, shift(&x, 2)?, shift(&y, 1)?, shift(&y, 2)?);
        // Orientation of the triangle and of each wing (edge i with the opposite vertex).
        let bb = x1
            .f_sub(&x)?
            .f_mul(&y2.f_sub(&y)?)?
            .f_sub(&x2.f_sub(&x)?.f_mul(&y1.f_sub(&y)?)?)?
            .f_select(1, 0)?;
        let wings = x1
            .f_sub(&ox)?
            .f_mul(&y2.f_sub(&oy)?)?
            .f_sub(&x2.f_sub(&ox)?.f_mul(&y1.f_sub(&oy)?)?)?;
        let silhouette =
            wings.f_signbit()?.f_eq_tensor(&bb.f_signbit()?.f_unsqueeze(1)?)?.f_detach()?;
        // Crossing along the pair's axis: swap x and y for vertical pairs.
        let (x1, x2, y1, y2) = if down { (y1, y2, x1, x2) } else { (x1, x2, y1, y2) };
        let dx = x2.f_sub(&x1)?;
        let dy = y2.f_sub(&y1)?;
        let dist = x1.f_mul(&dy)?.f_sub(&y1.f_mul(&dx)?)?.f_mul(&ds.f_unsqueeze(1)?)?;
        // Edges whose ends lie on one side of the pair's axis cannot cross it.
        let straddles = y1.f_signbit()?.f_ne_tensor(&y2.f_signbit()?)?.f_detach()?;
        let ratio = dist.f_div(&dy)?.f_detach()?;
        let ratio = ratio.f_masked_fill(&straddles.f_logical_not()?, f64::NEG_INFINITY)?;
        let edge = ratio.f_argmax(1, true)?; // [N, 1]
        let pick = |t: &Tensor| t.f_gather(1, &edge, false).and_then(|g| g.f_squeeze_dim(1));
        let (dist, dy, dx) = (pick(&dist)?, pick(&dy)?, pick(&dx)?);
        let usable = pick(&silhouette.f_to_kind(Kind::Int64)?)?
            .f_gt(0)?
            .f_logical_and(&pick(&straddles.f_to_kind(Kind::Int64)?)?.f_gt(0)?)?
            .f_logical_and(&dy.f_abs()?.f_ge_tensor(&dx.f_abs()?)?)?;
        let crossing = dist.f_div(&dy.f_masked_fill(&usable.f_logical_not()?, 1.0)?)?;
        let crossing_value = crossing.f_detach()?;
        let hit = usable
            .f_logical_and(&crossing_value.f_gt(-EDGE_SLACK_PX)?)?
            .f_logical_and(&crossing_value.f_lt(1.0 + EDGE_SLACK_PX)?)?;
        let hits = hit.f_nonzero()?.f_squeeze_dim(1)?;
        if hits.size()[0] == 0 {
            continue;
        }
        let crossing = crossing.f_index_select(0, &hits)?.f_clamp(0.0, 1.0)?;
        let alpha = crossing.f_neg()?.f_add_scalar(0.5)?.f_mul(&ds.f_index_select(0, &hits)?)?;
        let (p0, p1) = (pixel0.f_index_select(0, &hits)?, pixel1.f_index_select(0, &hits)?);
        let c0 = flat_color.f_index_select(0, &p0)?;
        let c1 = flat_color.f_index_select(0, &p1)?;
        let delta = c1.f_sub(&c0)?.f_mul(&alpha.f_unsqueeze(1)?)?;
        let target = p0.f_where_self(&alpha.f_detach()?.f_gt(0.0)?, &p1)?;
        out = out.f_index_add(0, &target, &delta)?;
    }
    Ok(out.f_reshape([b, h, w, c])?)
}
