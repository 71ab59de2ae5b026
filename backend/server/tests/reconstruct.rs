//! `meshcast reconstruct` as a user runs it: bad input is one clear error before any work; a
//! short run writes the mesh files and metrics; Ctrl-C writes the current mesh and a checkpoint
//! that `--resume` continues from.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn dataset() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/suzanne-96")
}

fn reconstruct(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meshcast"))
        .arg("reconstruct")
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn metrics(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json")).unwrap()).unwrap()
}

#[test]
fn bad_input_fails_before_any_work() {
    let out = tempfile::tempdir().unwrap();
    let data = dataset();
    let (data, out_dir) = (data.to_str().unwrap(), out.path().to_str().unwrap());
    let bad_config = out.path().join("bad.json");
    std::fs::write(&bad_config, r#"{"grid_res": 4}"#).unwrap();
    let not_json = out.path().join("not.json");
    std::fs::write(&not_json, "grid = 4").unwrap();
    let cases: [(Vec<&str>, &str); 5] = [
        (vec!["--preset", "huge"], "unknown preset `huge`"),
        (vec!["--config", bad_config.to_str().unwrap()], "unknown config key `grid_res`"),
        (vec!["--config", not_json.to_str().unwrap()], "not valid JSON"),
        (vec!["--iters", "0"], "iterations must be at least 1"),
        (vec!["--device", "cuda:64"], "cuda:64"),
    ];
    for (extra, needle) in cases {
        let mut args = vec!["--dataset", data, "--out", out_dir];
        args.extend(extra.iter().copied());
        let output = reconstruct(&args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(stderr(&output).contains(needle), "{args:?}: {}", stderr(&output));
    }
    let output = reconstruct(&["--dataset", out_dir, "--out", out_dir]);
    assert!(stderr(&output).contains("no transforms_train.json, transforms.json or COLMAP model"));
    assert!(!out.path().join("metrics.json").exists(), "nothing written on bad input");
}

#[test]
fn short_run_writes_mesh_and_metrics() {
    let out = tempfile::tempdir().unwrap();
    let config = out.path().join("small.json");
    std::fs::write(&config, r#"{"image_size": 48, "grid_resolution": 16}"#).unwrap();
    let output = reconstruct(&[
        "--dataset",
        dataset().to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
        "--preset",
        "tiny",
        "--config",
        config.to_str().unwrap(),
        "--iters",
        "6",
        "--device",
        "cpu",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let log = stderr(&output);
    assert!(log.contains("iteration 6/6") && log.contains("test views: PSNR"), "{log}");
    for file in ["mesh.glb", "mesh.obj", "mesh.mtl", "mesh_basecolor.png", "metrics.json"] {
        assert!(out.path().join(file).is_file(), "{file} missing");
    }
    let m = metrics(out.path());
    assert_eq!(m["passes"][0]["iterations"], 6);
    assert_eq!(m["device"], "cpu");
    assert_eq!(m["config"]["grid_resolution"], 16);
    assert!(m["triangles"].as_i64().unwrap() > 100);
    assert!(m["test"]["mask_iou"].as_f64().unwrap() > 0.0);
}

#[test]
fn interrupt_writes_mesh_and_checkpoint_and_resume_finishes() {
    let out = tempfile::tempdir().unwrap();
    let config = out.path().join("small.json");
    std::fs::write(&config, r#"{"image_size": 48, "grid_resolution": 16}"#).unwrap();
    let common = |iters: &'static str| {
        vec![
            "reconstruct".to_owned(),
            "--dataset".into(),
            dataset().to_str().unwrap().into(),
            "--out".into(),
            out.path().to_str().unwrap().into(),
            "--preset".into(),
            "tiny".into(),
            "--config".into(),
            config.to_str().unwrap().into(),
            "--device".into(),
            "cpu".into(),
            "--iters".into(),
            iters.into(),
        ]
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_meshcast"))
        .args(common("100000"))
        .env("RUST_LOG", "error")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines().map_while(Result::ok);
    // Wait for the first progress line, so some iterations are done.
    assert!(
        lines
            .by_ref()
            .any(|l| l.contains("iteration 5000/100000") || l.contains("pass 1 iteration"))
    );
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.collect();
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(130), "{rest:?}");
    assert!(rest.iter().any(|l| l.contains("interrupted")), "{rest:?}");
    assert!(out.path().join("mesh.glb").is_file());
    let m = metrics(out.path());
    assert_eq!(m["stopped_early"], true);
    let done = m["passes"][0]["iterations"].as_u64().unwrap();
    assert!(done >= 1, "{m}");
    let saved: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("checkpoint/checkpoint.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(saved["iteration"].as_u64(), Some(done));

    let target = (done + 3).to_string();
    let mut args = common("0");
    let n = args.len();
    args[n - 1] = target.clone();
    args.push("--resume".into());
    let output = Command::new(env!("CARGO_BIN_EXE_meshcast")).args(&args).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let m = metrics(out.path());
    assert_eq!(m["passes"][0]["iterations"].to_string(), target);
    assert_eq!(m["stopped_early"], false);

    // A checkpoint from before formats were numbered is refused by name, not by libtorch.
    let state = out.path().join("checkpoint/checkpoint.json");
    let mut old: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(old["format"], 2);
    old.as_object_mut().unwrap().remove("format");
    std::fs::write(&state, old.to_string()).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_meshcast")).args(&args).output().unwrap();
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("checkpoint format 1, this one reads 2"),
        "{}",
        stderr(&output)
    );
}
