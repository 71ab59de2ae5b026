//! Khronos' glTF-Validator (installed by scripts/setup.sh under .tools/) as a test oracle.
#![allow(dead_code)] // each test binary uses what it needs

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs Khronos' glTF-Validator on `file` and fails the test, printing the report, on any error
/// or unexpected warning.
pub fn khronos_validate(file: &Path) -> serde_json::Value {
    let root = repo_root();
    let installed = root.join(".tools/node_modules/gltf-validator/package.json");
    assert!(
        installed.is_file(),
        "Khronos glTF-Validator is not installed ({} is missing): run scripts/setup.sh",
        installed.display()
    );
    let output = Command::new("node")
        .arg(root.join("scripts/gltf-validate.mjs"))
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run node ({e}); scripts/setup.sh installs Node.js"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "gltf-validate.mjs printed no report ({e}), status {}:\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
    });
    // Errors and warnings (severity 0 and 1) fail.
    let unexpected = report["issues"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["severity"].as_i64().unwrap() <= 1);
    assert!(
        output.status.success() && report["issues"]["numErrors"] == 0 && !unexpected,
        "glTF-Validator rejects {}:\n{stdout}",
        file.display()
    );
    report
}
