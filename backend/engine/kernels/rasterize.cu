// Visibility pass of the rasterizer: which triangle covers each pixel centre, depth-tested.
// Binned: (1) count triangles per 16x16 tile, (2) scatter triangle ids into per-tile lists,
// (3) one block per tile, one thread per pixel, looping over the tile's list staged in shared
// memory. Must stay in step with ops/raster/cpu.rs: same setup, same coverage arithmetic
// (compiled with --fmad=false so products round as on the CPU), same tie-break (lower id wins).

#define TILE 16
#define CHUNK (TILE * TILE)

struct Setup {
    int px0, px1, py0, py1;  // inclusive pixel range that may be covered
};

__device__ __forceinline__ bool finite4(float4 v) {
    return isfinite(v.x) && isfinite(v.y) && isfinite(v.z) && isfinite(v.w);
}

// Culls triangles that cannot cover any pixel centre and finds a conservative pixel box.
__device__ bool triangle_setup(float4 a, float4 b, float4 c, int H, int W, Setup* s) {
    if (!finite4(a) || !finite4(b) || !finite4(c)) return false;
    if (a.w <= 0.f && b.w <= 0.f && c.w <= 0.f) return false;
    if (a.x > a.w && b.x > b.w && c.x > c.w) return false;
    if (a.x < -a.w && b.x < -b.w && c.x < -c.w) return false;
    if (a.y > a.w && b.y > b.w && c.y > c.w) return false;
    if (a.y < -a.w && b.y < -b.w && c.y < -c.w) return false;
    if (a.z > a.w && b.z > b.w && c.z > c.w) return false;
    if (a.z < -a.w && b.z < -b.w && c.z < -c.w) return false;
    if (a.w > 0.f && b.w > 0.f && c.w > 0.f) {
        // Pixel-centre coordinates of the projected vertices: centre of pixel p is at p.
        float ax = (a.x / a.w * 0.5f + 0.5f) * W - 0.5f, ay = (a.y / a.w * 0.5f + 0.5f) * H - 0.5f;
        float bx = (b.x / b.w * 0.5f + 0.5f) * W - 0.5f, by = (b.y / b.w * 0.5f + 0.5f) * H - 0.5f;
        float cx = (c.x / c.w * 0.5f + 0.5f) * W - 0.5f, cy = (c.y / c.w * 0.5f + 0.5f) * H - 0.5f;
        float x0 = fminf(ax, fminf(bx, cx)), x1 = fmaxf(ax, fmaxf(bx, cx));
        float y0 = fminf(ay, fminf(by, cy)), y1 = fmaxf(ay, fmaxf(by, cy));
        // One pixel of slack on each side: the box only bounds work, the exact test decides.
        s->px0 = max(0, (int)floorf(fmaxf(x0, -2.f)));
        s->px1 = min(W - 1, (int)ceilf(fminf(x1, (float)W + 1.f)));
        s->py0 = max(0, (int)floorf(fmaxf(y0, -2.f)));
        s->py1 = min(H - 1, (int)ceilf(fminf(y1, (float)H + 1.f)));
    } else {
        // Crosses the camera plane: the projected box is unbounded, test the whole image.
        s->px0 = 0; s->px1 = W - 1; s->py0 = 0; s->py1 = H - 1;
    }
    return s->px0 <= s->px1 && s->py0 <= s->py1;
}

// Perspective-correct coverage of pixel centre (x, y) in NDC; on a hit writes z/w to *depth.
__device__ __forceinline__ bool cover(float4 p0, float4 p1, float4 p2, float x, float y, float* depth) {
    float a0 = p0.x - x * p0.w, a1 = p1.x - x * p1.w, a2 = p2.x - x * p2.w;
    float c0 = p0.y - y * p0.w, c1 = p1.y - y * p1.w, c2 = p2.y - y * p2.w;
    float b0 = a1 * c2 - a2 * c1;
    float b1 = a2 * c0 - a0 * c2;
    float b2 = a0 * c1 - a1 * c0;
    float s = b0 + b1 + b2;
    if (s > 0.f) {
        if (b0 < 0.f || b1 < 0.f || b2 < 0.f) return false;
    } else if (s < 0.f) {
        if (b0 > 0.f || b1 > 0.f || b2 > 0.f) return false;
    } else {
        return false;
    }
    float wn = b0 * p0.w + b1 * p1.w + b2 * p2.w;
    if (!(wn / s > 0.f)) return false;  // behind the camera
    float d = (b0 * p0.z + b1 * p1.z + b2 * p2.z) / wn;
    if (!(d >= -1.f && d <= 1.f)) return false;  // outside near/far
    *depth = d;
    return true;
}

extern "C" __global__ void raster_bin_count(const float4* __restrict__ pos, const int* __restrict__ tris,
                                            int B, int V, int T, int H, int W, int tiles_x, int tiles_y,
                                            int* __restrict__ tile_counts) {
    long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long long)B * T) return;
    int b = (int)(idx / T), t = (int)(idx % T);
    const float4* p = pos + (long long)b * V;
    Setup s;
    if (!triangle_setup(p[tris[3 * t]], p[tris[3 * t + 1]], p[tris[3 * t + 2]], H, W, &s)) return;
    int* counts = tile_counts + (long long)b * tiles_x * tiles_y;
    for (int ty = s.py0 / TILE; ty <= s.py1 / TILE; ty++)
        for (int tx = s.px0 / TILE; tx <= s.px1 / TILE; tx++)
            atomicAdd(&counts[ty * tiles_x + tx], 1);
}

extern "C" __global__ void raster_bin_fill(const float4* __restrict__ pos, const int* __restrict__ tris,
                                           int B, int V, int T, int H, int W, int tiles_x, int tiles_y,
                                           const int* __restrict__ tile_offsets, int* __restrict__ tile_cursor,
                                           int* __restrict__ tile_tris) {
    long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long long)B * T) return;
    int b = (int)(idx / T), t = (int)(idx % T);
    const float4* p = pos + (long long)b * V;
    Setup s;
    if (!triangle_setup(p[tris[3 * t]], p[tris[3 * t + 1]], p[tris[3 * t + 2]], H, W, &s)) return;
    long long base = (long long)b * tiles_x * tiles_y;
    for (int ty = s.py0 / TILE; ty <= s.py1 / TILE; ty++)
        for (int tx = s.px0 / TILE; tx <= s.px1 / TILE; tx++) {
            long long tile = base + ty * tiles_x + tx;
            int slot = atomicAdd(&tile_cursor[tile], 1);
            tile_tris[tile_offsets[tile] + slot] = t;
        }
}

// grid (tiles_x, tiles_y, B), block (TILE, TILE). Writes triangle id + 1 (0 = empty) per pixel.
extern "C" __global__ void raster_tiles(const float4* __restrict__ pos, const int* __restrict__ tris,
                                        int B, int V, int T, int H, int W, int tiles_x, int tiles_y,
                                        const int* __restrict__ tile_offsets, const int* __restrict__ tile_counts,
                                        const int* __restrict__ tile_tris, int* __restrict__ out) {
    __shared__ float4 sv[3 * CHUNK];
    __shared__ int sid[CHUNK];
    __shared__ int4 sbox[CHUNK];  // pixel box: cheap rejection before the coverage arithmetic
    int b = blockIdx.z;
    int px = blockIdx.x * TILE + threadIdx.x, py = blockIdx.y * TILE + threadIdx.y;
    int lane = threadIdx.y * TILE + threadIdx.x;
    long long tile = (long long)b * tiles_x * tiles_y + blockIdx.y * tiles_x + blockIdx.x;
    int count = tile_counts[tile];
    const int* list = tile_tris + tile_offsets[tile];
    const float4* p = pos + (long long)b * V;
    float x = (float)(2 * px + 1) / (float)W - 1.f;
    float y = (float)(2 * py + 1) / (float)H - 1.f;
    float best_depth = 0.f;
    int best = -1;
    for (int base = 0; base < count; base += CHUNK) {
        int n = min(CHUNK, count - base);
        if (lane < n) {
            int t = list[base + lane];
            sid[lane] = t;
            sv[3 * lane] = p[tris[3 * t]];
            sv[3 * lane + 1] = p[tris[3 * t + 1]];
            sv[3 * lane + 2] = p[tris[3 * t + 2]];
            Setup s;
            // Listed triangles passed setup when binned; recomputing gives the same box.
            triangle_setup(sv[3 * lane], sv[3 * lane + 1], sv[3 * lane + 2], H, W, &s);
            sbox[lane] = make_int4(s.px0, s.px1, s.py0, s.py1);
        }
        __syncthreads();
        for (int k = 0; k < n; k++) {
            int4 bx = sbox[k];
            if (px < bx.x || px > bx.y || py < bx.z || py > bx.w) continue;
            float d;
            if (cover(sv[3 * k], sv[3 * k + 1], sv[3 * k + 2], x, y, &d)) {
                int t = sid[k];
                if (best < 0 || d < best_depth || (d == best_depth && t < best)) {
                    best_depth = d;
                    best = t;
                }
            }
        }
        __syncthreads();
    }
    if (px < W && py < H) out[((long long)b * H + py) * W + px] = best + 1;
}
