//! meshcast's server: the HTTP/WebSocket API, the web app's files, jobs and storage.
//!
//! `app()` builds the whole router from an [`AppState`], so HTTP tests run it with
//! `tower::ServiceExt::oneshot` and no socket; `serve()` adds the listener and shutdown.

pub mod api;
pub mod config;
pub mod db;
pub mod health;
pub mod jobs;
pub mod serve;
pub mod state;
pub mod web;
pub mod weights;

pub use config::{Config, DeviceChoice};
pub use serve::{ServeError, app, serve};
pub use state::AppState;
