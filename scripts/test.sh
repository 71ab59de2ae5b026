#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh --test) and runs every check and test of the project:
# formatting, clippy (native and wasm), native tests, wasm tests in headless Chromium, and the
# browser end-to-end test against the real server binary. CI (.ci/run) runs exactly this.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
"$here/setup.sh" --test
source "$here/env.sh"
cd "$MESHCAST_ROOT"

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-always}"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
export CHROMEDRIVER=/usr/bin/chromedriver
export MESHCAST_REQUIRE_CUDA="${MESHCAST_REQUIRE_CUDA:-0}"

step "cargo fmt --check"
cargo fmt --all --check

step "clippy (native)"
cargo clippy --workspace --exclude meshcast-frontend --all-targets -- -D warnings

step "clippy (wasm32)"
cargo clippy --package meshcast-frontend --package meshcast-shared --target wasm32-unknown-unknown --all-targets -- -D warnings

step "web app bundle (release, size budget checked)"
cargo xtask web --release

step "native tests (unit, HTTP, database, CLI, kernels, browser end-to-end)"
cargo build --workspace --exclude meshcast-frontend --bins
cargo test --workspace --exclude meshcast-frontend

step "wasm tests in headless Chromium"
cargo test --package meshcast-frontend --target wasm32-unknown-unknown

step "all tests passed"
