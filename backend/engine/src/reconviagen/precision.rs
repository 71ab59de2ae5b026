//! The arithmetic the reference runs each op in. VGGT runs under
//! `torch.autocast(dtype=bfloat16)`: matrix products, convolutions and attention compute in
//! bf16 while layer norms and everything elementwise stay in float32. tch's autocast knows only
//! fp16, so the bf16 policy is applied explicitly, op by op, through [`Precision::matmul_input`]
//! and [`Precision::output`].

use tch::{Kind, Tensor};

/// How the matrix-product ops of a forward pass compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// Everything in float32 (the golden reference's float32 run).
    #[default]
    Float32,
    /// bf16 matrix products, convolutions and attention, float32 elsewhere (the pipeline's
    /// autocast on GPUs of compute capability 8 or newer).
    Bf16Autocast,
}

impl Precision {
    /// The dtype matrix products take their operands in.
    pub fn matmul_kind(self) -> Kind {
        match self {
            Self::Float32 => Kind::Float,
            Self::Bf16Autocast => Kind::BFloat16,
        }
    }

    /// `x` cast for a matrix-product op.
    pub fn matmul_input(self, x: &Tensor) -> Result<Tensor, tch::TchError> {
        x.f_to_kind(self.matmul_kind())
    }

    /// A matrix-product result back in float32 for the float32 ops that follow (autocast's
    /// bf16 result promotes to float32 when it meets float32 parameters or activations).
    pub fn output(self, x: &Tensor) -> Result<Tensor, tch::TchError> {
        x.f_to_kind(Kind::Float)
    }

    /// Convolution (stride `stride`, zero padding `padding`, no dilation, one group) in
    /// `precision`'s dtype; the result stays in that dtype. TF32 is off: cuDNN's default
    /// would round float32 operands to 10 mantissa bits (errors ~1e-3 where the float32
    /// reference agrees to 1e-6), and the bf16 path does not use it.
    pub fn convolve(
        self,
        x: &Tensor,
        weight: &Tensor,
        bias: &Tensor,
        stride: &[i64],
        padding: &[i64],
    ) -> Result<Tensor, tch::TchError> {
        let kind = self.matmul_kind();
        let dilation = vec![1; stride.len()];
        let output_padding = vec![0; stride.len()];
        self.matmul_input(x)?.f_internal_convolution(
            &weight.f_to_kind(kind)?,
            Some(bias.f_to_kind(kind)?),
            stride,
            padding,
            dilation.as_slice(),
            false,
            output_padding.as_slice(),
            1,
            false,
            false,
            true,
            false,
        )
    }

    /// Softmax attention (scale 1/√d) of `q`, `k`, `v` `[B, H, L, D]` with the operands in the
    /// matrix-product dtype; the result `[B, H, L, D]` is float32.
    pub fn attend(self, q: &Tensor, k: &Tensor, v: &Tensor) -> Result<Tensor, tch::TchError> {
        let out = Tensor::f_scaled_dot_product_attention(
            &self.matmul_input(q)?,
            &self.matmul_input(k)?,
            &self.matmul_input(v)?,
            None::<&Tensor>,
            0.0,
            false,
            None,
            false,
        )?;
        self.output(&out)
    }
}
