//! End to end: the real `meshcast` binary serving the built web app, driven by headless Chromium
//! through ChromeDriver. `scripts/test.sh` builds both and installs Chromium first.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

/// `target/<profile>` of this test binary (`target/<profile>/deps/browser-…`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>/deps").to_owned()
}

/// A child process killed when the test ends, pass or fail.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start_browser() -> (Process, Client) {
    let port = free_port();
    let driver = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .spawn()
        .expect("chromedriver not found: install chromium-driver (scripts/setup.sh --test)");
    let driver = Process(driver);
    let caps: serde_json::Map<String, serde_json::Value> = serde_json::from_value(serde_json::json!({
        "goog:chromeOptions": {
            "args": [
                "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
                "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-quic",
            ]
        }
    }))
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let connected = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await;
        match connected {
            Ok(client) => return (driver, client),
            Err(e) if Instant::now() > deadline => {
                panic!("cannot start Chromium through chromedriver: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Fraction of pixels that differ clearly from the viewer's clear colour.
fn drawn_fraction(png: &[u8]) -> f64 {
    let image = image::load_from_memory(png).unwrap().to_rgb8();
    // BACKGROUND in frontend/src/viewer/renderer.rs, written to the 8-bit canvas as is.
    let background = [0.09f32, 0.10, 0.12].map(|c| (c * 255.0).round() as i32);
    let drawn = image
        .pixels()
        .filter(|p| p.0.iter().zip(background).any(|(&c, b)| (i32::from(c) - b).abs() > 12))
        .count();
    drawn as f64 / (image.width() * image.height()) as f64
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
