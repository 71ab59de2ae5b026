// Colour-space conversions on float32 images, elementwise.
// Must match ops::color::srgb_to_linear_reference (IEC 61966-2-1 piecewise curve).

extern "C" __global__ void srgb_to_linear_f32(float* __restrict__ out,
                                              const float* __restrict__ in,
                                              unsigned long long n) {
    unsigned long long stride = (unsigned long long)blockDim.x * gridDim.x;
    for (unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += stride) {
        float c = in[i];
        out[i] = c <= 0.04045f ? c / 12.92f : powf((c + 0.055f) / 1.055f, 2.4f);
    }
}
