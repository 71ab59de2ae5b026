//! The embedded `.cu` sources and the entry points each one defines.

/// One `.cu` file compiled as one NVRTC program.
#[derive(Debug, Clone, Copy)]
pub struct KernelSource {
    /// Name used in logs and errors (the file stem).
    pub name: &'static str,
    /// CUDA C++ source text.
    pub code: &'static str,
    /// `extern "C"` kernels the registry resolves after loading.
    pub functions: &'static [&'static str],
    /// Extra NVRTC options, e.g. `--fmad=false` where results must match the CPU path bit for bit.
    pub options: &'static [&'static str],
}

/// Every kernel source of the engine.
pub const SOURCES: &[KernelSource] = &[
    KernelSource {
        name: "color",
        code: include_str!("../../kernels/color.cu"),
        functions: &["srgb_to_linear_f32"],
        options: &[],
    },
    KernelSource {
        name: "rasterize",
        code: include_str!("../../kernels/rasterize.cu"),
        functions: &["raster_bin_count", "raster_bin_fill", "raster_tiles"],
        // Coverage and depth tests must round exactly as the CPU rasterizer does.
        options: &["--fmad=false"],
    },
    KernelSource {
        name: "barycentric",
        code: include_str!("../../kernels/barycentric.cu"),
        functions: &["bary_forward", "bary_backward"],
        options: &[],
    },
    KernelSource {
        name: "interpolate",
        code: include_str!("../../kernels/interpolate.cu"),
        functions: &["interpolate_forward", "interpolate_backward"],
        options: &[],
    },
    KernelSource {
        name: "antialias",
        code: include_str!("../../kernels/antialias.cu"),
        functions: &["antialias_forward", "antialias_backward"],
        options: &[],
    },
    KernelSource {
        name: "hash_grid",
        code: include_str!("../../kernels/hash_grid.cu"),
        functions: &["hash_grid_forward", "hash_grid_backward"],
        options: &[],
    },
];
