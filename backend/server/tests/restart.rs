//! Restarts, as an operator sees them: the real binary is killed (SIGKILL) mid-job and started
//! again on the same data folder. Finished jobs, their files and share links are intact; the
//! running job with a checkpoint resumes; one without fails with "interrupted by restart"; a
//! queued job stays queued.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Part, multipart, suzanne_dir, zip_dir};
use meshcast_shared::{JobState, JobStatus, ShareCreated};

struct Server {
    child: Child,
    url: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_meshcast"))
        .args(["serve", "--addr", "127.0.0.1:0", "--device", "cpu", "--data-dir"])
        .arg(data)
        .arg("--web-dir")
        .arg(data.join("no-web"))
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let lines = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(at) = line.find("listening on http://") {
                let url =
                    line[at + "listening on ".len()..].split_whitespace().next().unwrap_or("");
                let _ = tx.send(url.to_owned());
            }
            lines.lock().unwrap().push(line);
        }
    });
    let url = rx.recv_timeout(Duration::from_secs(60)).expect("server did not start");
    Server { child, url, log }
}

fn upload(server: &Server, config: &str) -> String {
    let zip = zip_dir(&suzanne_dir(), None, &[]);
    let (content_type, body) = multipart(&[
        Part("model", None, b"nvdiffrec"),
        Part("config", None, config.as_bytes()),
        Part("dataset", Some("suzanne.zip"), &zip),
    ]);
    let mut response = ureq::post(format!("{}/api/jobs", server.url))
        .header("content-type", content_type)
        .send(&body[..])
        .unwrap();
    let status: JobStatus = response.body_mut().read_json().unwrap();
    status.id
}

fn status(server: &Server, id: &str) -> JobStatus {
    ureq::get(format!("{}/api/jobs/{id}", server.url))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap()
}

fn wait(server: &Server, id: &str, what: &str, pred: impl Fn(&JobStatus) -> bool) -> JobStatus {
    let started = Instant::now();
    loop {
        let s = status(server, id);
        if pred(&s) {
            return s;
        }
        assert!(started.elapsed() < Duration::from_secs(300), "waiting for {what}: {s:?}");
        #[allow(clippy::disallowed_methods)] // a synchronous test polling a child process
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn bytes(server: &Server, path: &str) -> (u16, Vec<u8>) {
    let response = ureq::get(format!("{}{path}", server.url))
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap();
    let code = response.status().as_u16();
    (code, response.into_body().read_to_vec().unwrap())
}

#[test]
fn a_restart_keeps_results_resumes_checkpointed_work_and_fails_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = start(&data);

    let done = upload(&first, r#"{"preset":"tiny","iterations":10,"pass2_iterations":0}"#);
    wait(&first, &done, "the short job", |s| s.state == JobState::Done);
    let share: ShareCreated = ureq::post(format!("{}/api/jobs/{done}/share", first.url))
        .send_empty()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    let (_, glb) = bytes(&first, &format!("/api/jobs/{done}/result.glb"));

    let resumable = upload(&first, r#"{"preset":"tiny","iterations":3000,"checkpoint_every":5}"#);
    let queued = upload(&first, r#"{"preset":"tiny","iterations":3000,"checkpoint_every":100000}"#);
    wait(&first, &resumable, "two checkpoints", |s| s.progress.is_some_and(|p| p.iteration >= 12));
    let killed_at = meshcast_server::jobs::now_ms();
    drop(first); // SIGKILL

    let second = start(&data);
    assert_eq!(status(&second, &done).state, JobState::Done);
    assert_eq!(bytes(&second, &format!("/api/jobs/{done}/result.glb")), (200, glb.clone()));
    assert_eq!(bytes(&second, &format!("/api/shares/{}/result.glb", share.token)), (200, glb));
    let resumed = wait(&second, &resumable, "the resumed job to run", |s| {
        s.state == JobState::Running && s.started_ms.is_some_and(|t| t >= killed_at)
    });
    assert!(resumed.error.is_none());
    assert!(
        second
            .log
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("resuming from its checkpoint") && l.contains(&resumable)),
        "no resume line in the log"
    );
    assert_eq!(status(&second, &queued).state, JobState::Queued);

    // Cancel the resumed job; the queued one starts and is killed before any checkpoint.
    let cancel = ureq::delete(format!("{}/api/jobs/{resumable}", second.url)).call().unwrap();
    assert_eq!(cancel.status().as_u16(), 200);
    wait(&second, &queued, "the queued job to run", |s| s.progress.is_some());
    drop(second);

    let third = start(&data);
    let failed = status(&third, &queued);
    assert_eq!(failed.state, JobState::Failed);
    assert_eq!(failed.error.as_deref(), Some("interrupted by restart"));
    assert_eq!(status(&third, &resumable).state, JobState::Cancelled);
    assert_eq!(status(&third, &done).state, JobState::Done);
}
