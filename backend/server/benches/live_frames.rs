//! `cargo bench -p meshcast-server --bench live_frames -- [--frames N] [--grid R] [--append FILE]`
//! (FILE relative to the workspace root, e.g. `bench/RESULTS.md`)
//!
//! The live path of issue 5, measured end to end on loopback: a marching-tetrahedra mesh of
//! ~100k triangles is published through a job's live channel (as the worker's engine callback
//! does), travels the WebSocket, and is decoded and uploaded by the web app in headless Chromium.
//! Reports frame size, latency from the callback to the frame being on the GPU in the browser,
//! and the page's frame rate (requestAnimationFrame intervals) while frames arrive, against the
//! same page idle as the baseline. Needs the release web bundle (`cargo xtask web --release`)
//! and chromedriver (scripts/setup.sh --test).

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::expect_used)] // a benchmark binary

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fantoccini::Locator;
use meshcast_engine::geometry::TetGrid;
use meshcast_engine::geometry::marching_tets::marching_tets;
use meshcast_engine::tch::{Device, Tensor};
use meshcast_server::db::{Db, NewJob};
use meshcast_server::{AppState, Config, app};
use meshcast_shared::{ModelName, frame};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.windows(2).find(|w| w[0] == name).map(|w| w[1].clone())
}

fn unix_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64() * 1e3
}

/// A bumpy sphere through the engine's own marching tetrahedra, so index locality is that of a
/// real DMTet mesh.
fn test_mesh(resolution: i64) -> (Vec<[f32; 3]>, Vec<[u32; 3]>) {
    let grid = TetGrid::new(resolution, 1.0, Device::Cpu).unwrap();
    let v = &grid.vertices;
    let (x, y, z) = (v.select(1, 0), v.select(1, 1), v.select(1, 2));
    let radius = v.norm_scalaropt_dim(2, [1], false);
    let bumps = (x * 7.0).sin() * (y * 5.0).sin() * (z * 6.0).sin() * 0.08;
    let sdf: Tensor = radius - 0.75 + bumps;
    let mesh = marching_tets(&grid, &grid.vertices, &sdf).unwrap();
    let positions = Vec::<f32>::try_from(mesh.vertices.reshape([-1])).unwrap();
    let triangles = Vec::<i64>::try_from(mesh.triangles.reshape([-1])).unwrap();
    (
        positions.as_chunks::<3>().0.to_vec(),
        triangles.as_chunks::<3>().0.iter().map(|t| t.map(|i| i as u32)).collect(),
    )
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Frames per second from rAF timestamps (ms) within `[from, to)` (performance.now() clock):
/// the mean, and the worst one-second window.
fn fps(times: &[f64], from: f64, to: f64) -> (f64, f64) {
    let inside: Vec<f64> = times.iter().copied().filter(|&t| t >= from && t < to).collect();
    let mean = inside.len() as f64 / ((to - from) / 1e3);
    let mut worst = f64::INFINITY;
    let mut start = from;
    while start + 1000.0 <= to {
        let count = inside.iter().filter(|&&t| t >= start && t < start + 1000.0).count();
        worst = worst.min(count as f64);
        start += 250.0;
    }
    (mean, worst)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let frames: u32 = arg("--frames").map_or(30, |f| f.parse().unwrap());
    // Grid 80 with the bumps below gives ~105k triangles (CPU marching tets at 128 needs >20 GB).
    let resolution: i64 = arg("--grid").map_or(80, |g| g.parse().unwrap());
    let web = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/web");
    assert!(web.join("index.html").is_file(), "build the web app first: cargo xtask web --release");

    // A server whose job's live channel this benchmark drives directly.
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::in_dir(dir.path());
    config.web_dir = web;
    std::fs::create_dir_all(&config.data_dir).unwrap();
    let db = Db::open(&config.db_path).unwrap();
    let state = AppState::new(config, db.clone());
    let id = meshcast_server::jobs::token::random_token().unwrap();
    db.insert_job(NewJob {
        id: id.clone(),
        model: ModelName::Nvdiffrec,
        name: "live-frame benchmark".into(),
        config: "{}".into(),
        created_ms: meshcast_server::jobs::now_ms(),
    })
    .await
    .unwrap();
    db.start_job(&id, meshcast_server::jobs::now_ms()).await.unwrap();
    let live = state.jobs.live(&id).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(axum::serve(listener, app(state)).into_future());

    let (positions, triangles) = test_mesh(resolution);
    let colours: Vec<[u8; 3]> = positions
        .iter()
        .map(|p| p.map(|c| ((c * 0.5 + 0.5) * 255.0).clamp(0.0, 255.0) as u8))
        .collect();

    let (_driver, client) = meshcast_e2e::start_browser().await;
    client.goto(&format!("{url}/jobs/{id}")).await.unwrap();
    client.wait().for_element(Locator::Css("canvas[data-testid=viewer]")).await.unwrap();
    client
        .execute(
            // rAF timestamps, and each frame's arrival recorded by the page itself, so that no
            // WebDriver polling competes with the page while it is measured.
            "window.__raf = []; const tick = t => { window.__raf.push(t); requestAnimationFrame(tick); }; requestAnimationFrame(tick);
             window.__frames = [];
             const canvas = document.querySelector('canvas[data-testid=viewer]');
             new MutationObserver(() => {
               const i = canvas.getAttribute('data-mesh-iteration');
               const last = window.__frames[window.__frames.length - 1];
               if (i !== null && (!last || last.i !== i)) window.__frames.push({ i, at: canvas.getAttribute('data-frame-at'), decode: canvas.getAttribute('data-decode-ms'), apply: canvas.getAttribute('data-apply-ms') });
             }).observe(canvas, { attributes: true, attributeFilter: ['data-frame-at'] });",
            vec![],
        )
        .await
        .unwrap();
    let now_js = || async {
        client.execute("return performance.now();", vec![]).await.unwrap().as_f64().unwrap()
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_from = now_js().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle_to = now_js().await;

    let (mut sizes, mut encode_ms, mut sent_at) = (vec![], vec![], vec![]);
    let busy_from = now_js().await;
    let pace = Instant::now();
    for i in 1..=frames {
        // Each frame differs a little, as successive snapshots do.
        let scale = 1.0 + 0.002 * i as f32;
        let moved: Vec<[f32; 3]> = positions.iter().map(|p| p.map(|c| c * scale)).collect();
        // Snapshots arrive a few times a second at most (every N iterations).
        tokio::time::sleep_until((pace + Duration::from_millis(250 * u64::from(i))).into()).await;
        sent_at.push(unix_ms());
        let started = Instant::now();
        let bytes = frame::encode(1, i, &moved, &triangles, Some(&colours));
        encode_ms.push(started.elapsed().as_secs_f64() * 1e3);
        sizes.push(bytes.len() as f64);
        live.frame.send_replace(Some(bytes.into()));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let busy_to = now_js().await;
    let raf: Vec<f64> =
        serde_json::from_value(client.execute("return window.__raf;", vec![]).await.unwrap())
            .unwrap();
    let seen = client.execute("return window.__frames;", vec![]).await.unwrap();
    let (mut latency_ms, mut decode_ms, mut apply_ms) = (vec![], vec![], vec![]);
    for entry in seen.as_array().unwrap() {
        let i: usize = entry["i"].as_str().unwrap().parse().unwrap();
        let at: f64 = entry["at"].as_str().unwrap().parse().unwrap();
        latency_ms.push(at - sent_at[i - 1]);
        decode_ms.push(entry["decode"].as_str().unwrap().parse().unwrap());
        apply_ms.push(entry["apply"].as_str().unwrap().parse().unwrap());
    }
    let shown = latency_ms.len();
    client.close().await.unwrap();
    let (idle_fps, idle_worst) = fps(&raf, idle_from, idle_to);
    let (busy_fps, busy_worst) = fps(&raf, busy_from, busy_to);

    let report = format!(
        "Live frames: {} triangles, {} vertices (marching tets, grid {resolution}), {frames} frames every 250 ms ({shown} shown; latest-wins may skip), loopback, headless Chromium (software WebGL).\n\n\
         | figure | value | target |\n|---|---|---|\n\
         | frame size | {:.0} KB | ≤ 1000 KB |\n\
         | encode (server) median | {:.1} ms | |\n\
         | callback → on the page, median / p95 / max | {:.1} / {:.1} / {:.1} ms | ≤ 100 ms |\n\
         | browser decode / mesh upload median | {:.1} / {:.1} ms | |\n\
         | page fps idle (mean / worst second) | {idle_fps:.1} / {idle_worst:.0} | baseline |\n\
         | page fps while frames arrive (mean / worst second) | {busy_fps:.1} / {busy_worst:.0} | ≥ 30 |\n\
         | fps ratio busy / idle | {:.2} | |\n",
        triangles.len(),
        positions.len(),
        percentile(&sizes, 0.5) / 1e3,
        percentile(&encode_ms, 0.5),
        percentile(&latency_ms, 0.5),
        percentile(&latency_ms, 0.95),
        percentile(&latency_ms, 1.0),
        percentile(&decode_ms, 0.5),
        percentile(&apply_ms, 0.5),
        busy_fps / idle_fps,
    );
    print!("{report}");
    if let Some(path) = arg("--append") {
        use std::io::Write;
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| {
                c.lines()
                    .find(|l| l.starts_with("model name"))
                    .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
            })
            .unwrap_or_default();
        // cargo runs benchmarks in the package folder; a relative path means the workspace root.
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path);
        let mut file = std::fs::OpenOptions::new().append(true).create(true).open(&path).unwrap();
        writeln!(
            file,
            "\n## Live frames ({cpu}, {} threads)\n\n{report}",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        )
        .unwrap();
        println!("appended to {}", path.display());
    }
}
