//! The built web app: static files, `index.html` for client-side routes, and a plain page that
//! says how to build the bundle when it is missing.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// The command that builds the bundle, shown whenever it is missing.
pub const BUILD_HINT: &str = "cargo xtask web --release";

/// Routes for everything outside `/api`.
pub fn router(web_dir: &Path) -> Router {
    let index = web_dir.join("index.html");
    if !index.is_file() {
        tracing::warn!(dir = %web_dir.display(), "web app not built: run `{BUILD_HINT}`");
        return Router::new().fallback(missing_bundle).with_state(web_dir.to_owned());
    }
    let spa = axum::routing::get(spa_route).with_state(index);
    // File names are not content-hashed, so browsers revalidate (Last-Modified) on every load.
    Router::new().fallback_service(ServeDir::new(web_dir).fallback(spa)).layer(
        SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ),
    )
}

/// Paths without a file extension are client-side routes (`/jobs`, `/s/abc…`): the app handles
/// them. A missing asset (`/x.js`) stays a 404 so a broken build is visible.
async fn spa_route(State(index): State<PathBuf>, uri: Uri) -> Response {
    let last = uri.path().rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        return (StatusCode::NOT_FOUND, format!("no file {}", uri.path())).into_response();
    }
    match tokio::fs::read_to_string(&index).await {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            (StatusCode::INTERNAL_SERVER_ERROR, format!("cannot read {}: {e}", index.display()))
                .into_response()
        }
    }
}

async fn missing_bundle(State(dir): State<PathBuf>) -> Response {
    let page = format!(
        "<!doctype html><title>meshcast</title><h1>meshcast's web app is not built</h1>\
         <p>No <code>index.html</code> in <code>{}</code>. Build it with <code>{BUILD_HINT}</code> \
         (or point <code>--web-dir</code> at a built bundle) and reload. The API under \
         <code>/api</code> works meanwhile.</p>",
        html_escape(&dir.display().to_string())
    );
    (StatusCode::SERVICE_UNAVAILABLE, Html(page)).into_response()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
