//! Builds the autograd shim (`cpp/autograd_shim.cpp`) against libtorch's headers, links
//! `libtorch_cuda` into the engine's binaries and passes libtorch's folder on.
//!
//! torch-sys links `torch_cuda` without `--no-as-needed`, so the linker drops it (no symbol is
//! referenced) and CUDA stays invisible to libtorch. Binaries that link the engine repeat this
//! in their own build script with the folder exported here (`DEP_MESHCAST_TORCH_LIBTORCH_LIB`).

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    println!("cargo:rerun-if-changed=cpp/autograd_shim.cpp");
    let Some(lib) = std::env::var_os("DEP_TCH_LIBTORCH_LIB") else {
        panic!("torch-sys did not export DEP_TCH_LIBTORCH_LIB; libtorch's folder is unknown");
    };
    let lib = PathBuf::from(lib);
    // Both layouts (the PyTorch wheel's torch/lib and the libtorch archive's libtorch/lib) keep
    // the headers next to lib/.
    let root = lib.parent().map(PathBuf::from).unwrap_or_default();
    cc::Build::new()
        .cpp(true)
        .pic(true)
        .warnings(false)
        .include(root.join("include"))
        .include(root.join("include/torch/csrc/api/include"))
        .flag("-std=c++17")
        // Every libtorch since 2.7 (wheels and archives) uses the C++11 ABI.
        .flag("-D_GLIBCXX_USE_CXX11_ABI=1")
        .flag("-DGLOG_USE_GLOG_EXPORT")
        .file("cpp/autograd_shim.cpp")
        .compile("meshcast_autograd");

    println!("cargo:libtorch_lib={}", lib.display());
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    if lib.join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
    }
}
