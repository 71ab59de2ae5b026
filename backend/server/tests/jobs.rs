//! The job API as a client uses it: every bad upload is a 4xx naming the problem and leaves
//! nothing behind; a real (short, CPU) nvdiffrec job runs to a GLB, an OBJ zip and share links.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Part, SHORT_RUN, TestServer, suzanne_dir, zip_dir};
use meshcast_shared::{ErrorBody, JobState, JobSummary, ShareCreated, SharedResult};

/// Names of eight uploaded views.
const VIEW_NAMES: [&str; 8] =
    ["v0.png", "v1.png", "v2.png", "v3.png", "v4.png", "v5.png", "v6.png", "v7.png"];

fn error_of(body: &serde_json::Value) -> (String, String) {
    let e: ErrorBody = serde_json::from_value(body.clone()).unwrap();
    (e.error.code, e.error.message)
}

/// Every upload mistake a person can make: status, code and a phrase of the message.
#[tokio::test]
async fn bad_uploads_are_clear_errors_and_leave_nothing_behind() {
    let server = TestServer::start(4).await;
    let good = zip_dir(&suzanne_dir(), None, &[]);
    let nested = zip_dir(&suzanne_dir(), Some("scene"), &[("../escape.txt", b"x")]);
    let no_transforms = {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "no images here").unwrap();
        zip_dir(dir.path(), None, &[])
    };
    // A zip of photos without poses (here the RGBA training views alone) is a photo job, but
    // fewer than 8 are refused.
    let few_photos = {
        let dir = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(suzanne_dir().join("train")).unwrap().take(5) {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
        zip_dir(dir.path(), None, &[])
    };
    let broken_pose = {
        let text = std::fs::read_to_string(suzanne_dir().join("transforms_train.json")).unwrap();
        let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
        json["frames"][3]["transform_matrix"] = serde_json::json!(vec![vec![0.0; 4]; 4]);
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&suzanne_dir(), dir.path());
        std::fs::write(dir.path().join("transforms_train.json"), json.to_string()).unwrap();
        zip_dir(dir.path(), None, &[])
    };
    let missing_image = {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&suzanne_dir(), dir.path());
        let first = std::fs::read_dir(dir.path().join("train")).unwrap().next().unwrap().unwrap();
        std::fs::remove_file(first.path()).unwrap();
        zip_dir(dir.path(), None, &[])
    };
    let tiny = br#"{"preset":"tiny"}"#.as_slice();
    let blank = {
        let mut png = Vec::new();
        image::RgbImage::new(32, 32)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        png
    };
    let cases: Vec<(Vec<Part<'_>>, StatusCode, &str, &str)> = vec![
        (
            vec![Part("dataset", Some("s.zip"), &good)],
            StatusCode::BAD_REQUEST,
            "invalid_upload",
            "`model` is missing",
        ),
        (
            vec![Part("model", None, b"nerf"), Part("dataset", Some("s.zip"), &good)],
            StatusCode::BAD_REQUEST,
            "invalid_upload",
            "unknown model `nerf`",
        ),
        (
            vec![Part("model", None, b"nvdiffrec")],
            StatusCode::BAD_REQUEST,
            "invalid_upload",
            "nothing to reconstruct",
        ),
        (
            vec![Part("model", None, b"nvdiffrec"), Part("colour", None, b"red")],
            StatusCode::BAD_REQUEST,
            "invalid_upload",
            "unknown field `colour`",
        ),
        (
            vec![Part("model", None, b"nvdiffrec"), Part("model", None, b"nvdiffrec")],
            StatusCode::BAD_REQUEST,
            "invalid_upload",
            "sent twice",
        ),
        (
            vec![
                Part("model", None, b"nvdiffrec"),
                Part("config", None, b"{preset"),
                Part("dataset", Some("s.zip"), &good),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_config",
            "not valid JSON",
        ),
        (
            vec![
                Part("model", None, b"nvdiffrec"),
                Part("config", None, b"[1]"),
                Part("dataset", Some("s.zip"), &good),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_config",
            "JSON object",
        ),
        (
            vec![
                Part("model", None, b"nvdiffrec"),
                Part("config", None, br#"{"grid_res":4}"#),
                Part("dataset", Some("s.zip"), &good),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_dataset",
            "unknown config key `grid_res`",
        ),
        (
            vec![
                Part("model", None, b"nvdiffrec"),
                Part("config", None, br#"{"preset":"huge"}"#),
                Part("dataset", Some("s.zip"), &good),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_dataset",
            "unknown preset `huge`",
        ),
        (
            vec![
                Part("model", None, b"nvdiffrec"),
                Part("dataset", Some("s.zip"), b"PK not really"),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_dataset",
            "not a readable zip",
        ),
        (
            vec![Part("model", None, b"nvdiffrec"), Part("dataset", Some("s.zip"), &nested)],
            StatusCode::BAD_REQUEST,
            "invalid_dataset",
            "outside the archive",
        ),
        (
            vec![Part("model", None, b"nvdiffrec"), Part("dataset", Some("s.zip"), &no_transforms)],
            StatusCode::BAD_REQUEST,
            "invalid_dataset",
            "no transforms_train.json",
        ),
        (
            vec![Part("model", None, b"nvdiffrec"), Part("dataset", Some("s.zip"), &few_photos)],
            StatusCode::BAD_REQUEST,
            "invalid_dataset",
            "5 photos; at least 8 views",
        ),
        (
            vec![
                Part("model", None, b"nvdiffrec"),
                Part("config", None, tiny),
                Part("dataset", Some("s.zip"), &broken_pose),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_dataset",
            "frame 3",
        ),
        (
            vec![
                Part("model", None, b"nvdiffrec"),
                Part("config", None, tiny),
                Part("dataset", Some("s.zip"), &missing_image),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_dataset",
            "train/",
        ),
        (
            vec![Part("model", None, b"nvdiffrec"), Part("views", Some("a.png"), b"x")],
            StatusCode::BAD_REQUEST,
            "invalid_dataset",
            "1 photos; at least 8 views",
        ),
        (
            // Plain photos go to COLMAP, but a blank frame is refused at upload, by name.
            std::iter::once(Part("model", None, b"nvdiffrec"))
                .chain(VIEW_NAMES.iter().map(|name| Part("views", Some(name), &blank)))
                .collect(),
            StatusCode::BAD_REQUEST,
            "invalid_dataset",
            "v0.png is uniform",
        ),
        (
            vec![
                Part("model", None, b"nvdiffrec"),
                Part("views", Some("a.png"), b"x"),
                Part("dataset", Some("s.zip"), &good),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_upload",
            "not both",
        ),
        (
            vec![Part("model", None, b"reconviagen"), Part("dataset", Some("s.zip"), &good)],
            StatusCode::CONFLICT,
            "model_unavailable",
            "reconviagen is not available",
        ),
    ];
    for (parts, want_status, want_code, needle) in cases {
        let (status, body) = server.upload(&parts).await;
        let (code, message) = error_of(&body);
        assert_eq!((status, code.as_str()), (want_status, want_code), "{needle}: {message}");
        assert!(message.contains(needle), "expected `{needle}` in: {message}");
        assert!(
            !message.contains(&server.dir.path().display().to_string()),
            "leaks a path: {message}"
        );
    }
    // Not multipart at all.
    let request = Request::post("/api/jobs")
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .unwrap();
    let (status, _) = server.send(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (_, body) = server.get("/api/jobs").await;
    assert!(serde_json::from_slice::<Vec<JobSummary>>(&body).unwrap().is_empty());
    let jobs_dir = server.dir.path().join("data/jobs");
    let left: Vec<_> =
        std::fs::read_dir(&jobs_dir).map(|d| d.flatten().collect()).unwrap_or_default();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(!server.dir.path().join("data/escape.txt").exists());
    let (status, _) = server.get("/api/health").await;
    assert_eq!(status, StatusCode::OK);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_404_and_unfinished_results_409() {
    let server = TestServer::start(4).await;
    for path in [
        "/api/jobs/0123456789abcdef0123456789abcdef",
        "/api/jobs/..%2F..%2Fetc",
        "/api/jobs/0123456789abcdef0123456789abcdef/result.glb",
        "/api/shares/0123456789abcdef0123456789abcdef",
        "/api/shares/nope/result.glb",
    ] {
        let (status, body) = server.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        let e: ErrorBody = serde_json::from_slice(&body).unwrap();
        assert_eq!(e.error.code, "not_found");
    }
    let revoke = Request::delete("/api/shares/0123456789abcdef0123456789abcdef")
        .body(Body::empty())
        .unwrap();
    assert_eq!(server.send(revoke).await.0, StatusCode::NOT_FOUND);
}

/// The whole life of a job over HTTP: queued → running → done with a GLB and an OBJ zip; a
/// share link reads only that result and dies when revoked; deleting removes everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_runs_to_a_result_that_can_be_shared_and_deleted() {
    let server = TestServer::start(4).await;
    let zip = zip_dir(&suzanne_dir(), Some("suzanne"), &[]);
    let (status, body) = server
        .upload(&[
            Part("model", None, b"nvdiffrec"),
            Part("config", None, SHORT_RUN.as_bytes()),
            Part("dataset", Some("suzanne.zip"), &zip),
        ])
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    assert_eq!(body["name"], "suzanne.zip");
    assert!(matches!(body["state"].as_str(), Some("queued" | "running")));

    // A result is not there before the job is done.
    let early = server.get(&format!("/api/jobs/{id}/share")).await.0;
    assert_eq!(early, StatusCode::METHOD_NOT_ALLOWED);

    let done = server.wait_finished(&id, Duration::from_secs(600)).await;
    assert_eq!(done.state, JobState::Done, "{done:?}");
    let result = done.result.unwrap();
    assert!(result.triangles > 100 && result.glb_bytes > 1000, "{result:?}");
    assert!(done.progress.is_some() && done.started_ms.is_some() && done.finished_ms.is_some());

    let (status, glb) = server.get(&format!("/api/jobs/{id}/result.glb")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&glb[..4], b"glTF");
    assert_eq!(glb.len() as u64, result.glb_bytes);
    let (status, zip) = server.get(&format!("/api/jobs/{id}/result.obj.zip")).await;
    assert_eq!(status, StatusCode::OK);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let names: Vec<String> = archive.file_names().map(str::to_owned).collect();
    assert!(names.contains(&"mesh.obj".into()) && names.contains(&"mesh.mtl".into()), "{names:?}");
    assert!(archive.by_name("mesh_basecolor.png").is_ok(), "{names:?}");
    // A posed dataset has no estimated masks; mask names cannot leave the masks folder.
    let (status, masks) = server.get(&format!("/api/jobs/{id}/masks")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(serde_json::from_slice::<Vec<String>>(&masks).unwrap(), Vec::<String>::new());
    for name in ["a.png", "..%2Fmesh.glb", "mesh.glb"] {
        let (status, _) = server.get(&format!("/api/jobs/{id}/masks/{name}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{name}");
    }

    // Share: the token reads the result, nothing else; revoking is immediate.
    let share = Request::post(format!("/api/jobs/{id}/share")).body(Body::empty()).unwrap();
    let (status, body) = server.send(share).await;
    assert_eq!(status, StatusCode::CREATED);
    let created: ShareCreated = serde_json::from_slice(&body).unwrap();
    assert_eq!(created.url, format!("/s/{}", created.token));
    assert_ne!(created.token, id);
    let (status, body) = server.get(&format!("/api/shares/{}", created.token)).await;
    assert_eq!(status, StatusCode::OK);
    let shared: SharedResult = serde_json::from_slice(&body).unwrap();
    assert_eq!((shared.name.as_str(), shared.result), ("suzanne.zip", result));
    let (status, shared_glb) =
        server.get(&format!("/api/shares/{}/result.glb", created.token)).await;
    assert_eq!((status, shared_glb.len()), (StatusCode::OK, glb.len()));
    let revoke =
        Request::delete(format!("/api/shares/{}", created.token)).body(Body::empty()).unwrap();
    assert_eq!(server.send(revoke).await.0, StatusCode::NO_CONTENT);
    let (status, _) = server.get(&format!("/api/shares/{}/result.glb", created.token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Delete: row, files and the (already revoked) share go.
    let delete = Request::delete(format!("/api/jobs/{id}")).body(Body::empty()).unwrap();
    assert_eq!(server.send(delete).await.0, StatusCode::NO_CONTENT);
    assert_eq!(server.get(&format!("/api/jobs/{id}")).await.0, StatusCode::NOT_FOUND);
    assert!(!server.dir.path().join("data/jobs").join(&id).exists());
}

/// Cancelling a running job takes effect at once in the API and stops the worker within a
/// second; a queued job behind it then runs; a full queue answers 429 with Retry-After.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_is_immediate_and_a_full_queue_is_429() {
    let server = TestServer::start(1).await;
    let zip = zip_dir(&suzanne_dir(), None, &[]);
    let long = br#"{"preset":"tiny","iterations":5000}"#;
    let upload = |config: &'static [u8]| {
        let zip = zip.clone();
        let server = &server;
        async move {
            server
                .upload(&[
                    Part("model", None, b"nvdiffrec"),
                    Part("config", None, config),
                    Part("dataset", Some("suzanne.zip"), &zip),
                ])
                .await
        }
    };
    let (status, first) = upload(long).await;
    assert_eq!(status, StatusCode::CREATED);
    let first = first["id"].as_str().unwrap().to_owned();
    server.wait_for(&first, Duration::from_secs(120), |s| s.progress.is_some()).await;
    // No result, no share while it runs.
    for (method, path) in [("GET", "result.glb"), ("GET", "result.obj.zip"), ("POST", "share")] {
        let request = Request::builder()
            .method(method)
            .uri(format!("/api/jobs/{first}/{path}"))
            .body(Body::empty())
            .unwrap();
        let (status, body) = server.send(request).await;
        let e: ErrorBody = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            (status, e.error.code.as_str()),
            (StatusCode::CONFLICT, "not_finished"),
            "{path}"
        );
        assert!(e.error.message.contains("running"), "{}", e.error.message);
    }
    let unknown =
        Request::delete("/api/jobs/0123456789abcdef0123456789abcdef").body(Body::empty()).unwrap();
    assert_eq!(server.send(unknown).await.0, StatusCode::NOT_FOUND);
    let (status, second) =
        upload(br#"{"preset":"tiny","iterations":5,"pass2_iterations":0}"#).await;
    assert_eq!(status, StatusCode::CREATED);
    let second = second["id"].as_str().unwrap().to_owned();
    // The queue (capacity 1) is full now.
    let (content_type, body) = common::multipart(&[Part("model", None, b"nvdiffrec")]);
    let request = Request::post("/api/jobs")
        .header("content-type", content_type)
        .body(Body::from(body))
        .unwrap();
    let response = tower::ServiceExt::oneshot(server.router.clone(), request).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "60");

    let started = std::time::Instant::now();
    let cancel = Request::delete(format!("/api/jobs/{first}")).body(Body::empty()).unwrap();
    let (status, body) = server.send(cancel).await;
    assert_eq!(status, StatusCode::OK);
    let cancelled: meshcast_shared::JobStatus = serde_json::from_slice(&body).unwrap();
    assert_eq!(cancelled.state, JobState::Cancelled);
    // The worker lets go at the next iteration: the next job starts.
    // The issue's bound is 1 s; the other tests of this file run a job on the same two cores
    // meanwhile, so the check allows 2 s.
    server.wait_for(&second, Duration::from_secs(2), |s| s.state != JobState::Queued).await;
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    let done = server.wait_finished(&second, Duration::from_secs(300)).await;
    assert_eq!(done.state, JobState::Done, "{done:?}");
    assert_eq!(server.status(&first).await.state, JobState::Cancelled);
}

/// A zip of plain photos (Suzanne's views at 240 px, no poses, no alpha) with a `masks/` folder:
/// the job shows each COLMAP step with its own progress, then the masks stage, and serves the
/// uploaded masks undistorted as the views were. Cancelled once pass 1 starts: the optimization
/// itself is covered above; estimated masks are covered by the engine's photo test.
#[tokio::test(flavor = "multi_thread")]
async fn a_photo_job_reports_each_colmap_step_then_its_masks() {
    let server = TestServer::start(4).await;
    let photos = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/suzanne-photos/images");
    // The photos are flattened onto one light colour (`cargo xtask photos`): the object is
    // whatever differs from it.
    let upload = tempfile::tempdir().unwrap();
    copy_dir(&photos, upload.path());
    std::fs::create_dir(upload.path().join("masks")).unwrap();
    let mut coverage = std::collections::HashMap::new();
    for entry in std::fs::read_dir(&photos).unwrap() {
        let path = entry.unwrap().path();
        let photo = image::open(&path).unwrap().to_rgb8();
        let mask = image::GrayImage::from_fn(photo.width(), photo.height(), |x, y| {
            let p = photo.get_pixel(x, y).0;
            let far = p.iter().zip([236u8, 234, 228]).any(|(&a, b)| a.abs_diff(b) > 30);
            image::Luma([if far { 255 } else { 0 }])
        });
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        coverage.insert(stem.clone(), share_on(&mask));
        mask.save(upload.path().join("masks").join(format!("{stem}.png"))).unwrap();
    }
    let zip = zip_dir(upload.path(), Some("photos"), &[]);
    let (status, body) = server
        .upload(&[
            Part("model", None, b"nvdiffrec"),
            Part("config", None, SHORT_RUN.as_bytes()),
            Part("dataset", Some("photos.zip"), &zip),
        ])
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();

    let mut seen: Vec<(String, String)> = Vec::new();
    let mut fractions = Vec::new();
    let started = std::time::Instant::now();
    loop {
        let status = server.status(&id).await;
        assert_ne!(status.state, JobState::Failed, "{:?}", status.error);
        let stage = status.stage.clone().unwrap_or_default();
        if let Some(p) = &status.stage_progress {
            assert!((0.0..=1.0).contains(&p.fraction), "{p:?}");
            fractions.push(p.fraction);
            let step = (stage.clone(), p.detail.clone());
            if seen.last() != Some(&step) {
                seen.push(step);
            }
        }
        if stage == "pass1" || status.state.is_finished() {
            assert!(status.stage_progress.is_none(), "pass 1 reports iterations instead");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(600), "still {stage} after 10 min");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let details: Vec<&str> = seen.iter().map(|(_, d)| d.as_str()).collect();
    let masks_step = "undistorting the uploaded masks";
    for step in ["COLMAP: matching features", "COLMAP: registering views", masks_step] {
        assert!(details.contains(&step), "{step} not shown: {seen:?}");
    }
    assert!(seen.iter().all(|(stage, detail)| {
        (stage == "masks") == (detail == masks_step) && (stage == "poses" || stage == "masks")
    }));
    assert!(fractions.iter().any(|&f| f > 0.0 && f < 1.0), "no partial progress: {fractions:?}");

    // Each served mask is its uploaded mask seen through the undistorted camera: the same share
    // of the view within a percent (a mask from elsewhere, or estimated, differs by more).
    let (status, masks) = server.get(&format!("/api/jobs/{id}/masks")).await;
    assert_eq!(status, StatusCode::OK);
    let masks: Vec<String> = serde_json::from_slice(&masks).unwrap();
    assert!(masks.len() >= 90, "{} masks", masks.len());
    for name in &masks {
        let (status, png) = server.get(&format!("/api/jobs/{id}/masks/{name}")).await;
        assert_eq!(status, StatusCode::OK);
        let served = image::load_from_memory(&png).unwrap().to_luma8();
        // Served as `NNNN_<stem>.jpg.png`.
        let stem = name.split_once('_').unwrap().1.split('.').next().unwrap();
        let (got, want) = (share_on(&served), coverage[stem]);
        assert!((got - want).abs() < 0.01, "{name}: {got} of the view against {want} uploaded");
    }
    let cancel = Request::delete(format!("/api/jobs/{id}")).body(Body::empty()).unwrap();
    assert!(server.send(cancel).await.0.is_success());
}

/// The share of a mask's pixels that are on.
fn share_on(mask: &image::GrayImage) -> f64 {
    let on = mask.pixels().filter(|p| p.0[0] >= 128).count();
    on as f64 / f64::from(mask.width() * mask.height())
}

/// A ReconViaGen job from upload to GLB, with the real pipeline on miniature modules with
/// random weights (the released checkpoints are gigabytes): the views are cropped from their
/// alpha, every step shows on the job's status in order, and the result is a GLB and an OBJ
/// zip. A config key the model does not know is refused at upload.
#[tokio::test(flavor = "multi_thread")]
async fn a_reconviagen_job_runs_views_to_a_glb() {
    use meshcast_engine::reconviagen::pipeline::{Models, PipelineConfig};
    use meshcast_server::jobs::nvdiffrec::NvdiffrecJob;
    use meshcast_server::jobs::reconstructor::Reconstructor;
    use meshcast_server::jobs::reconviagen::ReconviagenJob;
    use meshcast_shared::ModelName;

    let device = meshcast_engine::tch::Device::Cpu;
    let models = Models::new(PipelineConfig::miniature(), device).unwrap();
    models.randomize(11);
    let set: std::collections::HashMap<ModelName, std::sync::Arc<dyn Reconstructor>> = [
        (
            ModelName::Nvdiffrec,
            std::sync::Arc::new(NvdiffrecJob) as std::sync::Arc<dyn Reconstructor>,
        ),
        (
            ModelName::Reconviagen,
            std::sync::Arc::new(ReconviagenJob::with_models(device, models)) as _,
        ),
    ]
    .into();
    let server = TestServer::start_with(tempfile::tempdir().unwrap(), 4, Some(set)).await;
    // Three RGBA training views of Suzanne.
    let views = tempfile::tempdir().unwrap();
    let train = suzanne_dir().join("train");
    let mut names: Vec<_> = std::fs::read_dir(&train).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    for path in names.iter().take(3) {
        std::fs::copy(path, views.path().join(path.file_name().unwrap())).unwrap();
    }
    let zip = zip_dir(views.path(), Some("views"), &[]);

    let (status, body) = server
        .upload(&[
            Part("model", None, b"reconviagen"),
            Part("config", None, br#"{"steps": 3}"#),
            Part("dataset", Some("views.zip"), &zip),
        ])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().contains("unknown key `steps`"), "{body}");
    // A view whose alpha is empty everywhere is refused by name.
    let blank = tempfile::tempdir().unwrap();
    for path in names.iter().take(2) {
        std::fs::copy(path, blank.path().join(path.file_name().unwrap())).unwrap();
    }
    image::RgbaImage::new(32, 32).save(blank.path().join("empty.png")).unwrap();
    let (status, body) = server
        .upload(&[
            Part("model", None, b"reconviagen"),
            Part("dataset", Some("blank.zip"), &zip_dir(blank.path(), None, &[])),
        ])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().contains("empty.png is transparent everywhere"), "{body}");

    let (status, body) = server
        .upload(&[
            Part("model", None, b"reconviagen"),
            Part("config", None, br#"{"seed": 3, "simplify": 0.8, "texture_size": 256}"#),
            Part("dataset", Some("views.zip"), &zip),
        ])
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let mut stages: Vec<String> = Vec::new();
    let started = std::time::Instant::now();
    let done = loop {
        let status = server.status(&id).await;
        if let Some(stage) = status.stage.clone()
            && stages.last() != Some(&stage)
        {
            stages.push(stage);
        }
        if status.state.is_finished() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(300), "still {:?}", status.stage);
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
    // Polling may miss a short step; those seen come in pipeline order, ending with export.
    let order =
        ["weights", "preprocess", "encoders", "stage1", "stage2", "decode", "glb", "export"];
    let positions: Vec<usize> =
        stages.iter().map(|s| order.iter().position(|o| o == s).expect("known stage")).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{stages:?}");
    assert_eq!(stages.last().map(String::as_str), Some("export"), "{stages:?}");
    let result = done.result.unwrap();
    assert!(result.triangles > 0 && result.glb_bytes > 1000, "{result:?}");
    let (status, glb) = server.get(&format!("/api/jobs/{id}/result.glb")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&glb[..4], b"glTF");
    let (status, _) = server.get(&format!("/api/jobs/{id}/result.obj.zip")).await;
    assert_eq!(status, StatusCode::OK);
}
