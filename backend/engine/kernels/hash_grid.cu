// Multi-resolution hash encoding, forward and backward, with the arithmetic of
// nn/hash_grid.rs's tensor-op path (the reference these kernels are tested against): per level,
// pos = x * scale + 0.5, cell = clamp(floor(pos)), frac = pos - floor(pos); the eight corners'
// rows are x + y r + z r^2 on dense levels, (x * 1) ^ (y * 2654435761) ^ (z * 805459861) masked to
// the level's size on hashed ones; trilinear weights. One thread per (point, level).
// Level parameters: scales (float), resolutions (int), offsets (long long), sizes (long long),
// dense (int, 0/1). Features per level: F.

__device__ __forceinline__ long long corner_row(const long long* c, int dense, long long r, long long size) {
    if (dense) return c[0] + c[1] * r + c[2] * r * r;
    long long h = (c[0] * 1LL) ^ (c[1] * 2654435761LL) ^ (c[2] * 805459861LL);
    return h & (size - 1);
}

extern "C" __global__ void hash_grid_forward(const float* __restrict__ points, const float* __restrict__ table,
                                             const float* __restrict__ scales, const int* __restrict__ resolutions,
                                             const long long* __restrict__ offsets, const long long* __restrict__ sizes,
                                             const int* __restrict__ dense, int N, int L, int F,
                                             float* __restrict__ out) {
    long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long long)N * L) return;
    int n = (int)(idx / L), l = (int)(idx % L);
    long long r = resolutions[l];
    float frac[3];
    long long cell[3];
    for (int a = 0; a < 3; a++) {
        float x = fminf(fmaxf(points[3LL * n + a], 0.f), 1.f);
        float pos = x * scales[l] + 0.5f;
        float fl = floorf(pos);
        frac[a] = pos - fl;
        cell[a] = min(max((long long)fl, 0LL), r - 1);
    }
    float acc[8];
    for (int f = 0; f < F; f++) acc[f] = 0.f;
    for (int corner = 0; corner < 8; corner++) {
        long long c[3];
        float w = 1.f;
        for (int a = 0; a < 3; a++) {
            int bit = (corner >> a) & 1;
            c[a] = min(cell[a] + bit, r - 1);
            w *= bit ? frac[a] : 1.f - frac[a];
        }
        const float* row = table + (offsets[l] + corner_row(c, dense[l], r, sizes[l])) * F;
        for (int f = 0; f < F; f++) acc[f] += w * row[f];
    }
    for (int f = 0; f < F; f++) out[(long long)n * L * F + l * F + f] = acc[f];
}

// grad_table [R, F] and grad_points [N, 3] zeroed; both accumulate atomically. grad_points is
// skipped when null.
extern "C" __global__ void hash_grid_backward(const float* __restrict__ points, const float* __restrict__ table,
                                              const float* __restrict__ scales, const int* __restrict__ resolutions,
                                              const long long* __restrict__ offsets, const long long* __restrict__ sizes,
                                              const int* __restrict__ dense, const float* __restrict__ grad_out,
                                              int N, int L, int F, float* __restrict__ grad_table,
                                              float* __restrict__ grad_points) {
    long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long long)N * L) return;
    int n = (int)(idx / L), l = (int)(idx % L);
    long long r = resolutions[l];
    const float* g = grad_out + (long long)n * L * F + l * F;
    float frac[3];
    long long cell[3];
    bool inside[3];
    for (int a = 0; a < 3; a++) {
        float raw = points[3LL * n + a];
        inside[a] = raw >= 0.f && raw <= 1.f;  // clamp passes gradients only inside
        float x = fminf(fmaxf(raw, 0.f), 1.f);
        float pos = x * scales[l] + 0.5f;
        float fl = floorf(pos);
        frac[a] = pos - fl;
        cell[a] = min(max((long long)fl, 0LL), r - 1);
    }
    float dfrac[3] = {0.f, 0.f, 0.f};
    for (int corner = 0; corner < 8; corner++) {
        long long c[3];
        float wa[3];
        for (int a = 0; a < 3; a++) {
            int bit = (corner >> a) & 1;
            c[a] = min(cell[a] + bit, r - 1);
            wa[a] = bit ? frac[a] : 1.f - frac[a];
        }
        float w = wa[0] * wa[1] * wa[2];
        long long row = (offsets[l] + corner_row(c, dense[l], r, sizes[l])) * F;
        float gdot = 0.f;
        for (int f = 0; f < F; f++) {
            atomicAdd(&grad_table[row + f], w * g[f]);
            gdot += g[f] * table[row + f];
        }
        if (grad_points) {
            for (int a = 0; a < 3; a++) {
                float sign = ((corner >> a) & 1) ? 1.f : -1.f;
                dfrac[a] += gdot * sign * wa[(a + 1) % 3] * wa[(a + 2) % 3];
            }
        }
    }
    if (grad_points) {
        for (int a = 0; a < 3; a++)
            if (inside[a] && dfrac[a] != 0.f) atomicAdd(&grad_points[3LL * n + a], dfrac[a] * scales[l]);
    }
}
