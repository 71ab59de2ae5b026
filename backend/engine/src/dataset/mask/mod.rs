//! Foreground masks for photos without alpha, behind one interface so that a learned segmenter
//! (BiRefNet, as ReconViaGen's preprocessing uses) can replace the classical estimator.

mod border_model;

pub use border_model::BorderColourModel;
use image::{GrayImage, RgbImage};

/// Estimates which pixels show the object.
pub trait MaskEstimator {
    /// A mask of `image`'s size: 255 object, 0 background.
    fn estimate(&self, image: &RgbImage) -> GrayImage;
}

/// Intersection over union of two masks (pixels above 127 count as set); 1 for two empty masks.
pub fn mask_iou(a: &GrayImage, b: &GrayImage) -> f64 {
    let (mut both, mut either) = (0u64, 0u64);
    for (p, q) in a.pixels().zip(b.pixels()) {
        let (x, y) = (p[0] > 127, q[0] > 127);
        both += u64::from(x && y);
        either += u64::from(x || y);
    }
    if either == 0 { 1.0 } else { both as f64 / either as f64 }
}
