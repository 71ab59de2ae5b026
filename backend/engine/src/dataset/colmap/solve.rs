//! Camera poses for photos that have none: COLMAP (the Debian `colmap` package) as a
//! subprocess. Feature extraction (one shared SIMPLE_RADIAL camera, CPU SIFT), matching
//! (exhaustive up to [`EXHAUSTIVE_LIMIT`] views, else sequential, as a captured ring is taken
//! in order), incremental mapping, then undistortion to a PINHOLE model that [`super::ColmapModel`]
//! reads. Each step runs under the run's time limit and cancel flag, with its output in
//! `colmap.log` and its progress parsed from that output.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{ColmapError, ColmapModel};

/// Views up to which every pair is matched.
pub const EXHAUSTIVE_LIMIT: usize = 100;

/// Why COLMAP did not give poses.
#[derive(Debug, thiserror::Error)]
pub enum SolveError {
    /// The program is not there.
    #[error(
        "COLMAP is not installed (`{program}` not found); install the Debian package `colmap` (scripts/setup.sh does) or upload a posed dataset"
    )]
    NotInstalled {
        /// The program looked for.
        program: PathBuf,
    },
    /// A step exited with an error.
    #[error("COLMAP {step} failed ({status}); its last output:\n{log_tail}")]
    Failed {
        /// `feature_extractor`, `exhaustive_matcher`, …
        step: &'static str,
        /// The exit status.
        status: String,
        /// It exited with a code (rather than being killed by a signal).
        exited: bool,
        /// The end of `colmap.log`.
        log_tail: String,
    },
    /// The run's time limit passed during a step.
    #[error("COLMAP {step} did not finish within the time limit of {limit:?}")]
    TimedOut {
        /// The step that was stopped.
        step: &'static str,
        /// The limit.
        limit: Duration,
    },
    /// Cancelled by the caller.
    #[error("cancelled during COLMAP {step}")]
    Cancelled {
        /// The step that was stopped.
        step: &'static str,
    },
    /// Too few views got a pose.
    #[error(
        "COLMAP registered {registered} of {total} views (at least {needed} are needed): photograph a more textured object or surface, take more views with more overlap, or upload a posed dataset"
    )]
    TooFewRegistered {
        /// Views with a pose.
        registered: usize,
        /// Views given.
        total: usize,
        /// The minimum.
        needed: usize,
    },
    /// Reading or writing the workspace.
    #[error("COLMAP workspace {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The model COLMAP wrote does not read.
    #[error(transparent)]
    Model(#[from] ColmapError),
}

/// The COLMAP steps, in order, for progress reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SolveStep {
    /// SIFT features per image.
    Features,
    /// Feature matching between images.
    Matching,
    /// Incremental structure from motion.
    Mapping,
    /// Undistorted images and a PINHOLE model.
    Undistortion,
}

/// Where the poses are: `dir/images`, `dir/sparse` (PINHOLE), as `dataset::load` reads them.
#[derive(Debug, Clone)]
pub struct Solved {
    /// The undistorted dataset folder.
    pub dir: PathBuf,
    /// The mapper's model (distorted camera) the undistorted one was made from.
    pub model: PathBuf,
    /// Views with a pose.
    pub registered: usize,
    /// Views given.
    pub total: usize,
}

/// The COLMAP program and the run's limits.
#[derive(Debug, Clone)]
pub struct Colmap {
    /// The executable (`colmap` on the PATH by default).
    pub program: PathBuf,
    /// Wall-clock limit of the whole run.
    pub time_limit: Duration,
    /// Fewest registered views accepted, and at least this share of the views given.
    pub min_registered: usize,
    /// Share of the views that must be registered.
    pub min_registered_share: f64,
}

impl Default for Colmap {
    fn default() -> Self {
        Self {
            program: PathBuf::from("colmap"),
            time_limit: Duration::from_secs(30 * 60),
            min_registered: 8,
            min_registered_share: 0.5,
        }
    }
}

impl Colmap {
    /// COLMAP's version (`3.8` from "COLMAP 3.8 -- Structure-from-Motion …"), or why not.
    pub fn version(&self) -> Result<String, SolveError> {
        let output = Command::new(&self.program)
            .arg("help")
            .stdin(Stdio::null())
            .output()
            .map_err(|_| SolveError::NotInstalled { program: self.program.clone() })?;
        let text = String::from_utf8_lossy(&output.stdout);
        text.lines()
            .find_map(|line| line.strip_prefix("COLMAP "))
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_owned)
            .ok_or(SolveError::NotInstalled { program: self.program.clone() })
    }

    /// Poses for the `total` images in `images` (a flat folder), computed in `workspace`.
    /// `on_progress(step, fraction)` follows the steps.
    pub fn solve(
        &self,
        images: &Path,
        total: usize,
        workspace: &Path,
        cancel: &AtomicBool,
        mut on_progress: impl FnMut(SolveStep, f64),
    ) -> Result<Solved, SolveError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| SolveError::Io { path, source }
        };
        std::fs::create_dir_all(workspace).map_err(io(workspace))?;
        let database = workspace.join("database.db");
        let sparse = workspace.join("sparse");
        let undistorted = workspace.join("undistorted");
        for stale in [&sparse, &undistorted] {
            if stale.exists() {
                std::fs::remove_dir_all(stale).map_err(io(stale))?;
            }
        }
        if database.exists() {
            std::fs::remove_file(&database).map_err(io(&database))?;
        }
        std::fs::create_dir_all(&sparse).map_err(io(&sparse))?;
        let run = Run {
            colmap: self,
            log: workspace.join("colmap.log"),
            started: Instant::now(),
            cancel,
            total,
        };
        let db = database.to_string_lossy().into_owned();
        let image_dir = images.to_string_lossy().into_owned();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).to_string();
        run.step(
            "feature_extractor",
            SolveStep::Features,
            &[
                "--database_path",
                &db,
                "--image_path",
                &image_dir,
                "--ImageReader.single_camera",
                "1",
                "--ImageReader.camera_model",
                "SIMPLE_RADIAL",
                "--SiftExtraction.use_gpu",
                "0",
                "--SiftExtraction.num_threads",
                &threads,
            ],
            &mut on_progress,
        )?;
        let (matcher, extra): (&'static str, &[&str]) = if total <= EXHAUSTIVE_LIMIT {
            ("exhaustive_matcher", &[])
        } else {
            ("sequential_matcher", &["--SequentialMatching.overlap", "20"])
        };
        let mut args = vec!["--database_path", db.as_str(), "--SiftMatching.use_gpu", "0"];
        args.extend_from_slice(extra);
        run.step(matcher, SolveStep::Matching, &args, &mut on_progress)?;
        let needed = self
            .min_registered
            .max((self.min_registered_share * total as f64).ceil() as usize)
            .min(total.max(1));
        let sparse_dir = sparse.to_string_lossy().into_owned();
        // A model smaller than what is accepted is discarded, so the mapper goes on to another
        // initial pair instead of keeping one that stalled: on small or symmetric objects an
        // unlucky pair can stop at a dozen views (seen: 11 of 100 with the default of 10).
        let min_model_size = needed.to_string();
        match run.step(
            "mapper",
            SolveStep::Mapping,
            &[
                "--database_path",
                &db,
                "--image_path",
                &image_dir,
                "--output_path",
                &sparse_dir,
                "--Mapper.min_model_size",
                &min_model_size,
            ],
            &mut on_progress,
        ) {
            // The mapper exits with an error when it finds no initial pair: too few views
            // register, which the count below reports with what to do. A crash (a signal) is
            // reported as such.
            Err(SolveError::Failed { exited: true, .. }) | Ok(()) => {}
            Err(other) => return Err(other),
        }
        // The mapper may split the views into several models (sparse/0, sparse/1, …): keep the
        // one with the most views.
        let mut best: Option<(usize, PathBuf)> = None;
        for entry in std::fs::read_dir(&sparse).map_err(io(&sparse))? {
            let dir = entry.map_err(io(&sparse))?.path();
            if let Ok(model) = ColmapModel::read(&dir) {
                let n = model.images.len();
                if best.as_ref().is_none_or(|(m, _)| n > *m) {
                    best = Some((n, dir));
                }
            }
        }
        let registered = best.as_ref().map_or(0, |(n, _)| *n);
        let Some((_, model_dir)) = best.filter(|_| registered >= needed) else {
            return Err(SolveError::TooFewRegistered { registered, total, needed });
        };
        run.undistort(images, &model_dir, &undistorted, &mut on_progress)?;
        Ok(Solved { dir: undistorted, model: model_dir, registered, total })
    }

    /// Undistorts other images named as the solved views (uploaded masks) exactly as the views
    /// were: `out/images/<name>` for each of `solved.registered` views.
    pub fn undistort(
        &self,
        solved: &Solved,
        images: &Path,
        out: &Path,
        cancel: &AtomicBool,
        mut on_progress: impl FnMut(f64),
    ) -> Result<(), SolveError> {
        if out.exists() {
            std::fs::remove_dir_all(out)
                .map_err(|source| SolveError::Io { path: out.to_owned(), source })?;
        }
        let log = out.with_file_name("undistort.log");
        let run =
            Run { colmap: self, log, started: Instant::now(), cancel, total: solved.registered };
        run.undistort(images, &solved.model, out, &mut |_, f| on_progress(f))
    }
}

/// One run's shared state.
struct Run<'a> {
    colmap: &'a Colmap,
    log: PathBuf,
    started: Instant,
    cancel: &'a AtomicBool,
    total: usize,
}

impl Run<'_> {
    /// `image_undistorter`: `images` seen through `model`'s cameras → a PINHOLE model in `out`.
    fn undistort(
        &self,
        images: &Path,
        model: &Path,
        out: &Path,
        on_progress: &mut impl FnMut(SolveStep, f64),
    ) -> Result<(), SolveError> {
        let (images, model) = (images.to_string_lossy(), model.to_string_lossy());
        let out = out.to_string_lossy();
        self.step(
            "image_undistorter",
            SolveStep::Undistortion,
            &[
                "--image_path",
                &images,
                "--input_path",
                &model,
                "--output_path",
                &out,
                "--output_type",
                "COLMAP",
            ],
            on_progress,
        )
    }

    /// Runs `colmap <step> <args>` to completion, reporting progress parsed from its output.
    fn step(
        &self,
        step: &'static str,
        which: SolveStep,
        args: &[&str],
        on_progress: &mut impl FnMut(SolveStep, f64),
    ) -> Result<(), SolveError> {
        let io = |source| SolveError::Io { path: self.log.clone(), source };
        let log = File::options().create(true).append(true).open(&self.log).map_err(io)?;
        let offset = log.metadata().map_err(io)?.len();
        let mut child = Command::new(&self.colmap.program)
            .arg(step)
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(io)?)
            .stderr(log)
            .spawn()
            .map_err(|_| SolveError::NotInstalled { program: self.colmap.program.clone() })?;
        on_progress(which, 0.0);
        let mut reader = File::open(&self.log).map_err(io)?;
        reader.seek(SeekFrom::Start(offset)).map_err(io)?;
        let mut pending = String::new();
        let mut reported = 0.0;
        loop {
            let status = child.try_wait().map_err(io)?;
            let mut chunk = Vec::new();
            reader.read_to_end(&mut chunk).map_err(io)?;
            pending.push_str(&String::from_utf8_lossy(&chunk));
            if let Some(end) = pending.rfind('\n') {
                for line in pending[..end].lines() {
                    // The mapper starts over from another initial pair when one stalls: the
                    // bar holds its furthest point rather than running backwards.
                    match progress(which, line, self.total) {
                        Some(fraction) if fraction > reported => {
                            reported = fraction;
                            on_progress(which, fraction);
                        }
                        _ => {}
                    }
                }
                pending.drain(..=end);
            }
            if let Some(status) = status {
                if status.success() {
                    on_progress(which, 1.0);
                    return Ok(());
                }
                return Err(SolveError::Failed {
                    step,
                    status: status.to_string(),
                    exited: status.code().is_some(),
                    log_tail: tail(&self.log, 20),
                });
            }
            let stop = if self.cancel.load(Ordering::Relaxed) {
                Some(SolveError::Cancelled { step })
            } else if self.started.elapsed() > self.colmap.time_limit {
                Some(SolveError::TimedOut { step, limit: self.colmap.time_limit })
            } else {
                None
            };
            if let Some(error) = stop {
                // Already exited between the two checks is fine: either way it is gone.
                let _ = child.kill();
                let _ = child.wait();
                return Err(error);
            }
            // The engine runs on blocking threads (the server's worker, the CLI): polling the
            // child here stalls no async runtime.
            #[allow(clippy::disallowed_methods)]
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The fraction of `step` done that a line of COLMAP's output reports, if any:
/// "Processed file [12/100]", "Matching block [2/4, 3/4]", "Registering image #7 (12)",
/// "Undistorting image [5/100]".
pub fn progress(step: SolveStep, line: &str, total: usize) -> Option<f64> {
    let bracket = |prefix: &str| -> Option<Vec<(f64, f64)>> {
        let rest = line.trim().strip_prefix(prefix)?.trim().strip_prefix('[')?;
        let inside = rest.split(']').next()?;
        inside
            .split(',')
            .map(|pair| {
                let (a, b) = pair.trim().split_once('/')?;
                Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
            })
            .collect()
    };
    let fraction = match step {
        SolveStep::Features => bracket("Processed file").and_then(|p| {
            let (i, n) = *p.first()?;
            Some(i / n)
        }),
        SolveStep::Matching => bracket("Matching block").and_then(|p| match p[..] {
            [(i, n), (j, m)] => Some(((i - 1.0) * m + j) / (n * m)),
            [(i, n)] => Some(i / n),
            _ => None,
        }),
        SolveStep::Mapping => {
            let rest = line.trim().strip_prefix("Registering image #")?;
            let count = rest.split('(').nth(1)?.split(')').next()?.trim().parse::<f64>().ok()?;
            Some(count / total.max(1) as f64)
        }
        SolveStep::Undistortion => bracket("Undistorting image").and_then(|p| {
            let (i, n) = *p.first()?;
            Some(i / n)
        }),
    }?;
    fraction.is_finite().then_some(fraction.clamp(0.0, 1.0))
}

/// The last `lines` lines of the log, for error messages.
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
