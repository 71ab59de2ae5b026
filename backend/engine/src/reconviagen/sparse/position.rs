//! TRELLIS's absolute position embedding of voxel coordinates (`AbsolutePositionEmbedder`):
//! for each of x, y, z, `sin` then `cos` of the coordinate times `10000^(−i/F)`, i < F =
//! C / 6, zero-padded to C channels; float32 throughout, as the reference.

use tch::{Kind, Tensor};

/// `[M, channels]` embedding of `coords` `[M, 3]`.
pub fn embed(coords: &Tensor, channels: i64) -> Result<Tensor, tch::TchError> {
    let m = coords.size()[0];
    let freq_dim = channels / 3 / 2;
    let device = coords.device();
    let freqs = Tensor::f_arange(freq_dim, (Kind::Float, device))?.f_div_scalar(freq_dim as f64)?;
    let freqs = Tensor::f_full([freq_dim], 10000.0, (Kind::Float, device))?
        .f_pow(&freqs)?
        .f_reciprocal()?;
    let angles = coords.f_to_kind(Kind::Float)?.f_reshape([-1])?.f_outer(&freqs)?;
    let embedding = Tensor::f_cat(&[angles.f_sin()?, angles.f_cos()?], -1)?.f_reshape([m, -1])?;
    let width = embedding.size()[1];
    if width < channels {
        let pad = Tensor::f_zeros([m, channels - width], (Kind::Float, device))?;
        return Tensor::f_cat(&[embedding, pad], 1);
    }
    Ok(embedding)
}
