//! `GET /api/jobs/{id}/live`: the job's live state over a WebSocket.
//!
//! Each viewer gets the current status, the chart so far and the newest mesh frame at once, then
//! every change. Values come from `watch` channels, so a viewer that reads slowly skips to the
//! newest frame instead of queueing old ones, and nothing it does reaches the worker or the other
//! viewers. A send that stalls for [`SEND_TIMEOUT`] drops the viewer.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::Response;
use meshcast_shared::LiveMessage;

use super::ApiError;
use super::jobs::job_id;
use crate::AppState;
use crate::jobs::live::LiveJob;

/// Longest a single send may take before the viewer is considered gone.
const SEND_TIMEOUT: Duration = Duration::from_secs(20);
/// Interval of server pings (keeps proxies from closing idle sockets, detects dead peers).
const PING_EVERY: Duration = Duration::from_secs(15);
/// Viewers only send control messages; anything larger is refused by the protocol layer.
const MAX_INCOMING: usize = 4096;

/// Upgrades to a WebSocket for job `id` (404 before the upgrade when the job is unknown).
pub(super) async fn live(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let live = state.jobs.live(job_id(&id)?).await?;
    Ok(ws
        .max_message_size(MAX_INCOMING)
        .max_frame_size(MAX_INCOMING)
        .on_upgrade(move |socket| serve(socket, live)))
}

/// Why a socket loop ended.
struct Closed;

async fn send(socket: &mut WebSocket, message: Message) -> Result<(), Closed> {
    match tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(Closed),
    }
}

async fn send_json(socket: &mut WebSocket, message: &LiveMessage) -> Result<(), Closed> {
    let text = serde_json::to_string(message).map_err(|_| Closed)?;
    send(socket, Message::Text(text.into())).await
}

async fn serve(mut socket: WebSocket, live: Arc<LiveJob>) {
    let _ = stream(&mut socket, &live).await;
    let _ = socket.send(Message::Close(None)).await;
}

async fn stream(socket: &mut WebSocket, live: &LiveJob) -> Result<(), Closed> {
    let mut status = live.status.subscribe();
    let mut progress = live.progress.subscribe();
    let mut frame = live.frame.subscribe();
    let current = status.borrow_and_update().clone();
    send_json(socket, &LiveMessage::Status(Box::new((*current).clone()))).await?;
    progress.borrow_and_update();
    send_json(socket, &LiveMessage::History { points: live.history() }).await?;
    let latest = frame.borrow_and_update().clone();
    if let Some(bytes) = latest {
        send(socket, Message::Binary(bytes.to_vec().into())).await?;
    }
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            changed = status.changed() => {
                changed.map_err(|_| Closed)?;
                let current = status.borrow_and_update().clone();
                send_json(socket, &LiveMessage::Status(Box::new((*current).clone()))).await?;
            }
            changed = progress.changed() => {
                changed.map_err(|_| Closed)?;
                let point = *progress.borrow_and_update();
                if let Some(point) = point {
                    send_json(socket, &LiveMessage::Progress(point)).await?;
                }
            }
            changed = frame.changed() => {
                changed.map_err(|_| Closed)?;
                let latest = frame.borrow_and_update().clone();
                if let Some(bytes) = latest {
                    send(socket, Message::Binary(bytes.to_vec().into())).await?;
                }
            }
            incoming = socket.recv() => match incoming {
                // Pongs and pings are answered by the protocol layer; text is ignored.
                Some(Ok(Message::Close(_)) | Err(_)) | None => return Err(Closed),
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => send(socket, Message::Ping(Vec::new().into())).await?,
        }
    }
}
