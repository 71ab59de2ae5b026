//! The real binary's start-up failures: one clear line on stderr and a non-zero exit.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

use std::net::TcpListener;
use std::process::{Command, Output};

fn meshcast(args: &[&str], dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meshcast"))
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "error")
        .output()
        .unwrap()
}

fn error_lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|l| l.starts_with("error:"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn port_in_use_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = meshcast(&["serve", "--addr", &addr, "--web-dir", "."], dir.path());
    assert!(!output.status.success());
    let errors = error_lines(&output);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains(&addr) && errors[0].contains("cannot listen"), "{errors:?}");
}

#[test]
fn unwritable_data_dir_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    // A regular file where the data folder should be: no user, root included, can create it.
    std::fs::write(dir.path().join("blocker"), b"x").unwrap();
    let output =
        meshcast(&["serve", "--addr", "127.0.0.1:0", "--data-dir", "blocker/data"], dir.path());
    assert!(!output.status.success());
    let errors = error_lines(&output);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("blocker/data") && errors[0].contains("not writable"), "{errors:?}");
}

#[test]
fn missing_gpu_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let output = meshcast(&["serve", "--addr", "127.0.0.1:0", "--device", "cuda:64"], dir.path());
    assert!(!output.status.success());
    let errors = error_lines(&output);
    assert!(errors.len() == 1 && errors[0].contains("cuda:64"), "{errors:?}");
}

#[test]
fn sigterm_stops_the_server_gracefully() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_meshcast"))
        .args(["serve", "--addr", "127.0.0.1:0", "--device", "cpu"])
        .current_dir(dir.path())
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines().map_while(Result::ok);
    assert!(lines.by_ref().any(|l| l.contains("listening on http://")), "server never listened");
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.collect();
    let exit = child.wait().unwrap();
    assert!(exit.success(), "exit {exit:?}; log: {rest:?}");
    assert!(rest.iter().any(|l| l.contains("SIGTERM received")), "{rest:?}");
    assert!(dir.path().join("data/meshcast.sqlite3").is_file());
}
