//! Helpers of the end-to-end tests and benchmarks: child processes, headless Chromium through
//! ChromeDriver, and reading the viewer's canvas.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is the failure report

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;

/// A child process killed when the test ends, pass or fail.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Headless Chromium (software WebGL) under a fresh ChromeDriver on a free port.
pub async fn start_browser() -> (Process, Client) {
    start_browser_with(&[]).await
}

/// [`start_browser`] with extra Chromium switches (e.g. a fake camera).
pub async fn start_browser_with(extra: &[String]) -> (Process, Client) {
    let port = free_port();
    let driver = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .spawn()
        .expect("chromedriver not found: install chromium-driver (scripts/setup.sh --test)");
    let driver = Process(driver);
    let mut args: Vec<String> = [
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        "--use-angle=swiftshader",
        "--enable-unsafe-swiftshader",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
    ]
    .map(str::to_owned)
    .into();
    args.extend_from_slice(extra);
    let caps: serde_json::Map<String, serde_json::Value> =
        serde_json::from_value(serde_json::json!({ "goog:chromeOptions": { "args": args } }))
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

/// Writes `frames` (RGB, all `width × height`, even sides) as a YUV4MPEG2 4:2:0 video at `fps`,
/// the format Chromium's `--use-file-for-fake-video-capture` plays as a camera (looping).
pub fn write_y4m(path: &std::path::Path, frames: &[image::RgbImage], fps: u32) {
    use std::io::Write;
    let (w, h) = frames[0].dimensions();
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg").unwrap();
    for frame in frames {
        assert_eq!(frame.dimensions(), (w, h), "frames of one size");
        // BT.601 full range, as JPEG.
        let yuv = |p: &image::Rgb<u8>| {
            let [r, g, b] = p.0.map(f32::from);
            [
                0.299 * r + 0.587 * g + 0.114 * b,
                128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b,
                128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b,
            ]
        };
        let byte = |v: f32| v.round().clamp(0.0, 255.0) as u8;
        out.write_all(b"FRAME\n").unwrap();
        let luma: Vec<u8> = frame.pixels().map(|p| byte(yuv(p)[0])).collect();
        out.write_all(&luma).unwrap();
        for channel in [1, 2] {
            let mut plane = Vec::with_capacity((w * h / 4) as usize);
            for y in (0..h).step_by(2) {
                for x in (0..w).step_by(2) {
                    let sum: f32 = [(x, y), (x + 1, y), (x, y + 1), (x + 1, y + 1)]
                        .iter()
                        .map(|&(px, py)| yuv(frame.get_pixel(px, py))[channel])
                        .sum();
                    plane.push(byte(sum / 4.0));
                }
            }
            out.write_all(&plane).unwrap();
        }
    }
    out.flush().unwrap();
}

/// Fraction of pixels that differ clearly from the viewer's clear colour.
pub fn drawn_fraction(png: &[u8]) -> f64 {
    let image = image::load_from_memory(png).unwrap().to_rgb8();
    // BACKGROUND in frontend/src/viewer/renderer.rs, written to the 8-bit canvas as is.
    let background = [0.09f32, 0.10, 0.12].map(|c| (c * 255.0).round() as i32);
    let drawn = image
        .pixels()
        .filter(|p| p.0.iter().zip(background).any(|(&c, b)| (i32::from(c) - b).abs() > 12))
        .count();
    drawn as f64 / (image.width() * image.height()) as f64
}

/// A zip of every file under `dir`, optionally inside a top folder; `extra` entries are added
/// verbatim.
pub fn zip_dir(dir: &std::path::Path, top: Option<&str>, extra: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let relative = path.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            let name = top.map_or(relative.clone(), |t| format!("{t}/{relative}"));
            zip.start_file(name, options).unwrap();
            zip.write_all(&std::fs::read(&path).unwrap()).unwrap();
        }
    }
    for (name, bytes) in extra {
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}
