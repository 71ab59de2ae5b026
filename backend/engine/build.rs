//! Links `libtorch_cuda` into the engine's test binaries and passes libtorch's folder on.
//!
//! torch-sys links `torch_cuda` without `--no-as-needed`, so the linker drops it (no symbol is
//! referenced) and CUDA stays invisible to libtorch. Binaries that link the engine repeat this
//! in their own build script with the folder exported here (`DEP_MESHCAST_TORCH_LIBTORCH_LIB`).

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let Some(lib) = std::env::var_os("DEP_TCH_LIBTORCH_LIB") else { return };
    let lib = std::path::PathBuf::from(lib);
    println!("cargo:libtorch_lib={}", lib.display());
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    if lib.join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
    }
}
