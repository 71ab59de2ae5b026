//! The worker: takes queued jobs one at a time and runs each on a blocking thread, so the
//! async runtime (HTTP, sockets) never waits on the GPU.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use meshcast_shared::{JobState, ProgressPoint, ResultInfo, StageProgress};
use tokio::runtime::Handle;

use super::live::LiveJob;
use super::reconstructor::{JobEvents, RunRequest, RunSummary};
use super::{Jobs, now_ms, obj_zip};
use crate::db::{Db, Finish};

/// How often a running job's progress is written to the database (the live socket gets every
/// iteration; the row only needs to be recent after a crash).
const PERSIST_EVERY: Duration = Duration::from_secs(5);

/// Runs forever, one job at a time.
pub(super) async fn run(jobs: Jobs) {
    loop {
        let id = jobs.inner.queue.pop().await;
        if let Err(error) = run_one(&jobs, &id).await {
            tracing::error!(job = %id, %error, "job bookkeeping failed");
        }
    }
}

async fn run_one(jobs: &Jobs, id: &str) -> Result<(), super::JobError> {
    let db = jobs.inner.db.clone();
    let Some(record) = db.job(id).await? else { return Ok(()) };
    let Some(model) = jobs.inner.models.get(&record.status.model).cloned() else {
        // Queued by an earlier server that had this model (a restart recovers it).
        let error = format!("{} is not available on this server", record.status.model);
        let finish = Finish {
            state: JobState::Failed,
            error: Some(error),
            result: None,
            progress: None,
            finished_ms: now_ms(),
        };
        db.finish_job(id, finish).await?;
        return Ok(());
    };
    if !db.start_job(id, now_ms()).await? {
        return Ok(()); // cancelled while queued
    }
    let status = jobs.status(id).await?;
    let live = jobs.inner.live.get_or_open(status.clone());
    live.update_status(|s| *s = status);
    let cancel = Arc::new(AtomicBool::new(false));
    jobs.inner
        .cancels
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(id.to_owned(), cancel.clone());
    // A DELETE between starting the row and registering the flag found no flag to set.
    if db.job(id).await?.is_some_and(|r| r.status.state != JobState::Running) {
        cancel.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    tracing::info!(job = %id, model = %record.status.model, "job started");

    let dir = jobs.dir(id);
    let options: serde_json::Value =
        serde_json::from_str(&record.config).unwrap_or_else(|_| serde_json::json!({}));
    let device = jobs.inner.device;
    let events_live = live.clone();
    let events_db = db.clone();
    let job_id = id.to_owned();
    let handle = Handle::current();
    let outcome = tokio::task::spawn_blocking(move || {
        let mut events = Events {
            id: job_id,
            live: events_live,
            db: events_db,
            handle,
            last_persist: Instant::now(),
            last: None,
        };
        let request = RunRequest {
            input: &dir.input(),
            out: &dir.out(),
            options: &options,
            device,
            cancel: &cancel,
        };
        let summary = model.run(request, &mut events);
        if let Ok(s) = &summary
            && !s.cancelled
        {
            obj_zip::write(&dir.out(), &dir.obj_zip())?;
        }
        summary.map(|s| (s, events.last))
    })
    .await;
    jobs.inner.cancels.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(id);

    let finished_ms = now_ms();
    let finish = match outcome {
        Ok(Ok((summary, last))) => finish_run(jobs, id, summary, last, finished_ms).await,
        Ok(Err(error)) => {
            tracing::warn!(job = %id, %error, "job failed");
            Finish {
                state: JobState::Failed,
                error: Some(error),
                result: None,
                progress: None,
                finished_ms,
            }
        }
        Err(panic) => {
            tracing::error!(job = %id, error = %panic, "job panicked");
            Finish {
                state: JobState::Failed,
                error: Some(
                    "internal error: the reconstruction crashed (see the server log)".into(),
                ),
                result: None,
                progress: None,
                finished_ms,
            }
        }
    };
    // False when DELETE already marked it cancelled; its row stays as the person left it.
    db.finish_job(id, finish).await?;
    let status = jobs.status(id).await?;
    tracing::info!(job = %id, state = status.state.as_str(), "job ended");
    live.update_status(|s| *s = status);
    Ok(())
}

async fn finish_run(
    jobs: &Jobs,
    id: &str,
    summary: RunSummary,
    last: Option<ProgressPoint>,
    finished_ms: i64,
) -> Finish {
    let progress = last.and_then(|p| serde_json::to_string(&p).ok());
    if summary.cancelled {
        return Finish {
            state: JobState::Cancelled,
            error: None,
            result: None,
            progress,
            finished_ms,
        };
    }
    let glb_bytes = tokio::fs::metadata(jobs.dir(id).glb()).await.map_or(0, |m| m.len());
    if glb_bytes == 0 {
        return Finish {
            state: JobState::Failed,
            error: Some("the reconstruction produced an empty mesh".into()),
            result: None,
            progress,
            finished_ms,
        };
    }
    let result = ResultInfo {
        triangles: summary.triangles,
        vertices: summary.vertices,
        psnr: summary.psnr,
        glb_bytes,
    };
    Finish {
        state: JobState::Done,
        error: None,
        result: serde_json::to_string(&result).ok(),
        progress,
        finished_ms,
    }
}

/// Run reports → live channels (every one) and the database (stages, and progress now and
/// then). Database writes are spawned on the runtime so the run never waits for the disk.
struct Events {
    id: String,
    live: Arc<LiveJob>,
    db: Db,
    handle: Handle,
    last_persist: Instant,
    last: Option<ProgressPoint>,
}

impl Events {
    fn persist(&mut self, stage: Option<String>) {
        let (db, id) = (self.db.clone(), self.id.clone());
        let progress = self.last.and_then(|p| serde_json::to_string(&p).ok());
        let stage = stage.or_else(|| self.live.status.borrow().stage.clone()).unwrap_or_default();
        self.handle.spawn(async move {
            if let Err(error) = db.set_stage(&id, &stage, progress).await {
                tracing::warn!(job = %id, %error, "cannot record progress");
            }
        });
        self.last_persist = Instant::now();
    }
}

impl JobEvents for Events {
    fn stage(&mut self, stage: &str) {
        self.live.update_status(|s| {
            s.stage = Some(stage.to_owned());
            s.stage_progress = None;
        });
        self.persist(Some(stage.to_owned()));
    }

    fn stage_progress(&mut self, fraction: f64, detail: &str) {
        let fraction = if fraction.is_finite() { fraction.clamp(0.0, 1.0) } else { 0.0 };
        let (changed, advanced) = match &self.live.status.borrow().stage_progress {
            Some(p) => (p.detail != detail, fraction - p.fraction),
            None => (true, 1.0),
        };
        // Every socket gets the whole status on each change: send a new step at once, the
        // bar only when it moved a percent.
        if changed || advanced >= 0.01 || (fraction >= 1.0 && advanced > 0.0) {
            let progress = StageProgress { fraction, detail: detail.to_owned() };
            self.live.update_status(|s| s.stage_progress = Some(progress));
        }
    }

    fn progress(&mut self, point: ProgressPoint) {
        self.last = Some(point);
        self.live.push_progress(point);
        if self.last_persist.elapsed() >= PERSIST_EVERY {
            self.persist(None);
        }
    }

    fn frame(&mut self, frame: Vec<u8>) {
        self.live.frame.send_replace(Some(frame.into()));
    }
}
