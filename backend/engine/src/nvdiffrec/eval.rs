//! Test-view evaluation: PSNR on a white background and mask IoU, as the issue measures them.

use tch::{Kind, Tensor};

use super::NvdiffrecError;
use super::loss::psnr;
use super::profile::PhaseTimer;
use super::render::{Scene, render};
use super::views::ViewBatch;

/// Mean per-view PSNR (dB) and mask IoU over the test views.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Evaluation {
    /// Mean of the per-view PSNRs, sRGB, white background, full image.
    pub psnr: f64,
    /// Mean of the per-view intersection-over-union of the masks (alpha > 0.5).
    pub mask_iou: f64,
}

/// Renders every test view (`images` `[N, H, W, 4]` premultiplied linear) in chunks of `batch`.
pub fn evaluate(
    scene: &Scene<'_>,
    views: &ViewBatch,
    images: &Tensor,
    size: (u32, u32),
    batch: i64,
) -> Result<Option<Evaluation>, NvdiffrecError> {
    let n = images.size()[0];
    if n == 0 {
        return Ok(None);
    }
    let device = images.device();
    tch::no_grad(|| {
        let (mut psnr_sum, mut iou_sum) = (0.0, 0.0);
        for start in (0..n).step_by(batch.max(1) as usize) {
            let count = batch.min(n - start);
            let index = Tensor::f_arange_start(start, start + count, (Kind::Int64, device))?;
            let white = Tensor::f_ones(
                [count, i64::from(size.1), i64::from(size.0), 3],
                (Kind::Float, device),
            )?;
            let rendered =
                render(scene, views, &index, size, &white, &mut PhaseTimer::new(false, device))?
                    .rgba;
            let target = images.f_narrow(0, start, count)?;
            let alpha = target.f_narrow(3, 3, 1)?;
            let target_rgb = target.f_narrow(3, 0, 3)?.f_add(&alpha.f_neg()?.f_add_scalar(1.0)?)?;
            for i in 0..count {
                psnr_sum += psnr(&rendered.f_get(i)?.f_narrow(2, 0, 3)?, &target_rgb.f_get(i)?)?;
                let ours = rendered.f_get(i)?.f_select(2, 3)?.f_gt(0.5)?;
                let theirs = alpha.f_get(i)?.f_squeeze_dim(2)?.f_gt(0.5)?;
                let inter = ours.f_logical_and(&theirs)?.f_sum(Kind::Double)?.f_double_value(&[])?;
                let union = ours.f_logical_or(&theirs)?.f_sum(Kind::Double)?.f_double_value(&[])?;
                iou_sum += if union > 0.0 { inter / union } else { 1.0 };
            }
        }
        Ok(Some(Evaluation { psnr: psnr_sum / n as f64, mask_iou: iou_sum / n as f64 }))
    })
}
