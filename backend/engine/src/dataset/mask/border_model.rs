//! The classical estimator for an object photographed against a plain background: the
//! background's colours are learned from the image border (k-means), every pixel far from all
//! of them is object, and the object is the largest connected region with its holes filled
//! (object parts that happen to match the background colour stay object when enclosed).
//! No graph cut: on plain backgrounds the colour model alone separates well, and the region
//! clean-up removes the speckle a graph cut's smoothness term would.

use std::collections::VecDeque;

use image::{GrayImage, Luma, RgbImage};

use super::MaskEstimator;

/// Border colour model.
#[derive(Debug, Clone, Copy)]
pub struct BorderColourModel {
    /// Background colour clusters.
    pub clusters: usize,
    /// Width of the border sampled, as a fraction of the shorter side.
    pub border: f64,
    /// A pixel is background when it is within this many cluster spreads of a cluster, or
    /// within `min_distance` of one.
    pub spreads: f64,
    /// Colour distance (0–255 RGB units) always counted as background.
    pub min_distance: f64,
}

impl Default for BorderColourModel {
    fn default() -> Self {
        Self { clusters: 4, border: 0.03, spreads: 4.0, min_distance: 18.0 }
    }
}

fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// k-means on `samples`, seeded with evenly spaced samples; centres and the RMS distance of
/// each cluster's members.
fn kmeans(samples: &[[f64; 3]], k: usize) -> Vec<([f64; 3], f64)> {
    let k = k.clamp(1, samples.len().max(1));
    let mut centres: Vec<[f64; 3]> = (0..k).map(|i| samples[i * samples.len() / k]).collect();
    let mut assignment = vec![0usize; samples.len()];
    for _ in 0..12 {
        for (a, s) in assignment.iter_mut().zip(samples) {
            *a = (0..k)
                .min_by(|&i, &j| distance(*s, centres[i]).total_cmp(&distance(*s, centres[j])))
                .unwrap_or(0);
        }
        for (c, centre) in centres.iter_mut().enumerate() {
            let members: Vec<&[f64; 3]> =
                samples.iter().zip(&assignment).filter(|(_, a)| **a == c).map(|(s, _)| s).collect();
            if !members.is_empty() {
                *centre = [0, 1, 2]
                    .map(|i| members.iter().map(|m| m[i]).sum::<f64>() / members.len() as f64);
            }
        }
    }
    centres
        .iter()
        .enumerate()
        .map(|(c, centre)| {
            let d: Vec<f64> = samples
                .iter()
                .zip(&assignment)
                .filter(|(_, a)| **a == c)
                .map(|(s, _)| distance(*s, *centre))
                .collect();
            let rms = if d.is_empty() {
                0.0
            } else {
                (d.iter().map(|x| x * x).sum::<f64>() / d.len() as f64).sqrt()
            };
            (*centre, rms)
        })
        .collect()
}

/// Labels 4-connected regions of `set` pixels; returns labels (0 = unset) and region sizes.
fn regions(set: &[bool], w: usize, h: usize) -> (Vec<u32>, Vec<usize>) {
    let mut label = vec![0u32; set.len()];
    let mut sizes = vec![0];
    let mut queue = VecDeque::new();
    for start in 0..set.len() {
        if !set[start] || label[start] != 0 {
            continue;
        }
        let id = sizes.len() as u32;
        sizes.push(0);
        label[start] = id;
        queue.push_back(start);
        while let Some(i) = queue.pop_front() {
            sizes[id as usize] += 1;
            let (x, y) = (i % w, i / w);
            let neighbours = [
                (x > 0).then(|| i - 1),
                (x + 1 < w).then(|| i + 1),
                (y > 0).then(|| i - w),
                (y + 1 < h).then(|| i + w),
            ];
            for j in neighbours.into_iter().flatten() {
                if set[j] && label[j] == 0 {
                    label[j] = id;
                    queue.push_back(j);
                }
            }
        }
    }
    (label, sizes)
}

impl MaskEstimator for BorderColourModel {
    fn estimate(&self, image: &RgbImage) -> GrayImage {
        let (w, h) = (image.width() as usize, image.height() as usize);
        if w == 0 || h == 0 {
            return GrayImage::new(image.width(), image.height());
        }
        let band = ((w.min(h) as f64 * self.border).ceil() as usize).max(1);
        let colour = |x: usize, y: usize| image.get_pixel(x as u32, y as u32).0.map(f64::from);
        let samples: Vec<[f64; 3]> = (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .filter(|&(x, y)| x < band || y < band || x + band >= w || y + band >= h)
            .map(|(x, y)| colour(x, y))
            .collect();
        let clusters = kmeans(&samples, self.clusters);
        let object: Vec<bool> = (0..w * h)
            .map(|i| {
                let c = colour(i % w, i / w);
                !clusters.iter().any(|&(centre, rms)| {
                    let d = distance(c, centre);
                    d <= self.min_distance || d <= self.spreads * rms
                })
            })
            .collect();
        // The largest object region is the object.
        let (label, sizes) = regions(&object, w, h);
        let biggest = (1..sizes.len()).max_by_key(|&i| sizes[i]).unwrap_or(0) as u32;
        let kept: Vec<bool> = label.iter().map(|&l| biggest != 0 && l == biggest).collect();
        // Background regions that do not reach the border are holes in the object: fill them.
        let background: Vec<bool> = kept.iter().map(|&k| !k).collect();
        let (bg_label, bg_sizes) = regions(&background, w, h);
        let mut touches_border = vec![false; bg_sizes.len()];
        for y in 0..h {
            for x in 0..w {
                if x == 0 || y == 0 || x + 1 == w || y + 1 == h {
                    touches_border[bg_label[y * w + x] as usize] = true;
                }
            }
        }
        GrayImage::from_fn(w as u32, h as u32, |x, y| {
            let i = y as usize * w + x as usize;
            let inside = kept[i] || (bg_label[i] != 0 && !touches_border[bg_label[i] as usize]);
            Luma([if inside { 255 } else { 0 }])
        })
    }
}
