//! The router and the listening server with graceful shutdown.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use axum::Router;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::db::{Db, DbError};
use crate::{AppState, api, web};

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The data folder cannot be created or written.
    #[error("data directory {path} is not writable: {source}")]
    DataDir {
        /// The folder.
        path: PathBuf,
        /// The file-system error.
        source: std::io::Error,
    },
    /// The database could not be opened.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The requested device does not exist.
    #[error("device {requested} is not available: {reason}")]
    Device {
        /// What was asked for.
        requested: String,
        /// What the machine has.
        reason: String,
    },
    /// The address is taken or not allowed.
    #[error(
        "cannot listen on {addr}: {source} (is another server running? choose another with --addr)"
    )]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The socket error.
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// The whole application: `/api`, then the web app for every other path.
pub fn app(state: AppState) -> Router {
    let web = web::router(&state.config.web_dir);
    Router::new()
        .nest("/api", api::router(state.config.max_upload_bytes))
        .with_state(state)
        .merge(web)
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
}

/// Checks the configuration, opens storage, listens, and serves until SIGINT or SIGTERM.
pub async fn serve(config: Config) -> Result<(), ServeError> {
    ensure_writable_dir(&config.data_dir)?;
    let device = config
        .device
        .resolve()
        .map_err(|reason| ServeError::Device { requested: config.device.to_string(), reason })?;
    let db = Db::open(&config.db_path)?;
    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|source| ServeError::Bind { addr: config.addr, source })?;
    let addr = listener.local_addr()?;
    let shutdown = shutdown_signal()?;
    let state = AppState::new(config, db);
    state.jobs.start().await?;
    // Probe devices (CUDA init, kernel compilation) now so the first health request is fast.
    let health = state.health.clone();
    tokio::spawn(async move { health.devices().await.len() });
    tracing::info!(
        %addr,
        ?device,
        data_dir = %state.config.data_dir.display(),
        db = %state.db.path().display(),
        "meshcast listening on http://{addr}"
    );
    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown).await?;
    tracing::info!("meshcast stopped");
    Ok(())
}

/// Creates `dir` and proves it writable with a probe file, so a read-only volume fails at start,
/// not at the first upload.
fn ensure_writable_dir(dir: &Path) -> Result<(), ServeError> {
    let err = |source| ServeError::DataDir { path: dir.to_owned(), source };
    std::fs::create_dir_all(dir).map_err(err)?;
    let probe = dir.join(".write-probe");
    std::fs::write(&probe, b"ok").map_err(err)?;
    std::fs::remove_file(&probe).map_err(err)
}

/// Registers the SIGINT and SIGTERM handlers now, before the server says it is listening (a
/// signal sent right after that line must stop it gracefully, not kill it), and resolves when
/// either arrives.
fn shutdown_signal() -> Result<impl Future<Output = ()>, std::io::Error> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("SIGINT received, shutting down"),
            _ = terminate.recv() => tracing::info!("SIGTERM received, shutting down"),
        }
    })
}
