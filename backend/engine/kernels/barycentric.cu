// Perspective-correct barycentrics per pixel from the visibility pass's triangle ids, and their
// backward into the clip-space positions. Same arithmetic as ops/raster/barycentric.rs (the
// tensor-op path that autograd differentiates): for pixel centre (x, y) and vertices p_i,
// a_i = x_i - x w_i, c_i = y_i - y w_i, b_i = a_{i+1} c_{i+2} - a_{i+2} c_{i+1}, s = sum b,
// (u, v) = (b_0, b_1) / s, z/w = sum b z / sum b w.
// One thread per pixel; pos is [B, V, 4], rast [B, H, W, 4].

struct Corners {
    float4 p[3];
    int v[3];
};

__device__ __forceinline__ Corners gather(const float4* __restrict__ pos, const int* __restrict__ tris,
                                          int t) {
    Corners c;
    for (int i = 0; i < 3; i++) {
        c.v[i] = tris[3 * t + i];
        c.p[i] = pos[c.v[i]];
    }
    return c;
}

extern "C" __global__ void bary_forward(const float4* __restrict__ pos, const int* __restrict__ tris,
                                        const int* __restrict__ ids, int B, int V, int H, int W,
                                        float4* __restrict__ rast) {
    long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long long)B * H * W) return;
    int id = ids[idx];
    if (id <= 0) {
        rast[idx] = make_float4(0.f, 0.f, 0.f, 0.f);
        return;
    }
    int b = (int)(idx / ((long long)H * W));
    int pixel = (int)(idx % ((long long)H * W));
    float x = (float)(2 * (pixel % W) + 1) / (float)W - 1.f;
    float y = (float)(2 * (pixel / W) + 1) / (float)H - 1.f;
    Corners c = gather(pos + (long long)b * V, tris, id - 1);
    float a[3], cc[3], bb[3];
    for (int i = 0; i < 3; i++) {
        a[i] = c.p[i].x - x * c.p[i].w;
        cc[i] = c.p[i].y - y * c.p[i].w;
    }
    for (int i = 0; i < 3; i++) bb[i] = a[(i + 1) % 3] * cc[(i + 2) % 3] - a[(i + 2) % 3] * cc[(i + 1) % 3];
    float s = bb[0] + bb[1] + bb[2];
    float num = bb[0] * c.p[0].z + bb[1] * c.p[1].z + bb[2] * c.p[2].z;
    float den = bb[0] * c.p[0].w + bb[1] * c.p[1].w + bb[2] * c.p[2].w;
    rast[idx] = make_float4(bb[0] / s, bb[1] / s, num / den, (float)id);
}

// grad_pos [B, V, 4] must be zeroed; gradients of u, v and z/w arrive in grad_rast (the id
// channel's gradient is ignored).
extern "C" __global__ void bary_backward(const float4* __restrict__ pos, const int* __restrict__ tris,
                                         const int* __restrict__ ids, const float4* __restrict__ grad_rast,
                                         int B, int V, int H, int W, float* __restrict__ grad_pos) {
    long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long long)B * H * W) return;
    int id = ids[idx];
    if (id <= 0) return;
    float4 g = grad_rast[idx];
    if (g.x == 0.f && g.y == 0.f && g.z == 0.f) return;
    int b = (int)(idx / ((long long)H * W));
    int pixel = (int)(idx % ((long long)H * W));
    float x = (float)(2 * (pixel % W) + 1) / (float)W - 1.f;
    float y = (float)(2 * (pixel / W) + 1) / (float)H - 1.f;
    Corners c = gather(pos + (long long)b * V, tris, id - 1);
    float a[3], cc[3], bb[3];
    for (int i = 0; i < 3; i++) {
        a[i] = c.p[i].x - x * c.p[i].w;
        cc[i] = c.p[i].y - y * c.p[i].w;
    }
    for (int i = 0; i < 3; i++) bb[i] = a[(i + 1) % 3] * cc[(i + 2) % 3] - a[(i + 2) % 3] * cc[(i + 1) % 3];
    float s = bb[0] + bb[1] + bb[2];
    float beta[3] = {bb[0] / s, bb[1] / s, bb[2] / s};
    float den = bb[0] * c.p[0].w + bb[1] * c.p[1].w + bb[2] * c.p[2].w;
    float d = (bb[0] * c.p[0].z + bb[1] * c.p[1].z + bb[2] * c.p[2].z) / den;
    // dL/db_i from (u, v) = (b_0, b_1)/s and z/w = sum b z / sum b w.
    float gbeta_dot = g.x * beta[0] + g.y * beta[1];
    float gb[3];
    gb[0] = (g.x - gbeta_dot) / s;
    gb[1] = (g.y - gbeta_dot) / s;
    gb[2] = -gbeta_dot / s;
    float* out = grad_pos + (long long)b * V * 4;
    for (int i = 0; i < 3; i++) gb[i] += g.z * (c.p[i].z - d * c.p[i].w) / den;
    for (int k = 0; k < 3; k++) {
        int k1 = (k + 1) % 3, k2 = (k + 2) % 3;
        // b_{k-1} = b_{k2} holds +a_k c_{k1}; b_{k+1} = b_{k1} holds -a_k c_{k2} (and the mirror for c).
        float ga = gb[k2] * cc[k1] - gb[k1] * cc[k2];
        float gc = gb[k1] * a[k2] - gb[k2] * a[k1];
        float gz = g.z * bb[k] / den;
        float gw = -x * ga - y * gc - g.z * d * bb[k] / den;
        float* o = out + 4 * (long long)c.v[k];
        atomicAdd(o, ga);
        atomicAdd(o + 1, gc);
        atomicAdd(o + 2, gz);
        atomicAdd(o + 3, gw);
    }
}
