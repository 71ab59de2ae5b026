//! The similarity transform (scale, rotation, translation) that best maps one point set onto
//! another in the least-squares sense (Umeyama 1991). It aligns a reconstruction from photos,
//! whose frame and scale COLMAP chose, with the ground truth before measuring it: from the
//! camera centres of the same views in both frames.

use tch::{Device, Kind, Tensor};

/// `y ≈ scale · R x + t`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    /// Uniform scale.
    pub scale: f64,
    /// A proper rotation (det +1), row-major.
    pub rotation: [[f64; 3]; 3],
    /// Translation.
    pub translation: [f64; 3],
}

impl Similarity {
    /// The transform of `from` `[N, 3]` onto `to` `[N, 3]` (row i ↔ row i, N ≥ 3, not all
    /// collinear); `None` for fewer than 3 points or coincident ones.
    pub fn fit(from: &Tensor, to: &Tensor) -> Option<Self> {
        let (a, b) = (
            from.to_kind(Kind::Double).to_device(Device::Cpu),
            to.to_kind(Kind::Double).to_device(Device::Cpu),
        );
        let n = a.size()[0];
        if n < 3 || b.size() != a.size() {
            return None;
        }
        let (ma, mb) = (a.mean_dim(0, true, Kind::Double), b.mean_dim(0, true, Kind::Double));
        let (ca, cb) = (&a - &ma, &b - &mb);
        let covariance = cb.transpose(0, 1).matmul(&ca) / n as f64;
        let (u, s, v) = covariance.svd(true, true);
        let sign = if (u.det() * v.det()).double_value(&[]) < 0.0 { -1.0 } else { 1.0 };
        let d = Tensor::from_slice(&[1.0, 1.0, sign]);
        let rotation = u.matmul(&d.diag(0)).matmul(&v.transpose(0, 1));
        let variance = ca.square().sum(Kind::Double).double_value(&[]) / n as f64;
        if variance <= f64::EPSILON {
            return None;
        }
        let scale = (s * &d).sum(Kind::Double).double_value(&[]) / variance;
        let translation =
            mb.squeeze_dim(0) - ma.squeeze_dim(0).matmul(&rotation.transpose(0, 1)) * scale;
        let rows = Vec::<f64>::try_from(rotation.flatten(0, -1)).ok()?;
        let t = Vec::<f64>::try_from(translation).ok()?;
        Some(Self {
            scale,
            rotation: [0, 1, 2].map(|r| [0, 1, 2].map(|c| rows[3 * r + c])),
            translation: [t[0], t[1], t[2]],
        })
    }

    /// `points` `[N, 3]` transformed (float64, CPU).
    pub fn apply(&self, points: &Tensor) -> Tensor {
        let rotation = Tensor::from_slice(&self.rotation.concat()).reshape([3, 3]);
        let translation = Tensor::from_slice(&self.translation);
        points.to_kind(Kind::Double).to_device(Device::Cpu).matmul(&rotation.transpose(0, 1))
            * self.scale
            + translation
    }
}
