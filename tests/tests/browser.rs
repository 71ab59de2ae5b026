//! End to end: the real `meshcast` binary serving the built web app, driven by headless Chromium
//! through ChromeDriver. `scripts/test.sh` builds both and installs Chromium first.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use meshcast_e2e::{Process, drawn_fraction, start_browser, start_browser_with, write_y4m};

/// `target/<profile>` of this test binary (`target/<profile>/deps/browser-…`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>/deps").to_owned()
}

struct Server {
    _process: Process,
    url: String,
    _data: tempfile::TempDir,
}

fn start_server() -> Server {
    let binary = profile_dir().join("meshcast");
    assert!(
        binary.is_file(),
        "{} missing: build it with `cargo build -p meshcast-server`",
        binary.display()
    );
    let web = profile_dir().parent().expect("target/").join("web");
    assert!(
        web.join("index.html").is_file(),
        "{} has no web app: run `cargo xtask web`",
        web.display()
    );
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(binary)
        .args(["serve", "--addr", "127.0.0.1:0", "--device", "cpu", "--web-dir"])
        .arg(&web)
        .arg("--data-dir")
        .arg(data.path())
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    // Keep draining the log so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[server] {line}");
            if let Some(at) = line.find("listening on http://") {
                let url = line[at + "listening on ".len()..]
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_owned();
                let _ = tx.send(url);
            }
        }
    });
    let url = rx.recv_timeout(Duration::from_secs(60)).expect("server did not report its address");
    Server { _process: Process(child), url, _data: data }
}

async fn wait_for_text(client: &Client, css: &str, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(element) = client.find(Locator::Css(css)).await {
            let text = element.text().await.unwrap_or_default();
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "`{css}` never contained {needle:?}; last text: {text:?}"
            );
        } else {
            assert!(Instant::now() < deadline, "`{css}` never appeared");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn home_page_shows_health_and_draws_the_test_mesh() {
    let server = start_server();
    let (_driver, client) = start_browser().await;
    client.goto(&format!("{}/", server.url)).await.unwrap();

    let devices = wait_for_text(&client, "[data-testid=devices]", "CPU").await;
    assert!(devices.contains("threads"), "{devices}");
    let models = wait_for_text(&client, "[data-testid=models]", "reconviagen").await;
    assert!(models.contains("nvdiffrec"), "{models}");
    let tools = wait_for_text(&client, "[data-testid=tools]", "colmap").await;
    assert!(tools.contains("colmap 3."), "{tools}");

    let canvas = client.find(Locator::Css("canvas[data-testid=viewer]")).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while canvas.attr("data-frames").await.unwrap().unwrap_or_default() == "0" {
        assert!(Instant::now() < deadline, "the viewer never drew a frame");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let fraction = drawn_fraction(&canvas.screenshot().await.unwrap());
    assert!(
        fraction > 0.05,
        "only {:.1}% of the canvas differs from the background",
        fraction * 100.0
    );

    // Client-side navigation, then the same route loaded directly (server falls back to index).
    client.find(Locator::LinkText("Jobs")).await.unwrap().click().await.unwrap();
    wait_for_text(&client, "main", "No jobs yet.").await;
    client.goto(&format!("{}/jobs", server.url)).await.unwrap();
    wait_for_text(&client, "main", "No jobs yet.").await;

    client.close().await.unwrap();
}

/// A zip of the 96-px Suzanne (50 + 10 views), written to a temporary file for the file input.
fn suzanne_zip(dir: &std::path::Path) -> PathBuf {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/suzanne-96");
    let path = dir.join("suzanne-96.zip");
    std::fs::write(&path, meshcast_e2e::zip_dir(&source, None, &[])).unwrap();
    path
}

/// GET over plain HTTP: status and body.
async fn http_get(url: &str) -> (u16, Vec<u8>) {
    use http_body_util::{BodyExt, Empty};
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, Empty<hyper::body::Bytes>>(HttpConnector::new());
    let response = client.get(url.parse().unwrap()).await.unwrap();
    let status = response.status().as_u16();
    (status, response.into_body().collect().await.unwrap().to_bytes().to_vec())
}

async fn wait_for_attr(client: &Client, css: &str, attr: &str, want: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(element) = client.find(Locator::Css(css)).await
            && element.attr(attr).await.ok().flatten().as_deref() == Some(want)
        {
            return;
        }
        assert!(Instant::now() < deadline, "`{css}` never had {attr}={want:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The whole product path on the CPU: upload a dataset zip through the page, watch the live
/// mesh change, get the textured result, download and validate the GLB, share it, open the link
/// in a fresh browser, revoke it.
#[tokio::test(flavor = "multi_thread")]
async fn upload_watch_download_share_and_revoke() {
    let server = start_server();
    let files = tempfile::tempdir().unwrap();
    let zip = suzanne_zip(files.path());
    let (_driver, client) = start_browser().await;
    client.goto(&format!("{}/upload", server.url)).await.unwrap();
    wait_for_text(&client, "main", "nvdiffrec").await;
    // A broken zip first: the server's message is shown as is, and nothing is queued.
    let broken = files.path().join("broken.zip");
    std::fs::write(&broken, b"this is not a zip archive").unwrap();
    let input = client.find(Locator::Css("[data-testid=file-input]")).await.unwrap();
    input.send_keys(broken.to_str().unwrap()).await.unwrap();
    wait_for_text(&client, "[data-testid=file-summary]", "broken.zip").await;
    client.find(Locator::Css("[data-testid=submit]")).await.unwrap().click().await.unwrap();
    wait_for_text(&client, "[data-testid=upload-error]", "not a readable zip").await;
    assert!(client.current_url().await.unwrap().path().ends_with("/upload"));

    let input = client.find(Locator::Css("[data-testid=file-input]")).await.unwrap();
    input.clear().await.unwrap(); // a `multiple` input would otherwise keep the broken zip
    input.send_keys(zip.to_str().unwrap()).await.unwrap();
    wait_for_text(&client, "[data-testid=file-summary]", "suzanne-96.zip").await;
    let options = r#"{"preset":"tiny","iterations":40,"pass2_iterations":6,"snapshot_every":3,"validate_every":20,"texture_size":256}"#;
    client
        .find(Locator::Css("[data-testid=advanced]"))
        .await
        .unwrap()
        .send_keys(options)
        .await
        .unwrap();
    client.find(Locator::Css("[data-testid=submit]")).await.unwrap().click().await.unwrap();

    // The job page: at least three different live meshes drawn.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !client.current_url().await.unwrap().path().starts_with("/jobs/") {
        assert!(Instant::now() < deadline, "the upload never led to the job page");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let job_url = client.current_url().await.unwrap();
    let canvas = client.find(Locator::Css("canvas[data-testid=viewer]")).await.unwrap();
    let mut iterations = std::collections::BTreeSet::new();
    let mut pictures = std::collections::HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(300);
    while pictures.len() < 3 {
        assert!(Instant::now() < deadline, "saw live meshes at {iterations:?} only");
        if let Ok(Some(iteration)) = canvas.attr("data-mesh-iteration").await
            && iterations.insert(iteration)
        {
            tokio::time::sleep(Duration::from_millis(100)).await; // the next animation frame
            let png = canvas.screenshot().await.unwrap();
            if drawn_fraction(&png) > 0.01 {
                let picture = image::load_from_memory(&png).unwrap().to_rgb8().into_raw();
                pictures.insert(picture);
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_for_text(&client, "[data-testid=chart-label]", "loss").await;

    // Done: the textured result replaces the live mesh.
    wait_for_attr(
        &client,
        "canvas[data-testid=viewer]",
        "data-model",
        "loaded",
        Duration::from_secs(600),
    )
    .await;
    wait_for_text(&client, "[data-testid=job-state]", "done").await;
    let figures = wait_for_text(&client, "[data-testid=result-figures]", "triangles").await;
    assert!(drawn_fraction(&canvas.screenshot().await.unwrap()) > 0.03, "{figures}");

    // Download the GLB the button points at and validate it.
    let href = client
        .find(Locator::Css("[data-testid=download-glb]"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let (status, glb) = http_get(&format!("{}{href}", server.url)).await;
    assert_eq!(status, 200);
    let glb_path = files.path().join("result.glb");
    std::fs::write(&glb_path, &glb).unwrap();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let report = Command::new("node")
        .arg(root.join("scripts/gltf-validate.mjs"))
        .arg(&glb_path)
        .output()
        .expect("node (scripts/setup.sh installs it)");
    let text = String::from_utf8_lossy(&report.stdout);
    assert!(report.status.success(), "gltf-validator: {text}");
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["issues"]["numErrors"], 0, "{text}");

    // Share, then open the link in a fresh browser (no cookies, no history).
    client.find(Locator::Css("[data-testid=share]")).await.unwrap().click().await.unwrap();
    let link_input =
        client.wait().for_element(Locator::Css("[data-testid=share-link]")).await.unwrap();
    let link = link_input.prop("value").await.unwrap().unwrap();
    assert!(link.starts_with(&format!("{}/s/", server.url)), "{link}");
    let (_driver2, visitor) = start_browser().await;
    visitor.goto(&link).await.unwrap();
    wait_for_attr(
        &visitor,
        "canvas[data-testid=viewer]",
        "data-model",
        "loaded",
        Duration::from_secs(60),
    )
    .await;
    wait_for_text(&visitor, "[data-testid=share-name]", "suzanne-96.zip").await;
    for control in ["cancel", "delete", "share", "revoke"] {
        assert!(
            visitor.find(Locator::Css(&format!("[data-testid={control}]"))).await.is_err(),
            "{control} on the shared page"
        );
    }
    let shared_canvas = visitor.find(Locator::Css("canvas[data-testid=viewer]")).await.unwrap();
    assert!(drawn_fraction(&shared_canvas.screenshot().await.unwrap()) > 0.03);

    // Revoke: the link stops working at once.
    client.find(Locator::Css("[data-testid=revoke]")).await.unwrap().click().await.unwrap();
    client.wait().for_element(Locator::Css("[data-testid=share]")).await.unwrap();
    let token = link.rsplit('/').next().unwrap();
    assert_eq!(http_get(&format!("{}/api/shares/{token}/result.glb", server.url)).await.0, 404);
    visitor.refresh().await.unwrap();
    wait_for_text(&visitor, "[data-testid=share-error]", "revoked").await;
    visitor.close().await.unwrap();

    // The jobs list shows it as done.
    client.goto(&format!("{}/jobs", server.url)).await.unwrap();
    wait_for_text(&client, "table.jobs", "done").await;
    assert!(job_url.path().len() > "/jobs/".len());
    client.close().await.unwrap();
}

/// Number of kept photos on the capture page.
async fn shot_count(client: &Client) -> usize {
    client.find_all(Locator::Css("[data-testid=shots] li")).await.map_or(0, |v| v.len())
}

/// Presses the shutter until `want` photos are kept (a frame can be refused while the fake
/// camera switches pictures), with a pause so that each photo is a different frame.
async fn take_photos_until(client: &Client, want: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while shot_count(client).await < want {
        assert!(Instant::now() < deadline, "only {} photos kept", shot_count(client).await);
        client.find(Locator::Css("[data-testid=shutter]")).await.unwrap().click().await.unwrap();
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
}

/// The capture page with Chromium's fake camera playing Suzanne photos: the camera starts, the
/// shutter keeps sharp frames, the coverage fills, a photo can be deleted, Reconstruct waits for
/// 8 photos, and the photos become a job whose page opens.
#[tokio::test(flavor = "multi_thread")]
async fn capture_page_takes_photos_from_a_camera_and_uploads_them() {
    let dir = tempfile::tempdir().unwrap();
    let photos = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/suzanne-photos/images");
    let mut names: Vec<PathBuf> =
        std::fs::read_dir(&photos).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    let frames: Vec<image::RgbImage> =
        names.iter().take(24).map(|p| image::open(p).unwrap().to_rgb8()).collect();
    let video = dir.path().join("camera.y4m");
    write_y4m(&video, &frames, 2);

    let server = start_server();
    let (_driver, client) = start_browser_with(&[
        "--use-fake-device-for-media-stream".to_owned(),
        "--use-fake-ui-for-media-stream".to_owned(),
        format!("--use-file-for-fake-video-capture={}", video.display()),
    ])
    .await;
    client.goto(&format!("{}/capture", server.url)).await.unwrap();
    let reconstruct =
        client.wait().for_element(Locator::Css("[data-testid=reconstruct]")).await.unwrap();
    assert!(reconstruct.text().await.unwrap().contains("needs 8 more"));
    client.find(Locator::Css("[data-testid=start-camera]")).await.unwrap().click().await.unwrap();
    wait_for_text(&client, "[data-testid=start-camera]", "Restart camera").await;

    take_photos_until(&client, 8).await;
    let coverage = wait_for_text(&client, "[data-testid=coverage]", "8 of 36").await;
    assert!(coverage.contains("22%"), "{coverage}");
    let message = client.find(Locator::Css("[data-testid=capture-message]")).await.unwrap();
    assert!(message.text().await.unwrap().contains("sharpness"));

    // Deleting one puts Reconstruct out of reach again; one more photo brings it back.
    client.find(Locator::Css("[data-testid=delete-shot]")).await.unwrap().click().await.unwrap();
    wait_for_text(&client, "[data-testid=reconstruct]", "needs 1 more").await;
    assert_eq!(shot_count(&client).await, 7);
    take_photos_until(&client, 8).await;
    wait_for_text(&client, "[data-testid=reconstruct]", "Reconstruct from 8 photos").await;

    client.find(Locator::Css("[data-testid=reconstruct]")).await.unwrap().click().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let id = loop {
        let url = client.current_url().await.unwrap();
        if let Some(id) = url.path().strip_prefix("/jobs/") {
            break id.to_owned();
        }
        assert!(Instant::now() < deadline, "no job page after Reconstruct: {url}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (status, body) = http_get(&format!("{}/api/jobs/{id}", server.url)).await;
    assert_eq!(status, 200);
    let job: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(job["name"], "8 views", "{job}");
    assert_eq!(job["model"], "nvdiffrec");
    wait_for_text(&client, "main", "Camera poses").await;
    client.close().await.unwrap();
}
