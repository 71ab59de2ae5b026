#!/usr/bin/env bash
# Installs everything meshcast needs on a fresh Debian machine (run as root, registries reachable).
# Idempotent: each step checks first and skips what is already in place.
#   scripts/setup.sh          build + run prerequisites
#   scripts/setup.sh --test   the same plus Chromium and ChromeDriver for browser tests
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$MESHCAST_ROOT"

TORCH_VERSION=2.11.0
BINARYEN_VERSION=132.0.0
GLTF_VALIDATOR_VERSION=2.0.0-dev.3.10
with_browser=false
[ "${1:-}" = "--test" ] && with_browser=true

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
skip() { printf '    %s\n' "$*"; }

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if [ ${#missing[@]} -eq 0 ]; then skip "already installed: $*"; return; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# torch's wheels (~5 GB installed) and the build need room: warn up front, so that a step failing
# later with "No space left on device" is understood at once.
need_gib=16
free_gib=$(df -Pk "$MESHCAST_ROOT" | awk 'NR == 2 { print int($4 / 1048576) }')
if [ -d "$VIRTUAL_ENV/lib" ] && [ -d target ]; then need_gib=4; fi
if [ "${free_gib:-0}" -lt "$need_gib" ]; then
  printf '\033[1;33mwarning:\033[0m only %s GiB free on %s; a first setup and build need about %s GiB.\n' \
    "$free_gib" "$(df -P "$MESHCAST_ROOT" | awk 'NR == 2 { print $6 }')" "$need_gib" >&2
fi

step "Debian packages for building (C/C++ compiler, pkg-config, Python venv, Node.js)"
need=()
command -v cc >/dev/null || need+=(build-essential)
command -v pkg-config >/dev/null || need+=(pkg-config)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
command -v npm >/dev/null || need+=(nodejs npm)
if [ ${#need[@]} -gt 0 ]; then apt_install "${need[@]}"; else skip "already installed"; fi

step "COLMAP (Debian package), camera poses for photos without them"
apt_install colmap

step "Rust target wasm32-unknown-unknown"
if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  skip "already installed"
else
  rustup target add wasm32-unknown-unknown
fi

step "libtorch: torch==$TORCH_VERSION from PyPI into .venv"
if "$VIRTUAL_ENV/bin/python" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
  skip "torch $TORCH_VERSION already in .venv"
else
  [ -x "$VIRTUAL_ENV/bin/python" ] || python3 -m venv "$VIRTUAL_ENV"
  # MESHCAST_TORCH_INDEX_URL picks another build (the Dockerfile uses PyTorch's cu126 index).
  # No wheel cache: torch and its CUDA libraries are ~3 GB of wheels that would be stored twice.
  "$VIRTUAL_ENV/bin/pip" install --quiet --disable-pip-version-check --no-cache-dir \
    ${MESHCAST_TORCH_INDEX_URL:+--index-url "$MESHCAST_TORCH_INDEX_URL"} "torch==$TORCH_VERSION"
fi
# The venv was created after env.sh computed LD_LIBRARY_PATH on a first run: recompute.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

step "wasm-bindgen-cli at the version Cargo.lock pins"
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
if [ -z "$bindgen_version" ]; then echo "Cargo.lock pins no wasm-bindgen version" >&2; exit 1; fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" = "$bindgen_version" ]; then
  skip "wasm-bindgen $bindgen_version already installed"
else
  cargo install --quiet wasm-bindgen-cli --version "$bindgen_version"
fi

step "wasm-opt (npm binaryen@$BINARYEN_VERSION) into .tools"
if [ "$(.tools/node_modules/.bin/wasm-opt --version 2>/dev/null | awk '{print $3}')" = "${BINARYEN_VERSION%%.*}" ]; then
  skip "binaryen $BINARYEN_VERSION already installed"
else
  npm install --silent --no-audit --no-fund --prefix .tools "binaryen@$BINARYEN_VERSION"
fi

step "Khronos glTF-Validator (npm gltf-validator@$GLTF_VALIDATOR_VERSION) into .tools, for export tests"
if [ "$(node -p 'require("./.tools/node_modules/gltf-validator/package.json").version' 2>/dev/null)" = "$GLTF_VALIDATOR_VERSION" ]; then
  skip "gltf-validator $GLTF_VALIDATOR_VERSION already installed"
else
  npm install --silent --no-audit --no-fund --prefix .tools "gltf-validator@$GLTF_VALIDATOR_VERSION"
fi

if $with_browser; then
  step "Chromium and ChromeDriver for browser tests"
  apt_install chromium chromium-driver
fi
step "setup done"
