// Analytic silhouette antialiasing and its backward, the arithmetic of ops/raster/antialias.rs
// (the tensor-op path) per pixel pair: thread (b, y, x) handles its pair with the right
// neighbour and with the neighbour above. The forward adds each blend into `out` (a copy of
// colour) atomically, as pairs can target the same pixel; the backward recomputes the pairs.
// pos is [P, V, 4] with P = 1 (pos_batch_stride = 0) or B; opposite [T, 3] int64 from Topology.

#define EDGE_SLACK_PX 0.0625f

struct Pair {
    long long p0, p1;  // flat pixel indices of the pair
    int tri;           // the triangle whose edge is tested
    int e;             // chosen edge: from corner e+1 to corner e+2
    float ds;          // +1 if the triangle is p0's, -1 if p1's
    float alpha;       // signed blend weight (0.5 - crossing) ds
    float dcross[4];   // d crossing / d (X1, X2, Y1, Y2) of the chosen edge
    bool in_range;     // crossing within [0, 1] (clamp passes the gradient)
};

// Screen position of a clip-space vertex relative to pixel centre (px, py), in pixels.
__device__ __forceinline__ float2 project(float4 p, float xh, float yh, int px, int py) {
    return make_float2(p.x / p.w * xh - ((float)px + 0.5f - xh), p.y / p.w * yh - ((float)py + 0.5f - yh));
}

// Decides whether the pair (x, y) -> neighbour along `down` blends; fills `pr` if it does.
__device__ bool pair_hit(const float4* __restrict__ pos, const int* __restrict__ tris,
                         const long long* __restrict__ opposite, const float4* __restrict__ rast,
                         int b, int x, int y, bool down, int H, int W, int V, long long pos_batch_stride,
                         Pair* pr) {
    if (down ? (y + 1 >= H) : (x + 1 >= W)) return false;
    long long p0 = ((long long)b * H + y) * W + x;
    long long p1 = p0 + (down ? W : 1);
    float4 r0 = rast[p0], r1 = rast[p1];
    int id0 = (int)r0.w, id1 = (int)r1.w;
    if (id0 == id1) return false;
    int tri0 = id0 - 1, tri1 = id1 - 1;
    bool use1 = tri0 < 0 || (tri1 >= 0 && !(r0.z < r1.z));
    int tri = use1 ? tri1 : tri0;
    int px = x + ((use1 && !down) ? 1 : 0), py = y + ((use1 && down) ? 1 : 0);
    float ds = use1 ? -1.f : 1.f;
    float xh = 0.5f * (float)W, yh = 0.5f * (float)H;
    const float4* p = pos + (long long)b * pos_batch_stride;
    float2 v[3], o[3];
    for (int i = 0; i < 3; i++) {
        v[i] = project(p[tris[3 * tri + i]], xh, yh, px, py);
        o[i] = project(p[opposite[3 * (long long)tri + i]], xh, yh, px, py);
    }
    float bb = (v[1].x - v[0].x) * (v[2].y - v[0].y) - (v[2].x - v[0].x) * (v[1].y - v[0].y);
    int best = 0;
    float best_ratio = __int_as_float(0xff800000);  // -inf (NVRTC has no math headers)
    float X1[3], X2[3], Y1[3], Y2[3];
    bool straddles[3];
    for (int i = 0; i < 3; i++) {
        float2 a = v[(i + 1) % 3], c = v[(i + 2) % 3];
        X1[i] = down ? a.y : a.x;
        X2[i] = down ? c.y : c.x;
        Y1[i] = down ? a.x : a.y;
        Y2[i] = down ? c.x : c.y;
        straddles[i] = signbit(Y1[i]) != signbit(Y2[i]);
        float dx = X2[i] - X1[i], dy = Y2[i] - Y1[i];
        float ratio = straddles[i] ? (X1[i] * dy - Y1[i] * dx) * ds / dy : __int_as_float(0xff800000);
        if (ratio > best_ratio) {
            best_ratio = ratio;
            best = i;
        }
    }
    int e = best;
    float2 a = v[(e + 1) % 3], c = v[(e + 2) % 3];
    float wing = (a.x - o[e].x) * (c.y - o[e].y) - (c.x - o[e].x) * (a.y - o[e].y);
    bool silhouette = signbit(wing) == signbit(bb);
    float dx = X2[e] - X1[e], dy = Y2[e] - Y1[e];
    if (!(silhouette && straddles[e] && fabsf(dy) >= fabsf(dx))) return false;
    float crossing = (X1[e] * dy - Y1[e] * dx) * ds / dy;
    if (!(crossing > -EDGE_SLACK_PX && crossing < 1.f + EDGE_SLACK_PX)) return false;
    pr->p0 = p0;
    pr->p1 = p1;
    pr->tri = tri;
    pr->e = e;
    pr->ds = ds;
    pr->alpha = (0.5f - fminf(fmaxf(crossing, 0.f), 1.f)) * ds;
    pr->in_range = crossing >= 0.f && crossing <= 1.f;
    // crossing = ds (X1 - Y1 dx / dy)
    float inv = 1.f / dy;
    pr->dcross[0] = ds * (1.f + Y1[e] * inv);
    pr->dcross[1] = -ds * Y1[e] * inv;
    pr->dcross[2] = ds * (-dx * inv - Y1[e] * dx * inv * inv);
    pr->dcross[3] = ds * Y1[e] * dx * inv * inv;
    return true;
}

extern "C" __global__ void antialias_forward(const float* __restrict__ color, const float4* __restrict__ rast,
                                             const float4* __restrict__ pos, const int* __restrict__ tris,
                                             const long long* __restrict__ opposite, int B, int H, int W,
                                             int C, int V, long long pos_batch_stride, float* __restrict__ out) {
    long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long long)B * H * W) return;
    int b = (int)(idx / ((long long)H * W));
    int pixel = (int)(idx % ((long long)H * W));
    int x = pixel % W, y = pixel / W;
    for (int down = 0; down < 2; down++) {
        Pair pr;
        if (!pair_hit(pos, tris, opposite, rast, b, x, y, down, H, W, V, pos_batch_stride, &pr)) continue;
        long long target = pr.alpha > 0.f ? pr.p0 : pr.p1;
        for (int k = 0; k < C; k++) {
            float delta = (color[pr.p1 * C + k] - color[pr.p0 * C + k]) * pr.alpha;
            atomicAdd(&out[target * C + k], delta);
        }
    }
}

// grad_color starts as a copy of grad_out; grad_pos [P, V, 4] zeroed. Both accumulate atomically.
extern "C" __global__ void antialias_backward(const float* __restrict__ color, const float4* __restrict__ rast,
                                              const float4* __restrict__ pos, const int* __restrict__ tris,
                                              const long long* __restrict__ opposite,
                                              const float* __restrict__ grad_out, int B, int H, int W, int C,
                                              int V, long long pos_batch_stride, float* __restrict__ grad_color,
                                              float* __restrict__ grad_pos) {
    long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long long)B * H * W) return;
    int b = (int)(idx / ((long long)H * W));
    int pixel = (int)(idx % ((long long)H * W));
    int x = pixel % W, y = pixel / W;
    for (int down = 0; down < 2; down++) {
        Pair pr;
        if (!pair_hit(pos, tris, opposite, rast, b, x, y, down, H, W, V, pos_batch_stride, &pr)) continue;
        long long target = pr.alpha > 0.f ? pr.p0 : pr.p1;
        float galpha = 0.f;
        for (int k = 0; k < C; k++) {
            float g = grad_out[target * C + k];
            galpha += g * (color[pr.p1 * C + k] - color[pr.p0 * C + k]);
            atomicAdd(&grad_color[pr.p1 * C + k], pr.alpha * g);
            atomicAdd(&grad_color[pr.p0 * C + k], -pr.alpha * g);
        }
        if (!pr.in_range || galpha == 0.f) continue;
        float gcross = -pr.ds * galpha;
        // (X, Y) are screen (x, y) for horizontal pairs and (y, x) for vertical ones.
        float xh = 0.5f * (float)W, yh = 0.5f * (float)H;
        const float4* p = pos + (long long)b * pos_batch_stride;
        float* gp = grad_pos + (long long)b * pos_batch_stride * 4;
        for (int end = 0; end < 2; end++) {
            int vi = tris[3 * pr.tri + (pr.e + 1 + end) % 3];
            float4 q = p[vi];
            float g_along = gcross * pr.dcross[end];      // X1 or X2
            float g_across = gcross * pr.dcross[2 + end]; // Y1 or Y2
            float gsx = down ? g_across : g_along, gsy = down ? g_along : g_across;
            float inv_w = 1.f / q.w;
            atomicAdd(&gp[4 * (long long)vi], gsx * xh * inv_w);
            atomicAdd(&gp[4 * (long long)vi + 1], gsy * yh * inv_w);
            atomicAdd(&gp[4 * (long long)vi + 3], -(gsx * xh * q.x + gsy * yh * q.y) * inv_w * inv_w);
        }
    }
}
