//! The router through `oneshot`: health, JSON errors, the web app's files and routes.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use meshcast_server::db::Db;
use meshcast_server::{AppState, Config, app};
use meshcast_shared::{DeviceKind, ErrorBody, Health, ModelName};
use tower::ServiceExt;

struct TestApp {
    router: Router,
    _dir: tempfile::TempDir,
}

/// A real app over a temporary data folder; `web` files are written into its web folder first.
fn test_app(web: &[(&str, &[u8])]) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::in_dir(dir.path());
    std::fs::create_dir_all(&config.data_dir).unwrap();
    std::fs::create_dir_all(&config.web_dir).unwrap();
    for (name, bytes) in web {
        std::fs::write(config.web_dir.join(name), bytes).unwrap();
    }
    let db = Db::open(&config.db_path).unwrap();
    TestApp { router: app(AppState::new(config, db)), _dir: dir }
}

async fn send(
    app: &TestApp,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let response = app.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, headers, body)
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

const INDEX: &[u8] =
    b"<!doctype html><title>meshcast</title><script type=module src=/meshcast.js></script>";

#[tokio::test]
async fn health_lists_cpu_both_models_with_reasons_and_colmap() {
    let app = test_app(&[]);
    let (status, headers, body) = send(&app, get("/api/health")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let health: Health = serde_json::from_slice(&body).unwrap();
    assert_eq!(health.status, "ok");
    assert_eq!(health.devices[0].kind, DeviceKind::Cpu);
    assert!(health.devices[0].name.starts_with("CPU"));
    let names: Vec<ModelName> = health.models.iter().map(|m| m.name).collect();
    assert_eq!(names, ModelName::ALL);
    for model in &health.models {
        assert!(
            model.available || model.reason.as_deref().is_some_and(|r| !r.is_empty()),
            "{model:?}"
        );
    }
    // Without weights, ReconViaGen's reason says which are missing and how to get them.
    let reconviagen = health.models.iter().find(|m| m.name == ModelName::Reconviagen).unwrap();
    let reason = reconviagen.reason.as_deref().unwrap_or_default();
    assert!(
        !reconviagen.available
            && reason.contains("8 of its 8 weight files are missing")
            && reason.contains("meshcast weights fetch"),
        "{reason}"
    );
    // COLMAP (installed by scripts/setup.sh) with its version, for photos without poses.
    let colmap = health.tools.iter().find(|t| t.name == "colmap").unwrap();
    assert!(colmap.version.as_deref().is_some_and(|v| v.starts_with('3')), "{colmap:?}");
}

#[tokio::test]
async fn unknown_api_route_is_json_404_naming_the_path() {
    let app = test_app(&[("index.html", INDEX)]);
    let (status, headers, body) = send(&app, get("/api/nope/deeper")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let error: ErrorBody = serde_json::from_slice(&body).unwrap();
    assert_eq!(error.error.code, "not_found");
    assert!(error.error.message.contains("GET /api/nope/deeper"), "{}", error.error.message);
}

#[tokio::test]
async fn wrong_method_is_json_405() {
    let app = test_app(&[]);
    let request = Request::post("/api/health").body(Body::empty()).unwrap();
    let (status, _, body) = send(&app, request).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let error: ErrorBody = serde_json::from_slice(&body).unwrap();
    assert_eq!(error.error.code, "method_not_allowed");
}

#[tokio::test]
async fn jobs_list_starts_empty() {
    let app = test_app(&[]);
    let (status, _, body) = send(&app, get("/api/jobs")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"[]");
}

#[tokio::test]
async fn serves_index_wasm_with_mime_and_gzip() {
    // Compressible and above tower-http's minimum size.
    let wasm: Vec<u8> =
        b"\0asm\x01\0\0\0".iter().copied().chain((0..4096u32).map(|i| (i % 7) as u8)).collect();
    let app = test_app(&[("index.html", INDEX), ("meshcast_bg.wasm", &wasm)]);
    let (status, headers, body) = send(&app, get("/")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert_eq!(body, INDEX);

    let request = Request::get("/meshcast_bg.wasm")
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(Body::empty())
        .unwrap();
    let (status, headers, body) = send(&app, request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/wasm");
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    assert!(body.len() < wasm.len(), "gzip should shrink {} bytes, got {}", wasm.len(), body.len());
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
}

#[tokio::test]
async fn client_routes_get_index_but_missing_assets_404() {
    let app = test_app(&[("index.html", INDEX)]);
    for route in ["/jobs", "/upload", "/s/0123456789abcdef"] {
        let (status, _, body) = send(&app, get(route)).await;
        assert_eq!(status, StatusCode::OK, "{route}");
        assert_eq!(body, INDEX, "{route}");
    }
    let (status, _, _) = send(&app, get("/missing.js")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn missing_bundle_says_how_to_build_it_and_api_still_works() {
    let app = test_app(&[]);
    let (status, _, body) = send(&app, get("/")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let page = String::from_utf8(body).unwrap();
    assert!(page.contains("cargo xtask web"), "{page}");
    let (status, _, _) = send(&app, get("/api/health")).await;
    assert_eq!(status, StatusCode::OK);
}
