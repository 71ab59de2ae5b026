//! Jobs: uploads become queued jobs, one worker per device runs them, live state fans out to
//! viewers, and a restart resumes or fails what was running.

pub mod layout;
pub mod live;
pub mod nvdiffrec;
mod obj_zip;
pub mod queue;
pub mod reconstructor;
pub mod reconviagen;
pub mod token;
pub mod unzip;
pub mod upload;
mod worker;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use meshcast_engine::tch;
use meshcast_shared::{JobState, JobStatus, ModelName};

use crate::db::{Db, DbError, Finish, NewJob};
use layout::JobDir;
use live::{LiveHub, LiveJob};
use queue::Queue;
use reconstructor::Reconstructor;
pub use upload::UploadError;
use upload::{Source, Upload};

/// Why a job request failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The upload was refused.
    #[error(transparent)]
    Upload(#[from] UploadError),
    /// Too many jobs wait already.
    #[error("the queue is full ({0} jobs waiting); try again in a minute")]
    QueueFull(usize),
    /// No job has this id.
    #[error("no job {0}")]
    NotFound(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Files could not be written.
    #[error("storage: {0}")]
    Storage(String),
}

/// The job system, cheap to clone.
#[derive(Debug, Clone)]
pub struct Jobs {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: Db,
    data_dir: PathBuf,
    device: tch::Device,
    queue: Queue,
    live: LiveHub,
    cancels: Mutex<HashMap<String, Arc<AtomicBool>>>,
    models: HashMap<ModelName, Arc<dyn Reconstructor>>,
}

/// Milliseconds since the Unix epoch, as the database stores times.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Jobs {
    /// Builds the job system; call [`Jobs::start`] inside a tokio runtime to run the worker.
    pub fn new(
        db: Db,
        data_dir: PathBuf,
        device: tch::Device,
        queue_capacity: usize,
        models: HashMap<ModelName, Arc<dyn Reconstructor>>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                data_dir,
                device,
                queue: Queue::new(queue_capacity),
                live: LiveHub::default(),
                cancels: Mutex::new(HashMap::new()),
                models,
            }),
        }
    }

    /// Recovers jobs a previous process left queued or running, then starts the worker.
    pub async fn start(&self) -> Result<(), DbError> {
        self.recover().await?;
        tokio::spawn(worker::run(self.clone()));
        Ok(())
    }

    /// Queued jobs go back in the queue; a running job resumes from its checkpoint when it has
    /// one, else it fails with "interrupted by restart".
    async fn recover(&self) -> Result<(), DbError> {
        let db = &self.inner.db;
        for id in db.job_ids_in_state(JobState::Running).await? {
            let checkpoint = JobDir::new(&self.inner.data_dir, &id).out().join("checkpoint");
            if meshcast_engine::nvdiffrec::checkpoint::exists(&checkpoint) {
                tracing::info!(job = %id, "resuming from its checkpoint after a restart");
                db.requeue_job(&id).await?;
            } else {
                tracing::warn!(job = %id, "was running at shutdown and has no checkpoint");
                db.finish_job(
                    &id,
                    Finish {
                        state: JobState::Failed,
                        error: Some("interrupted by restart".into()),
                        result: None,
                        progress: None,
                        finished_ms: now_ms(),
                    },
                )
                .await?;
            }
        }
        for id in db.job_ids_in_state(JobState::Queued).await? {
            self.inner.queue.push_recovered(id);
        }
        Ok(())
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The files of job `id`.
    pub fn dir(&self, id: &str) -> JobDir {
        JobDir::new(&self.inner.data_dir, id)
    }

    /// Whether `model` can run here, and why not.
    pub fn availability(&self, model: ModelName) -> Result<(), String> {
        match self.inner.models.get(&model) {
            Some(m) => m.availability(),
            None => Err(format!("{model} is not part of this build of meshcast yet")),
        }
    }

    /// `Some(jobs waiting)` when an upload would be refused with 429 right now.
    pub fn queue_full(&self) -> Option<usize> {
        self.inner.queue.is_full().then(|| self.inner.queue.len())
    }

    /// A fresh staging folder for an upload, and the job id it will become.
    pub fn stage(&self) -> Result<(String, PathBuf), JobError> {
        let id = token::random_token().map_err(|e| JobError::Storage(e.to_string()))?;
        let staging = JobDir::staging(&self.inner.data_dir, &id);
        std::fs::create_dir_all(&staging).map_err(|e| JobError::Storage(e.to_string()))?;
        Ok((id, staging))
    }

    /// Checks a read upload, moves it into place and queues the job. The staging folder is
    /// gone afterwards whatever happens.
    pub async fn submit(
        &self,
        id: String,
        staging: PathBuf,
        upload: Upload,
    ) -> Result<JobStatus, JobError> {
        let result = self.submit_staged(&id, &staging, upload).await;
        if staging.exists() {
            let _ = tokio::fs::remove_dir_all(&staging).await;
        }
        result
    }

    async fn submit_staged(
        &self,
        id: &str,
        staging: &Path,
        upload: Upload,
    ) -> Result<JobStatus, JobError> {
        let model_name = upload.model;
        let model = self
            .availability(model_name)
            .and_then(|()| {
                self.inner.models.get(&model_name).cloned().ok_or_else(|| "not built in".into())
            })
            .map_err(|reason| UploadError::ModelUnavailable { model: model_name, reason })?;
        let device = self.inner.device;
        let options = upload.options.clone();
        let staging_owned = staging.to_owned();
        let source = upload.source;
        // Unpacking and decoding every image is blocking work.
        tokio::task::spawn_blocking(move || -> Result<(), UploadError> {
            let input = staging_owned.join("input");
            match source {
                Source::Zip(zip) => {
                    let unpacked = staging_owned.join("unpacked");
                    std::fs::create_dir_all(&unpacked)
                        .map_err(|e| UploadError::Storage(e.to_string()))?;
                    let file = std::fs::File::open(&zip)
                        .map_err(|e| UploadError::Storage(e.to_string()))?;
                    let root = unzip::extract(
                        std::io::BufReader::new(file),
                        &unpacked,
                        unzip::ZipLimits::default(),
                    )?;
                    std::fs::rename(&root, &input)
                        .map_err(|e| UploadError::Storage(e.to_string()))?;
                    let _ = std::fs::remove_dir_all(&unpacked);
                    let _ = std::fs::remove_file(&zip);
                }
                // Views without poses are plain photos: the model's check decides (nvdiffrec
                // gets their poses from COLMAP when the job runs).
                Source::Views { dir, .. } => {
                    std::fs::rename(&dir, &input)
                        .map_err(|e| UploadError::Storage(e.to_string()))?;
                }
            }
            model.check(&input, &options, device).map_err(UploadError::Dataset)
        })
        .await
        .map_err(|e| JobError::Storage(format!("upload check failed: {e}")))??;

        let dir = self.dir(id);
        std::fs::create_dir_all(dir.out())
            .and_then(|()| std::fs::rename(staging.join("input"), dir.input()))
            .map_err(|e| JobError::Storage(e.to_string()))?;
        let config = serde_json::to_string(&upload.options).unwrap_or_else(|_| "{}".into());
        let job = NewJob {
            id: id.to_owned(),
            model: upload.model,
            name: upload.name,
            config,
            created_ms: now_ms(),
        };
        if self.inner.queue.is_full() {
            let _ = tokio::fs::remove_dir_all(dir.root()).await;
            return Err(JobError::QueueFull(self.inner.queue.len()));
        }
        self.inner.db.insert_job(job).await?;
        let status = self.status(id).await?;
        if self.inner.queue.try_push(id.to_owned()).is_err() {
            // Another upload took the last slot since the check above. This one is stored and
            // accepted already, so it queues one beyond the capacity rather than being lost.
            self.inner.queue.push_recovered(id.to_owned());
        }
        Ok(status)
    }

    /// The job's status: the database row, with the newest progress of a running job.
    pub async fn status(&self, id: &str) -> Result<JobStatus, JobError> {
        let record =
            self.inner.db.job(id).await?.ok_or_else(|| JobError::NotFound(id.to_owned()))?;
        let mut status = record.status;
        if let Some(live) = self.inner.live.get(id)
            && status.state == JobState::Running
        {
            status.progress = (*live.progress.borrow()).or(status.progress);
            let now = live.status.borrow();
            status.stage = now.stage.clone().or(status.stage);
            status.stage_progress = now.stage_progress.clone();
        }
        Ok(status)
    }

    /// The live channels of a job (created from its status when it has none yet).
    pub async fn live(&self, id: &str) -> Result<Arc<LiveJob>, JobError> {
        if let Some(live) = self.inner.live.get(id) {
            return Ok(live);
        }
        let status = self.status(id).await?;
        Ok(self.inner.live.get_or_open(status))
    }

    /// `DELETE /api/jobs/{id}`: cancels a queued or running job (returning its new status), or
    /// deletes a finished one with its files and shares (returning `None`).
    pub async fn cancel_or_delete(&self, id: &str) -> Result<Option<JobStatus>, JobError> {
        let status = self.status(id).await?;
        if status.state.is_finished() {
            if self.inner.db.delete_job(id).await? {
                self.inner.live.remove(id);
                let dir = self.dir(id);
                // Rename first so a half-deleted folder is never mistaken for a job.
                let trash = self.inner.data_dir.join("jobs").join(format!(".{id}.deleted"));
                if tokio::fs::rename(dir.root(), &trash).await.is_ok() {
                    let _ = tokio::fs::remove_dir_all(&trash).await;
                }
            }
            return Ok(None);
        }
        let finish = Finish {
            state: JobState::Cancelled,
            error: None,
            result: None,
            progress: None,
            finished_ms: now_ms(),
        };
        self.inner.db.finish_job(id, finish).await?;
        if let Some(flag) =
            self.inner.cancels.lock().unwrap_or_else(PoisonError::into_inner).get(id)
        {
            flag.store(true, Ordering::Relaxed);
        }
        let status = self.status(id).await?;
        if let Some(live) = self.inner.live.get(id) {
            let new = status.clone();
            live.update_status(|s| *s = new);
        }
        Ok(Some(status))
    }
}
