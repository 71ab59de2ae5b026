//! The live WebSocket: a viewer gets status, chart history and mesh frames as the job runs; a
//! late viewer gets the current state at once; a viewer that stops reading slows neither the
//! worker nor other viewers; oversized client messages close only that socket.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

mod common;

use std::time::{Duration, Instant};

use common::{Part, TestServer, suzanne_dir, zip_dir};
use futures_util::{SinkExt, StreamExt};
use meshcast_shared::{JobState, LiveMessage, frame};
use tokio_tungstenite::tungstenite::Message;

async fn upload(server: &TestServer, config: &str) -> String {
    let zip = zip_dir(&suzanne_dir(), None, &[]);
    let (status, body) = server
        .upload(&[
            Part("model", None, b"nvdiffrec"),
            Part("config", None, config.as_bytes()),
            Part("dataset", Some("suzanne.zip"), &zip),
        ])
        .await;
    assert_eq!(status, axum::http::StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(server: &TestServer, id: &str) -> Socket {
    let url = format!("ws://{}/api/jobs/{id}/live", server.addr);
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

/// What a viewer saw until the job ended (or the socket closed).
#[derive(Default, Debug)]
struct Seen {
    statuses: Vec<JobState>,
    history: Option<usize>,
    progress: usize,
    frame_iterations: Vec<u32>,
    /// Longest wait between two mesh frames (one per iteration here).
    max_frame_gap: Duration,
}

async fn watch(socket: &mut Socket, timeout: Duration) -> Seen {
    let mut seen = Seen::default();
    let started = Instant::now();
    let mut last_frame: Option<Instant> = None;
    while let Ok(Some(message)) =
        tokio::time::timeout(timeout.saturating_sub(started.elapsed()), socket.next()).await
    {
        match message.unwrap() {
            Message::Text(text) => match serde_json::from_str::<LiveMessage>(&text).unwrap() {
                LiveMessage::Status(status) => {
                    seen.statuses.push(status.state);
                    if status.state.is_finished() {
                        break;
                    }
                }
                LiveMessage::History { points } => seen.history = Some(points.len()),
                LiveMessage::Progress(_) => seen.progress += 1,
            },
            Message::Binary(bytes) => {
                let now = Instant::now();
                if let Some(last) = last_frame {
                    seen.max_frame_gap = seen.max_frame_gap.max(now - last);
                }
                last_frame = Some(now);
                let frame = frame::decode(&bytes).unwrap();
                assert!(!frame.triangles.is_empty());
                assert_eq!(frame.colours.as_ref().map(Vec::len), Some(frame.positions.len()));
                seen.frame_iterations.push(frame.iteration);
            }
            _ => {}
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_get_status_history_and_frames_live_and_late() {
    let server = TestServer::start(4).await;
    let id = upload(&server, common::SHORT_RUN).await;
    let mut socket = connect(&server, &id).await;
    let seen = watch(&mut socket, Duration::from_secs(600)).await;
    assert!(seen.history.is_some(), "{seen:?}");
    assert_eq!(seen.statuses.last(), Some(&JobState::Done), "{seen:?}");
    assert!(seen.progress >= 10, "{seen:?}");
    let mut distinct = seen.frame_iterations.clone();
    distinct.dedup();
    assert!(distinct.len() >= 3, "{seen:?}");

    // A viewer arriving after the end gets the final status, the chart and the last mesh.
    let mut late = connect(&server, &id).await;
    let first = late.next().await.unwrap().unwrap();
    let LiveMessage::Status(status) = serde_json::from_str(first.to_text().unwrap()).unwrap()
    else {
        panic!("first message is not the status")
    };
    assert_eq!(status.state, JobState::Done);
    let second = late.next().await.unwrap().unwrap();
    let LiveMessage::History { points } = serde_json::from_str(second.to_text().unwrap()).unwrap()
    else {
        panic!("second message is not the history")
    };
    assert!(points.len() >= 10);
    let third = late.next().await.unwrap().unwrap();
    assert_eq!(
        frame::decode(&third.into_data()).unwrap().iteration,
        *seen.frame_iterations.last().unwrap()
    );

    // Unknown jobs are refused before the upgrade.
    let url = format!("ws://{}/api/jobs/0123456789abcdef0123456789abcdef/live", server.addr);
    assert!(tokio_tungstenite::connect_async(url).await.is_err());
}

/// A viewer that never reads (a 4 KiB receive buffer, frames every iteration) beside a normal
/// one: the job finishes and the normal viewer sees it through without long gaps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_viewer_slows_neither_the_worker_nor_other_viewers() {
    let server = TestServer::start(4).await;
    let config = r#"{"preset":"tiny","iterations":40,"pass2_iterations":0,"snapshot_every":1,"validate_every":1000}"#;
    let id = upload(&server, config).await;

    let stream = {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        socket.connect(server.addr).await.unwrap()
    };
    let url = format!("ws://{}/api/jobs/{id}/live", server.addr);
    let (stalled, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();

    let mut normal = connect(&server, &id).await;
    let started = Instant::now();
    let seen = watch(&mut normal, Duration::from_secs(600)).await;
    let job_seconds = started.elapsed();
    assert_eq!(seen.statuses.last(), Some(&JobState::Done), "{seen:?}");
    assert!(seen.frame_iterations.len() >= 10, "{seen:?}");
    // Nothing waits on the stalled viewer: frames reach the normal viewer at the pace of the
    // iterations (a fraction of a second each), never held up by a send to the stalled one
    // (which would show as a gap of the 20 s send timeout).
    assert!(seen.max_frame_gap < Duration::from_secs(10), "{seen:?} in {job_seconds:?}");
    assert_eq!(server.status(&id).await.state, JobState::Done);
    drop(stalled);
}

#[tokio::test]
async fn an_oversized_client_message_closes_only_that_socket() {
    let server = TestServer::start(4).await;
    let id = upload(&server, r#"{"preset":"tiny","iterations":5,"pass2_iterations":0}"#).await;
    let mut rude = connect(&server, &id).await;
    rude.send(Message::Text("x".repeat(64 * 1024).into())).await.unwrap();
    let mut closed = false;
    while let Ok(Some(message)) = tokio::time::timeout(Duration::from_secs(10), rude.next()).await {
        if matches!(message, Err(_) | Ok(Message::Close(_))) {
            closed = true;
            break;
        }
    }
    assert!(closed, "the server kept a socket that sent 64 KiB");
    let mut polite = connect(&server, &id).await;
    let first = polite.next().await.unwrap().unwrap();
    assert!(matches!(
        serde_json::from_str(first.to_text().unwrap()).unwrap(),
        LiveMessage::Status(_)
    ));
}
