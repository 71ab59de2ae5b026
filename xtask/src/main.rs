//! `cargo xtask …`: build tasks that need more than cargo.
//!
//! `web` builds the web app the way a plain toolchain can (no trunk or cargo-leptos, which need a
//! newer rustc or download tools): cargo for wasm32 → wasm-bindgen → wasm-opt, plus the static
//! files, into `target/web`.

use std::path::{Path, PathBuf};
use std::process::Command;

mod photos;
mod shrink;

use anyhow::{Context, Result, bail, ensure};
use clap::{Parser, Subcommand};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Build the web app into target/web (wasm32 build, wasm-bindgen, wasm-opt).
    Web {
        /// Optimized build (size profile + wasm-opt -Oz); the default is a fast debug build.
        #[arg(long)]
        release: bool,
        /// Fail when the gzipped wasm exceeds this many bytes (release builds).
        #[arg(long, default_value_t = 600 * 1024)]
        max_gzip_bytes: u64,
    },
    /// Copy a NeRF-synthetic dataset with every STRIDE-th view, resized to SIZE pixels (test data).
    ShrinkDataset {
        /// Source dataset folder.
        src: PathBuf,
        /// Destination folder.
        dst: PathBuf,
        /// Longest image side.
        #[arg(long, default_value_t = 96)]
        size: u32,
        /// Keep every STRIDE-th frame of each split.
        #[arg(long, default_value_t = 1)]
        stride: usize,
    },
    /// Turn a NeRF-synthetic scene's training views into plain photos (JPEG on a light
    /// background, no alpha, no poses; true poses in truth.json) for the photo-path tests.
    Photos {
        /// Source dataset folder.
        src: PathBuf,
        /// Destination folder.
        dst: PathBuf,
        /// Longest image side.
        #[arg(long, default_value_t = 240)]
        size: u32,
        /// JPEG quality.
        #[arg(long, default_value_t = 90)]
        quality: u8,
    },
}

fn main() -> Result<()> {
    match Cli::parse().task {
        Task::Web { release, max_gzip_bytes } => web(release, max_gzip_bytes),
        Task::ShrinkDataset { src, dst, size, stride } => shrink::shrink(&src, &dst, size, stride),
        Task::Photos { src, dst, size, quality } => photos::photos(&src, &dst, size, quality),
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the workspace").to_owned()
}

fn run(command: &mut Command) -> Result<()> {
    eprintln!("    $ {command:?}");
    let status = command.status().with_context(|| {
        format!("cannot start {:?} (run scripts/setup.sh)", command.get_program())
    })?;
    ensure!(status.success(), "{:?} failed with {status}", command.get_program());
    Ok(())
}

fn web(release: bool, max_gzip_bytes: u64) -> Result<()> {
    let root = workspace_root();
    let out = root.join("target/web");
    let profile = if release { "release-wasm" } else { "dev" };
    let profile_dir = if release { "release-wasm" } else { "debug" };
    eprintln!("==> building the web app ({profile}) into {}", out.display());

    run(Command::new("cargo").current_dir(&root).args([
        "build",
        "--package",
        "meshcast-frontend",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        profile,
    ]))?;
    let wasm =
        root.join(format!("target/wasm32-unknown-unknown/{profile_dir}/meshcast_frontend.wasm"));

    std::fs::create_dir_all(&out)?;
    run(Command::new("wasm-bindgen")
        .arg(&wasm)
        .args(["--target", "web", "--no-typescript", "--out-name", "meshcast", "--out-dir"])
        .arg(&out))?;
    let bundle = out.join("meshcast_bg.wasm");
    if release {
        run(Command::new("wasm-opt")
            .args([
                "-Oz",
                "--enable-bulk-memory",
                "--enable-nontrapping-float-to-int",
                "--enable-sign-ext",
                "--enable-mutable-globals",
                "--enable-reference-types",
                "--enable-multivalue",
                "-o",
            ])
            .arg(&bundle)
            .arg(&bundle))?;
    }
    for file in ["index.html", "style.css"] {
        std::fs::copy(root.join("frontend").join(file), out.join(file))
            .with_context(|| format!("copy {file}"))?;
    }

    let raw = std::fs::metadata(&bundle)?.len();
    let gzipped = gzip_len(&std::fs::read(&bundle)?)?;
    eprintln!(
        "==> web app ready: meshcast_bg.wasm {} KiB, {} KiB gzipped",
        raw / 1024,
        gzipped / 1024
    );
    if release && gzipped > max_gzip_bytes {
        bail!("the gzipped wasm is {gzipped} bytes, over the {max_gzip_bytes}-byte budget");
    }
    Ok(())
}

/// Size after gzip at the level servers use, to check the download budget.
fn gzip_len(bytes: &[u8]) -> Result<u64> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len() as u64)
}
