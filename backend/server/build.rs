//! Links `libtorch_cuda` with `--no-as-needed` (see backend/engine/build.rs for why) and records
//! libtorch's folder as the binary's run path.

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_MESHCAST_TORCH_LIBTORCH_LIB");
    let Some(lib) = std::env::var_os("DEP_MESHCAST_TORCH_LIBTORCH_LIB") else { return };
    let lib = std::path::PathBuf::from(lib);
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    if lib.join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
    }
}
