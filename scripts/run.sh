#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh), builds the web app and the server (release), and starts
# meshcast on http://127.0.0.1:8080 with an embedded SQLite database and a local ./data folder.
# Extra arguments go to `meshcast serve` (e.g. --addr 0.0.0.0:8080, --device cpu).
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
"$here/setup.sh"
source "$here/env.sh"
cd "$MESHCAST_ROOT"

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
step "building the web app"
cargo xtask web --release
step "building the server (release)"
cargo build --release --package meshcast-server --bin meshcast
step "starting meshcast (Ctrl-C stops it)"
exec target/release/meshcast serve --web-dir target/web --data-dir data "$@"
