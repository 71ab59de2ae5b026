#!/usr/bin/env bash
# Builds engine binaries here and bundles them, stripped, with a runner script into .device/
# (git-ignored), for a GPU machine that has PyTorch 2.11 but no Rust (carry [".device"]).
#
#   scripts/gpu-bundle.sh            engine tests + the ReconViaGen job, encoder and raster
#                                    benchmarks; there `.device/run.sh` runs the benchmarks and
#                                    every engine test on CPU + GPU (MESHCAST_REQUIRE_CUDA=1),
#                                    writing the tables to $OUT/bench.md. `BENCHES="reconviagen"`
#                                    and `TESTS=reconviagen` (a name pattern) bundle fewer, as the
#                                    64 MiB carry (tracked files included) may need.
#   scripts/gpu-bundle.sh nvdiffrec  the nvdiffrec quality benchmark + the team's datasets
#                                    (../shared/datasets/{suzanne,mug}); there
#                                    `.device/run.sh [ARGS]` runs it, table to $OUT/nvdiffrec.md.
#
# Carry is limited to 64 MiB, hence two bundles, and the test bundle travels as a gzip tarball
# that its runner unpacks. The export tests and the two GLB tests of ReconViaGen need Node
# (Khronos' validator) and the photo tests COLMAP; they stay on the development machine.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$MESHCAST_ROOT"
grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
rm -rf .device && mkdir -p .device
mode="${1:-tests}"
executables() {
  python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        print(m["executable"])'
}
if [ "$mode" = nvdiffrec ]; then
  cargo bench -p meshcast-engine --bench nvdiffrec --no-run --message-format=json 2>/dev/null | executables |
    while read -r f; do cp "$f" .device/bench-nvdiffrec; done
  strip --strip-debug .device/bench-nvdiffrec
  mkdir -p .device/data
  for scene in suzanne mug; do cp -r "$MESHCAST_ROOT/../shared/datasets/$scene" .device/data/; done
  cat > .device/run.sh <<'RUNNER'
#!/usr/bin/env bash
set -u
cd "$(dirname "$0")"
export LD_LIBRARY_PATH=$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')/lib:/usr/local/cuda-13.0/targets/x86_64-linux/lib
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
./bench-nvdiffrec --dataset data/suzanne --dataset data/mug ${OUT:+--out $OUT/meshes --append $OUT/nvdiffrec.md} "$@"
RUNNER
  chmod +x .device/run.sh
  du -sh .device
  exit 0
fi
cargo test -p meshcast-engine --no-run --message-format=json 2>/dev/null | executables |
  while read -r f; do cp "$f" ".device/test-$(basename "$f" | sed 's/-[0-9a-f]*$//')"; done
rm -f .device/test-export .device/test-photos
if [ -n "${TESTS:-}" ]; then
  for f in .device/test-*; do case "$f" in *"$TESTS"*) ;; *) rm -f "$f" ;; esac; done
fi
for bench in ${BENCHES:-reconviagen encoders raster}; do
  cargo bench -p meshcast-engine --bench "$bench" --no-run --message-format=json 2>/dev/null | executables |
    while read -r f; do cp "$f" ".device/bench-$bench"; done
done
strip --strip-debug .device/bench-* $(ls .device/test-* 2>/dev/null)
(cd .device && tar czf bin.tar.gz bench-* $(ls test-* 2>/dev/null) && rm -f test-* bench-*)
cat > .device/run.sh <<RUNNER
#!/usr/bin/env bash
set -u
repo=\$PWD
# Tests find tests/data through the path of the checkout they were built in.
[ -e "$MESHCAST_ROOT" ] || { mkdir -p "$(dirname "$MESHCAST_ROOT")" && ln -s "\$repo" "$MESHCAST_ROOT"; }
cd "\$(dirname "\$0")"
tar xzf bin.tar.gz
export LD_LIBRARY_PATH=\$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')/lib:/usr/local/cuda-13.0/targets/x86_64-linux/lib
export MESHCAST_REQUIRE_CUDA=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
status=0
# Benchmarks first: they are what a short device slot is for.
echo "== bench"
for bench in bench-*; do
  ./\$bench \${OUT:+--append \$OUT/bench.md} || status=1
done
for t in test-*; do
  echo "== \$t"
  ./\$t --test-threads=1 --skip decoded_mesh_becomes_a_valid_textured_glb \
    --skip views_become_a_textured_mesh_step_by_step > /tmp/\$t.log 2>&1 ||
    { status=1; [ -n "\${OUT:-}" ] && cp /tmp/\$t.log "\$OUT/"; }
  grep -E "test result|FAILED|panicked" /tmp/\$t.log
done
exit \$status
RUNNER
chmod +x .device/run.sh
du -sh .device
echo "bundle ready: run '.device/run.sh' on the device machine with carry [\".device\"]"
