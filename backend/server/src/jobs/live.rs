//! Per-job live state for the WebSocket: latest status, latest progress point, latest mesh frame
//! (each a `tokio::sync::watch`, so a slow viewer skips to the newest value instead of queueing)
//! and the chart's history for viewers who connect late.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use meshcast_shared::{JobStatus, ProgressPoint};
use tokio::sync::watch;

/// Most points kept for a late viewer's chart; beyond it every other point is dropped.
const HISTORY_POINTS: usize = 1024;

/// The live channels of one job.
#[derive(Debug)]
pub struct LiveJob {
    /// Sent whenever the state, stage or result changes.
    pub status: watch::Sender<Arc<JobStatus>>,
    /// Every iteration's report.
    pub progress: watch::Sender<Option<ProgressPoint>>,
    /// The newest encoded mesh frame.
    pub frame: watch::Sender<Option<Arc<[u8]>>>,
    history: Mutex<Vec<ProgressPoint>>,
}

impl LiveJob {
    fn new(status: JobStatus) -> Self {
        let progress = status.progress;
        Self {
            status: watch::Sender::new(Arc::new(status)),
            progress: watch::Sender::new(progress),
            frame: watch::Sender::new(None),
            history: Mutex::new(Vec::new()),
        }
    }

    /// Publishes one iteration's report.
    pub fn push_progress(&self, point: ProgressPoint) {
        let mut history = self.history.lock().unwrap_or_else(PoisonError::into_inner);
        history.push(point);
        if history.len() > HISTORY_POINTS {
            // Keep the newest point; thin the rest to half.
            let last = history.len() - 1;
            let mut i = 0;
            history.retain(|_| {
                i += 1;
                (i - 1) % 2 == 0 || i - 1 == last
            });
        }
        drop(history);
        self.progress.send_replace(Some(point));
    }

    /// The chart so far.
    pub fn history(&self) -> Vec<ProgressPoint> {
        self.history.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Changes the status with `f` and tells every viewer.
    pub fn update_status(&self, f: impl FnOnce(&mut JobStatus)) {
        self.status.send_modify(|status| f(Arc::make_mut(status)));
    }
}

/// Every job's live state, by id.
#[derive(Debug, Default)]
pub struct LiveHub {
    jobs: Mutex<HashMap<String, Arc<LiveJob>>>,
}

impl LiveHub {
    /// The live state of `status.id`, created from `status` when it has none yet.
    pub fn get_or_open(&self, status: JobStatus) -> Arc<LiveJob> {
        let mut jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        jobs.entry(status.id.clone()).or_insert_with(|| Arc::new(LiveJob::new(status))).clone()
    }

    /// The live state of a job, when it has one.
    pub fn get(&self, id: &str) -> Option<Arc<LiveJob>> {
        self.jobs.lock().unwrap_or_else(PoisonError::into_inner).get(id).cloned()
    }

    /// Forgets a deleted job.
    pub fn remove(&self, id: &str) {
        self.jobs.lock().unwrap_or_else(PoisonError::into_inner).remove(id);
    }
}
