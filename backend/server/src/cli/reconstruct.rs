//! `meshcast reconstruct`: one reconstruction from a dataset folder to mesh files, with a
//! progress bar; Ctrl-C stops after the current iteration and still writes the current mesh.
//! A folder of plain photos (no poses) first gets poses from COLMAP and estimated masks, in
//! `OUT/poses`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use meshcast_engine::dataset::colmap::solve::Colmap;
use meshcast_engine::dataset::mask::BorderColourModel;
use meshcast_engine::dataset::photos::{PhotoOptions, photo_files, prepare};
use meshcast_engine::dataset::{LoadOptions, is_posed, load};
use meshcast_engine::device_label;
use meshcast_engine::nvdiffrec::{
    Config, Observer, Preset, Progress, RunFiles, Stage, reconstruct,
};
use meshcast_server::config::DeviceChoice;

/// Which model to run.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Model {
    /// Mesh, materials and light optimized through differentiable rendering.
    Nvdiffrec,
    /// Feed-forward TRELLIS + VGGT (not available from the command line yet).
    Reconviagen,
}

/// Arguments of `meshcast reconstruct`.
#[derive(Debug, Args)]
pub struct ReconstructArgs {
    /// Model to run.
    #[arg(long, value_enum, default_value_t = Model::Nvdiffrec)]
    model: Model,
    /// Dataset folder: transforms_train.json (+ transforms_test.json), transforms.json, a
    /// COLMAP model (sparse/ + images/), or plain photos (poses from COLMAP, masks estimated).
    #[arg(long)]
    dataset: PathBuf,
    /// Output folder for mesh.glb, mesh.obj, metrics.json and the checkpoint.
    #[arg(long)]
    out: PathBuf,
    /// Settings to start from: tiny (CPU), default (one GPU), high.
    #[arg(long, default_value = "default")]
    preset: String,
    /// JSON file whose keys override the preset's settings.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Device: auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto", value_parser = DeviceChoice::parse)]
    device: DeviceChoice,
    /// Iterations of pass 1 (overrides the preset and the config file).
    #[arg(long)]
    iters: Option<u32>,
    /// Continue from the checkpoint in OUT/checkpoint.
    #[arg(long)]
    resume: bool,
}

/// Whether the run finished or was interrupted (the caller picks the exit code).
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every iteration ran.
    Finished,
    /// Ctrl-C stopped it; the current mesh was written.
    Interrupted,
}

/// The progress bar on a terminal; on a pipe (logs, CI) plain lines instead: the first
/// iteration, every 5%, and at least every 10 seconds.
struct Bar {
    bar: ProgressBar,
    pass: u8,
    psnr: Option<f64>,
    plain_every: Option<u32>,
    last_line: Instant,
}

impl Observer for Bar {
    fn progress(&mut self, p: &Progress) {
        if p.psnr.is_some() {
            self.psnr = p.psnr;
        }
        let psnr = self.psnr.map_or(String::new(), |v| format!(" · PSNR {v:.2} dB"));
        if self.bar.length() != Some(u64::from(p.iterations)) || self.pass != p.pass {
            self.bar.set_length(u64::from(p.iterations));
            self.bar.reset_eta();
            self.pass = p.pass;
            self.psnr = None;
        }
        self.bar.set_prefix(format!("pass {}", p.pass));
        self.bar.set_position(u64::from(p.iteration));
        let message = format!(
            "loss {:.4}{psnr} · {:.2} it/s · {} triangles",
            p.losses.total, p.iterations_per_second, p.triangles
        );
        if let Some(every) = self.plain_every
            && (p.iteration == 1
                || p.iteration.is_multiple_of(every)
                || p.iteration == p.iterations
                || self.last_line.elapsed().as_secs() >= 10)
        {
            eprintln!("pass {} iteration {}/{}: {message}", p.pass, p.iteration, p.iterations);
            self.last_line = Instant::now();
        }
        self.bar.set_message(message);
    }

    fn stage(&mut self, stage: Stage) {
        if stage == Stage::UnwrapBake {
            let line = "unwrapping and baking textures…";
            if self.plain_every.is_some() { eprintln!("{line}") } else { self.bar.println(line) }
        }
    }
}

/// Settings from the preset, the config file and `--iters`, checked before anything runs.
fn settings(args: &ReconstructArgs) -> Result<Config> {
    let preset = Preset::parse(&args.preset)?;
    let mut overrides = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config file {}", path.display()))?;
            serde_json::from_str::<serde_json::Value>(&text)
                .with_context(|| format!("{} is not valid JSON", path.display()))?
        }
        None => serde_json::json!({}),
    };
    if let Some(iters) = args.iters {
        let Some(object) = overrides.as_object_mut() else {
            bail!("the config file must hold a JSON object");
        };
        object.insert("iterations".into(), iters.into());
    }
    Ok(Config::from_preset_and_json(preset, Some(&overrides))?)
}

/// Poses (COLMAP) and masks for the plain photos in `photos`, in `workspace`, with a progress
/// bar per stage; the posed dataset's folder.
fn poses_for_photos(photos: &Path, workspace: &Path, cancel: &AtomicBool) -> Result<PathBuf> {
    let colmap = Colmap::default();
    let version = colmap.version()?;
    eprintln!("{}: no poses; computing them with COLMAP {version}", photos.display());
    let bar = ProgressBar::new(1000);
    bar.set_style(ProgressStyle::with_template("{prefix:>26} [{bar:30}] {percent}% · {elapsed}")?);
    let mut current = None;
    let solved = prepare(
        photos,
        workspace,
        &PhotoOptions::default(),
        &colmap,
        &BorderColourModel::default(),
        cancel,
        |stage, fraction| {
            if current != Some(stage) {
                current = Some(stage);
                bar.set_prefix(stage.label());
            }
            bar.set_position((fraction * 1000.0) as u64);
        },
    )?;
    bar.finish_and_clear();
    eprintln!(
        "COLMAP registered {} of {} photos; dataset with masks in {}",
        solved.registered,
        solved.total,
        solved.dir.display()
    );
    Ok(solved.dir)
}

/// Runs the reconstruction; Ctrl-C (SIGINT) stops it gracefully.
pub async fn run(args: ReconstructArgs) -> Result<Outcome> {
    if let Model::Reconviagen = args.model {
        bail!("--model reconviagen is not available from the command line yet; use nvdiffrec");
    }
    let config = settings(&args)?;
    let device = args
        .device
        .resolve()
        .map_err(|reason| anyhow::anyhow!("device {}: {reason}", args.device))?;
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\ninterrupted: finishing the current step and writing what there is…");
            flag.store(true, Ordering::Relaxed);
        }
    });
    // A folder with neither poses nor photos goes to `load`, whose error names what is missing.
    let source = if is_posed(&args.dataset) || photo_files(&args.dataset).is_empty() {
        args.dataset.clone()
    } else {
        let (photos, workspace, stop) =
            (args.dataset.clone(), args.out.join("poses"), cancel.clone());
        tokio::task::spawn_blocking(move || poses_for_photos(&photos, &workspace, &stop))
            .await
            .context("the COLMAP thread panicked")??
    };
    let dataset = load(&source, LoadOptions { max_side: config.image_size })
        .with_context(|| format!("cannot load dataset {}", source.display()))?;
    eprintln!(
        "{}: {} training and {} test views at {}×{}; preset {} on {}",
        args.dataset.display(),
        dataset.train.len(),
        dataset.test.len(),
        dataset.size.0,
        dataset.size.1,
        args.preset,
        device_label(device)
    );
    let out = args.out.clone();
    let resume = args.resume;
    let work = tokio::task::spawn_blocking(move || -> Result<Outcome> {
        let bar = ProgressBar::new(u64::from(config.iterations));
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} · ETA {eta}")?
                .progress_chars("=> "),
        );
        let plain_every =
            (!std::io::stderr().is_terminal()).then(|| (config.iterations / 20).max(1));
        let mut observer = Bar { bar, pass: 1, psnr: None, plain_every, last_line: Instant::now() };
        let metrics = reconstruct(
            &dataset,
            &config,
            device,
            &mut observer,
            &cancel,
            RunFiles { out: &out, resume, mesh_on_cancel: true },
        )?;
        observer.bar.finish();
        if let Some(test) = metrics.test {
            eprintln!(
                "test views: PSNR {:.2} dB, mask IoU {:.3}; {} triangles",
                test.psnr, test.mask_iou, metrics.triangles
            );
        }
        eprintln!("wrote {}/mesh.glb, mesh.obj and metrics.json", out.display());
        Ok(if metrics.stopped_early { Outcome::Interrupted } else { Outcome::Finished })
    });
    let outcome = work.await.context("the reconstruction thread panicked")?;
    watcher.abort();
    outcome
}
