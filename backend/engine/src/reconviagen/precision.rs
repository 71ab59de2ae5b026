//! The arithmetic the reference runs each op in.
//!
//! - VGGT runs under `torch.autocast(dtype=bfloat16)`. Matrix products, convolutions and
//!   attention compute in bf16, while layer norms and everything elementwise stay in float32.
//!   tch's autocast knows only fp16, so the bf16 policy is applied explicitly, op by op, through
//!   [`Precision::matmul_input`] and [`Precision::output`].
//! - TRELLIS's released modules (`use_fp16`) convert only their transformer or residual
//!   blocks to fp16. The linear and convolution weights there are fp16, and norms compute in
//!   float32; input, output and timestep layers stay float32 ([`Precision::outside_blocks`]).

use tch::{Device, Kind, Tensor};

/// How the matrix-product ops of a forward pass compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// Everything in float32 (the golden reference's float32 run).
    #[default]
    Float32,
    /// bf16 matrix products, convolutions and attention, float32 elsewhere (the pipeline's
    /// autocast on GPUs of compute capability 8 or newer).
    Bf16Autocast,
    /// fp16 matrix products, convolutions and attention inside a TRELLIS module's blocks,
    /// float32 elsewhere (the released `*_fp16` checkpoints as the pipeline runs them).
    Float16Blocks,
}

impl Precision {
    /// What the pipeline runs VGGT and DINOv2 in on `device`: bf16 autocast on CUDA, float32
    /// on the CPU (where bf16 matrix products are slow and the pipeline does not run).
    pub fn vggt_on(device: Device) -> Self {
        if device.is_cuda() { Self::Bf16Autocast } else { Self::Float32 }
    }

    /// What the pipeline runs the TRELLIS modules in on `device`: their released fp16 blocks on
    /// CUDA, float32 on the CPU.
    pub fn trellis_on(device: Device) -> Self {
        if device.is_cuda() { Self::Float16Blocks } else { Self::Float32 }
    }

    /// The precision of a module's layers outside its blocks: autocast covers the whole
    /// forward pass, TRELLIS's fp16 conversion only the blocks.
    pub fn outside_blocks(self) -> Self {
        match self {
            Self::Float16Blocks => Self::Float32,
            other => other,
        }
    }

    /// The dtype matrix products take their operands in.
    pub fn matmul_kind(self) -> Kind {
        match self {
            Self::Float32 => Kind::Float,
            Self::Bf16Autocast => Kind::BFloat16,
            Self::Float16Blocks => Kind::Half,
        }
    }

    /// `x` cast for a matrix-product op.
    pub fn matmul_input(self, x: &Tensor) -> Result<Tensor, tch::TchError> {
        x.f_to_kind(self.matmul_kind())
    }

    /// A matrix-product result back in float32 for the float32 ops that follow (autocast's
    /// bf16 result promotes to float32 when it meets float32 parameters or activations; in
    /// TRELLIS's fp16 blocks the activations stay fp16 between ops, which this port keeps in
    /// float32: at most one rounding less per op, within the fp16 goldens' tolerance).
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
        self.attend_where(q, k, v, None)
    }

    /// [`Self::attend`] where each query sees only the keys `mask` (boolean, broadcast to
    /// `[B, H, L, L_k]`) is true for.
    pub fn attend_masked(
        self,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        mask: &Tensor,
    ) -> Result<Tensor, tch::TchError> {
        self.attend_where(q, k, v, Some(mask))
    }

    fn attend_where(
        self,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        mask: Option<&Tensor>,
    ) -> Result<Tensor, tch::TchError> {
        let out = Tensor::f_scaled_dot_product_attention(
            &self.matmul_input(q)?,
            &self.matmul_input(k)?,
            &self.matmul_input(v)?,
            mask,
            0.0,
            false,
            None,
            false,
        )?;
        self.output(&out)
    }
}
