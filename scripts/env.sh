# Sourced by the project's scripts: where the toolchain lives and how to find libtorch.
# shellcheck shell=bash
MESHCAST_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export MESHCAST_ROOT
export VIRTUAL_ENV="$MESHCAST_ROOT/.venv"
export PATH="$VIRTUAL_ENV/bin:$MESHCAST_ROOT/.tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export LIBTORCH_USE_PYTORCH=1
# libtorch and the CUDA libraries of its wheels (NVRTC for run-time kernels among them).
_site="$VIRTUAL_ENV/lib/python3.11/site-packages"
if [ -d "$VIRTUAL_ENV/lib" ]; then
  _site="$(ls -d "$VIRTUAL_ENV"/lib/python3.*/site-packages 2>/dev/null | head -n 1)"
fi
export LD_LIBRARY_PATH="$_site/torch/lib:$_site/nvidia/cu13/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
unset _site
