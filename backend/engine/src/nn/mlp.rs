//! A small fully connected network with ReLU between layers (no output activation).

use tch::Tensor;
use tch::nn::{self, Module};

use crate::EngineError;

/// Linear layers `input → hidden × layers → output`.
#[derive(Debug)]
pub struct Mlp {
    layers: Vec<nn::Linear>,
}

impl Mlp {
    /// Creates the layers under `path` with PyTorch's default (Kaiming-uniform) initialization.
    pub fn new(
        path: &nn::Path<'_>,
        input: i64,
        hidden: i64,
        hidden_layers: usize,
        output: i64,
    ) -> Result<Self, EngineError> {
        let mut dims = vec![input];
        dims.extend(std::iter::repeat_n(hidden, hidden_layers));
        dims.push(output);
        let layers = dims
            .windows(2)
            .enumerate()
            .map(|(i, w)| {
                let p = path / format!("layer{i}");
                let config = nn::LinearConfig::default();
                // f_ variants so an allocation failure is an error, not a panic.
                let bound = 1.0 / (w[0] as f64).sqrt();
                Ok(nn::Linear {
                    ws: p.f_uniform("weight", &[w[1], w[0]], -bound, bound)?,
                    bs: if config.bias {
                        Some(p.f_uniform("bias", &[w[1]], -bound, bound)?)
                    } else {
                        None
                    },
                })
            })
            .collect::<Result<Vec<_>, EngineError>>()?;
        Ok(Self { layers })
    }

    /// `[N, input]` → `[N, output]`.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let last = self.layers.len() - 1;
        self.layers.iter().enumerate().fold(x.shallow_clone(), |h, (i, layer)| {
            let y = layer.forward(&h);
            if i < last { y.relu() } else { y }
        })
    }
}
