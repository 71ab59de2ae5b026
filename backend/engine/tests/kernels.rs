//! The NVRTC path: every embedded source compiles to CUBIN (needs libnvrtc, not a GPU), a broken
//! source reports its name and the compiler log, and on a GPU the registry loads every function.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

mod common;

use meshcast_engine::kernels::{
    KernelError, KernelRegistry, SOURCES, compile_cubin, nvrtc_available,
};

/// CUBIN files are ELF images.
const ELF_MAGIC: &[u8] = b"\x7fELF";

#[test]
fn every_embedded_source_compiles_for_hopper_and_ampere() {
    assert!(
        nvrtc_available(),
        "libnvrtc not found: scripts/env.sh puts the venv's nvidia/cu13/lib on LD_LIBRARY_PATH"
    );
    for source in SOURCES {
        for arch in ["sm_80", "sm_90"] {
            let cubin = compile_cubin(source.name, source.code, arch, source.options)
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(cubin.starts_with(ELF_MAGIC), "{} for {arch}: not a CUBIN", source.name);
            for function in source.functions {
                let needle = function.as_bytes();
                assert!(
                    cubin.windows(needle.len()).any(|w| w == needle),
                    "{function} missing from {} CUBIN",
                    source.name
                );
            }
        }
    }
}

#[test]
fn compile_error_names_the_kernel_and_carries_the_log() {
    let broken = "extern \"C\" __global__ void oops(float* x) { x[0] = undeclared_thing; }";
    match compile_cubin("broken_example", broken, "sm_90", &[]) {
        Err(KernelError::Compile { kernel, arch, log }) => {
            assert_eq!(kernel, "broken_example");
            assert_eq!(arch, "sm_90");
            assert!(log.contains("undeclared_thing"), "log: {log}");
            let shown = KernelError::Compile { kernel, arch, log }.to_string();
            assert!(shown.contains("broken_example") && shown.contains("undeclared_thing"));
        }
        other => panic!("expected a compile error, got {other:?}"),
    }
}

#[test]
fn registry_loads_every_function_on_each_gpu() {
    for device in common::test_devices() {
        let tch::Device::Cuda(ordinal) = device else { continue };
        let registry = KernelRegistry::for_device(ordinal).unwrap_or_else(|e| panic!("{e}"));
        assert!(registry.arch().starts_with("sm_"));
        for source in SOURCES {
            for function in source.functions {
                registry.function(function).unwrap();
            }
        }
        assert!(matches!(registry.function("nope"), Err(KernelError::UnknownFunction(_))));
    }
}
