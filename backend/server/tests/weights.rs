//! `meshcast weights`: the bundled manifest, and fetching from a local HTTP server (tower-http's
//! file service, which honours Range requests): resume, checksum from the manifest or from the
//! server's `X-Linked-Etag`, a corrupt download discarded, no network named clearly.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

use std::path::{Path, PathBuf};

use axum::Router;
use axum::http::{HeaderName, HeaderValue};
use meshcast_server::weights::fetch::Fetched;
use meshcast_server::weights::{FetchError, Manifest, ManifestEntry, fetch};
use sha2::{Digest, Sha256};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// Serves `dir` on loopback, with `X-Linked-Etag: etag` on every response when given.
async fn serve(dir: &Path, etag: Option<String>) -> String {
    let mut app = Router::new().fallback_service(ServeDir::new(dir));
    if let Some(etag) = etag {
        app = app.layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-linked-etag"),
            HeaderValue::from_str(&format!("\"{etag}\"")).unwrap(),
        ));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn entry(url: String, sha256: Option<String>) -> ManifestEntry {
    ManifestEntry {
        model: "test".into(),
        description: "test file".into(),
        url,
        path: PathBuf::from("model/blob.bin"),
        licence: "MIT".into(),
        size: None,
        sha256,
        convert: None,
    }
}

/// 3 MiB of deterministic, incompressible-looking bytes and their SHA-256.
fn blob() -> (Vec<u8>, String) {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let bytes: Vec<u8> = (0..3 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let sha = format!("{:x}", Sha256::digest(&bytes));
    (bytes, sha)
}

async fn fetch_in(entry: ManifestEntry, dir: PathBuf) -> Result<Fetched, FetchError> {
    tokio::task::spawn_blocking(move || fetch(&entry, &dir)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partial_download_resumes_and_is_verified() {
    let (bytes, sha) = blob();
    let served = tempfile::tempdir().unwrap();
    std::fs::write(served.path().join("blob.bin"), &bytes).unwrap();
    let base = serve(served.path(), None).await;
    let weights = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(weights.path().join("model")).unwrap();
    std::fs::write(weights.path().join("model/blob.bin.part"), &bytes[..1 << 20]).unwrap();

    let e = entry(format!("{base}/blob.bin"), Some(sha.clone()));
    let fetched = fetch_in(e.clone(), weights.path().to_owned()).await.unwrap();
    assert_eq!(fetched, Fetched::Downloaded { resumed_from: 1 << 20, verified: true });
    assert_eq!(std::fs::read(weights.path().join("model/blob.bin")).unwrap(), bytes);
    assert!(!weights.path().join("model/blob.bin.part").exists());
    // A second run leaves the file alone.
    assert_eq!(fetch_in(e, weights.path().to_owned()).await.unwrap(), Fetched::Present);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_checksum_discards_the_download() {
    let (bytes, sha) = blob();
    let served = tempfile::tempdir().unwrap();
    std::fs::write(served.path().join("blob.bin"), &bytes).unwrap();
    let weights = tempfile::tempdir().unwrap();

    // From the manifest.
    let base = serve(served.path(), None).await;
    let wrong = "0".repeat(64);
    let err = fetch_in(entry(format!("{base}/blob.bin"), Some(wrong)), weights.path().to_owned())
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Mismatch { what: "SHA-256", .. }), "{err}");
    assert!(err.to_string().contains("model/blob.bin") && err.to_string().contains("discarded"));
    assert!(!weights.path().join("model/blob.bin").exists());
    assert!(!weights.path().join("model/blob.bin.part").exists());

    // Announced by the server, as Hugging Face does.
    let lying = serve(served.path(), Some("f".repeat(64))).await;
    let err = fetch_in(entry(format!("{lying}/blob.bin"), None), weights.path().to_owned())
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Mismatch { .. }), "{err}");
    let honest = serve(served.path(), Some(sha)).await;
    let fetched = fetch_in(entry(format!("{honest}/blob.bin"), None), weights.path().to_owned())
        .await
        .unwrap();
    assert_eq!(fetched, Fetched::Downloaded { resumed_from: 0, verified: true });
}

#[tokio::test(flavor = "multi_thread")]
async fn no_network_and_missing_files_are_named() {
    let weights = tempfile::tempdir().unwrap();
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let err = fetch_in(entry(format!("http://{closed}/blob.bin"), None), weights.path().to_owned())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, FetchError::Network { .. }), "{message}");
    assert!(
        message.contains("model/blob.bin") && message.contains("meshcast weights fetch"),
        "{message}"
    );

    let served = tempfile::tempdir().unwrap();
    let base = serve(served.path(), None).await;
    let err = fetch_in(entry(format!("{base}/absent.bin"), None), weights.path().to_owned())
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Status { status: 404, .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pytorch_pickle_is_converted_to_safetensors() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/weights");
    let base = serve(&fixture, None).await;
    let weights = tempfile::tempdir().unwrap();
    let e = ManifestEntry {
        path: PathBuf::from("model/state.pth"),
        convert: Some("safetensors".into()),
        ..entry(format!("{base}/tiny_state_dict.pth"), None)
    };
    let fetched = fetch_in(e.clone(), weights.path().to_owned()).await.unwrap();
    assert!(matches!(fetched, Fetched::Downloaded { .. }));
    assert!(!weights.path().join("model/state.pth").exists(), "the pickle is removed");
    let tensors = meshcast_engine::tch::Tensor::read_safetensors(
        weights.path().join("model/state.safetensors"),
    )
    .unwrap();
    let names: Vec<&str> = tensors.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names.len(), 2);
    assert!(
        names.contains(&"blocks.0.attn.qkv.weight") && names.contains(&"cls_token"),
        "{names:?}"
    );
    assert_eq!(fetch_in(e, weights.path().to_owned()).await.unwrap(), Fetched::Present);

    // Something that is not a pickle: the conversion fails naming the file.
    let e = ManifestEntry {
        path: PathBuf::from("model/other.pth"),
        convert: Some("safetensors".into()),
        ..entry(format!("{base}/../weights/tiny_state_dict.pth"), None)
    };
    std::fs::create_dir_all(weights.path().join("model")).unwrap();
    std::fs::write(weights.path().join("model/other.pth"), b"not a zip").unwrap();
    let err = fetch_in(e, weights.path().to_owned()).await.unwrap_err();
    assert!(matches!(err, FetchError::Convert { .. }), "{err}");
    assert!(err.to_string().contains("model/other.pth"), "{err}");
}

#[test]
fn the_bundled_manifest_lists_every_model_and_rejects_bad_entries() {
    let manifest = Manifest::bundled().unwrap();
    assert_eq!(manifest.models(), ["dinov2", "vggt", "trellis-vggt", "birefnet"]);
    assert_eq!(manifest.select(Some("trellis-vggt")).unwrap().len(), 15);
    assert!(manifest.file.iter().all(|e| e.url.starts_with("https://")));
    let err = manifest.select(Some("sam")).unwrap_err().to_string();
    assert!(err.contains("no model `sam`") && err.contains("dinov2, vggt"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(manifest.missing(dir.path(), "vggt").len(), 2);

    let one = |url: &str, path: &str, sha: &str| {
        format!(
            "[[file]]\nmodel = \"m\"\ndescription = \"d\"\nurl = \"{url}\"\npath = \"{path}\"\nlicence = \"MIT\"\n{sha}"
        )
    };
    for (text, want) in [
        (one("http://example.com/a", "a", ""), "https://"),
        (one("https://example.com/a", "../a", ""), "inside the weights folder"),
        (one("https://example.com/a", "/etc/a", ""), "inside the weights folder"),
        (one("https://example.com/a", "a", "sha256 = \"abc\""), "64 hex digits"),
        (one("https://example.com/a", "a", "convert = \"onnx\""), "`convert`"),
        (format!("{}\n{}", one("https://x/a", "a", ""), one("https://x/b", "a", "")), "twice"),
        ("[[file]]\nmodel = 1".to_owned(), "invalid"),
    ] {
        let err = Manifest::parse(&text).unwrap_err().to_string();
        assert!(err.contains(want), "{text:?}: {err}");
    }
}

#[test]
fn weights_list_shows_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_meshcast"))
        .args(["weights", "list", "--weights-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.lines().count(), 19, "{stdout}");
    assert!(stdout.lines().all(|l| l.starts_with("missing")), "{stdout}");
    // DINOv2 is converted after download: its safetensors file is what counts as present.
    std::fs::create_dir_all(dir.path().join("dinov2")).unwrap();
    std::fs::write(dir.path().join("dinov2/dinov2_vitl14_reg4_pretrain.safetensors"), b"x")
        .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_meshcast"))
        .args(["weights", "list", "--weights-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("present")
                && l.contains("dinov2_vitl14_reg4_pretrain.safetensors")),
        "{stdout}"
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_meshcast"))
        .args(["weights", "fetch", "--only", "nope", "--weights-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no model `nope`"));
}
