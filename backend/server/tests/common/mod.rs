//! Helpers of the job tests: datasets as zips, multipart bodies, an in-process server on a real
//! socket (for WebSockets) whose router also answers `oneshot` requests.

#![allow(clippy::unwrap_used, dead_code)] // test helpers: a panic is the failure report

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use meshcast_server::db::Db;
use meshcast_server::jobs::reconstructor::Reconstructor;
use meshcast_server::{AppState, Config, app};
use meshcast_shared::{JobState, JobStatus, ModelName};
use tower::ServiceExt;

/// The 96-px Suzanne (50 + 10 views).
pub fn suzanne_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/suzanne-96")
}

pub use meshcast_e2e::zip_dir;

/// One multipart field: name, optional file name, bytes.
pub struct Part<'a>(pub &'a str, pub Option<&'a str>, pub &'a [u8]);

/// A `multipart/form-data` body and its content type.
pub fn multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let boundary = "meshcast-test-boundary-7d1f";
    let mut body = Vec::new();
    for Part(name, file, bytes) in parts {
        write!(body, "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"").unwrap();
        if let Some(file) = file {
            write!(body, "; filename=\"{file}\"\r\nContent-Type: application/octet-stream")
                .unwrap();
        }
        body.extend_from_slice(b"\r\n\r\n");
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    write!(body, "--{boundary}--\r\n").unwrap();
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Options of a short CPU run: tiny preset, few iterations, frequent snapshots.
pub const SHORT_RUN: &str = r#"{"preset":"tiny","iterations":30,"pass2_iterations":6,"snapshot_every":3,"validate_every":15,"checkpoint_every":10,"texture_size":256}"#;

/// The app on a real socket, with its worker running.
pub struct TestServer {
    pub router: Router,
    pub state: AppState,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    /// A server over a fresh temporary folder.
    pub async fn start(queue_capacity: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, queue_capacity).await
    }

    /// A server over `dir` (reused by restart tests).
    pub async fn start_in(dir: tempfile::TempDir, queue_capacity: usize) -> Self {
        Self::start_with(dir, queue_capacity, None).await
    }

    /// A server over `dir` running `models` instead of the built-in set when given.
    pub async fn start_with(
        dir: tempfile::TempDir,
        queue_capacity: usize,
        models: Option<HashMap<ModelName, Arc<dyn Reconstructor>>>,
    ) -> Self {
        let mut config = Config::in_dir(dir.path());
        config.queue_capacity = queue_capacity;
        std::fs::create_dir_all(&config.data_dir).unwrap();
        let db = Db::open(&config.db_path).unwrap();
        let state = match models {
            Some(models) => AppState::with_models(config, db, models),
            None => AppState::new(config, db),
        };
        state.jobs.start().await.unwrap();
        let router = app(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let served = router.clone();
        tokio::spawn(async move { axum::serve(listener, served).await });
        Self { router, state, addr, dir }
    }

    /// Sends a request through the router.
    pub async fn send(&self, request: Request<Body>) -> (StatusCode, Vec<u8>) {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        (status, response.into_body().collect().await.unwrap().to_bytes().to_vec())
    }

    /// `POST /api/jobs` with these parts.
    pub async fn upload(&self, parts: &[Part<'_>]) -> (StatusCode, serde_json::Value) {
        let (content_type, body) = multipart(parts);
        let request = Request::post("/api/jobs")
            .header("content-type", content_type)
            .body(Body::from(body))
            .unwrap();
        let (status, body) = self.send(request).await;
        (status, serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null))
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> (StatusCode, Vec<u8>) {
        self.send(Request::get(path).body(Body::empty()).unwrap()).await
    }

    /// `GET /api/jobs/{id}`.
    pub async fn status(&self, id: &str) -> JobStatus {
        let (status, body) = self.get(&format!("/api/jobs/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).unwrap()
    }

    /// Polls until the job is finished (or `timeout` passes).
    pub async fn wait_finished(&self, id: &str, timeout: Duration) -> JobStatus {
        let started = Instant::now();
        loop {
            let status = self.status(id).await;
            if status.state.is_finished() {
                return status;
            }
            assert!(started.elapsed() < timeout, "job still {:?} after {timeout:?}", status.state);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Polls until `pred` holds for the job's status.
    pub async fn wait_for(
        &self,
        id: &str,
        timeout: Duration,
        pred: impl Fn(&JobStatus) -> bool,
    ) -> JobStatus {
        let started = Instant::now();
        loop {
            let status = self.status(id).await;
            if pred(&status) {
                return status;
            }
            assert!(
                started.elapsed() < timeout
                    && !(status.state.is_finished() && status.state != JobState::Done),
                "condition not met: {status:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
