// Attribute interpolation per pixel and its backward, as ops/raster/interpolate.rs computes it:
// out = a_2 + u (a_0 - a_2) + v (a_1 - a_2) for the pixel's triangle, zero on background.
// attr is [A, V, C] with A = 1 (shared, attr_batch_stride = 0) or B (attr_batch_stride = V * C);
// rast [B, H, W, 4] (u, v, z/w, id + 1); one thread per pixel, looping over channels.

extern "C" __global__ void interpolate_forward(const float* __restrict__ attr, const float4* __restrict__ rast,
                                               const int* __restrict__ tris, int B, int H, int W, int C,
                                               long long attr_batch_stride, float* __restrict__ out) {
    long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long long)B * H * W) return;
    float4 r = rast[idx];
    int id = (int)r.w;
    float* o = out + idx * C;
    if (id <= 0) {
        for (int k = 0; k < C; k++) o[k] = 0.f;
        return;
    }
    long long b = idx / ((long long)H * W);
    const float* a = attr + b * attr_batch_stride;
    const float* a0 = a + (long long)tris[3 * (id - 1)] * C;
    const float* a1 = a + (long long)tris[3 * (id - 1) + 1] * C;
    const float* a2 = a + (long long)tris[3 * (id - 1) + 2] * C;
    for (int k = 0; k < C; k++) o[k] = a2[k] + r.x * (a0[k] - a2[k]) + r.y * (a1[k] - a2[k]);
}

// grad_attr [A, V, C] zeroed (accumulated atomically); grad_rast [B, H, W, 4] fully written.
extern "C" __global__ void interpolate_backward(const float* __restrict__ attr, const float4* __restrict__ rast,
                                                const int* __restrict__ tris, const float* __restrict__ grad_out,
                                                int B, int H, int W, int C, long long attr_batch_stride,
                                                float* __restrict__ grad_attr, float4* __restrict__ grad_rast) {
    long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long long)B * H * W) return;
    float4 r = rast[idx];
    int id = (int)r.w;
    if (id <= 0) {
        grad_rast[idx] = make_float4(0.f, 0.f, 0.f, 0.f);
        return;
    }
    long long b = idx / ((long long)H * W);
    long long base = b * attr_batch_stride;
    long long v0 = (long long)tris[3 * (id - 1)] * C, v1 = (long long)tris[3 * (id - 1) + 1] * C,
              v2 = (long long)tris[3 * (id - 1) + 2] * C;
    const float* g = grad_out + idx * C;
    float w2 = 1.f - r.x - r.y;
    float gu = 0.f, gv = 0.f;
    for (int k = 0; k < C; k++) {
        float gk = g[k];
        if (gk == 0.f) continue;
        float a2 = attr[base + v2 + k];
        gu += gk * (attr[base + v0 + k] - a2);
        gv += gk * (attr[base + v1 + k] - a2);
        atomicAdd(&grad_attr[base + v0 + k], r.x * gk);
        atomicAdd(&grad_attr[base + v1 + k], r.y * gk);
        atomicAdd(&grad_attr[base + v2 + k], w2 * gk);
    }
    grad_rast[idx] = make_float4(gu, gv, 0.f, 0.f);
}
