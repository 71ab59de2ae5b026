# meshcast: server + built web app + libtorch, on a CUDA 12.6 runtime.
#
#   docker build -t meshcast .
#   docker run --gpus all -p 8080:8080 -v meshcast-data:/data -v "$PWD/weights:/app/weights" meshcast
#   docker run --rm -v "$PWD/weights:/app/weights" meshcast weights fetch   # ReconViaGen's weights, once
#
# libtorch 2.11 ships for CUDA 12.6 and newer; the cu126 wheel's libraries come along, so the
# runtime image needs only the driver (CUDA minor-version compatibility covers 12.x drivers; the
# engine compiles its kernels to CUBIN, never PTX, so no driver JIT is involved).

FROM rust:1.95-bookworm AS builder
ENV DEBIAN_FRONTEND=noninteractive \
    MESHCAST_TORCH_INDEX_URL=https://download.pytorch.org/whl/cu126
WORKDIR /src
# The same setup script as on a developer machine: wasm target, wasm-bindgen-cli, torch venv,
# binaryen. Copied first so the layer is cached across source changes.
COPY scripts/ scripts/
COPY Cargo.toml Cargo.lock ./
RUN scripts/setup.sh
COPY . .
RUN . scripts/env.sh \
 && cargo xtask web --release \
 && cargo build --release --package meshcast-server --bin meshcast \
 && mkdir -p /out/torch \
 && site="$(ls -d .venv/lib/python3.*/site-packages)" \
 && cp -a "$site/torch/lib" /out/torch/lib \
 && cp -a "$site/nvidia" /out/nvidia \
 && cp target/release/meshcast /out/meshcast \
 && cp -a target/web /out/web

FROM nvidia/cuda:12.6.3-base-ubuntu24.04 AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 libstdc++6 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# Keep torch/lib and nvidia/ side by side: libtorch's RUNPATH finds the CUDA wheels' libraries
# relative to itself ($ORIGIN/../../nvidia/...).
COPY --from=builder /out/torch/lib /opt/meshcast/site-packages/torch/lib
COPY --from=builder /out/nvidia /opt/meshcast/site-packages/nvidia
COPY --from=builder /out/meshcast /usr/local/bin/meshcast
COPY --from=builder /out/web /app/web
ENV LD_LIBRARY_PATH=/opt/meshcast/site-packages/torch/lib:/opt/meshcast/site-packages/nvidia/cuda_nvrtc/lib \
    MESHCAST_ADDR=0.0.0.0:8080 \
    MESHCAST_DATA_DIR=/data \
    MESHCAST_WEB_DIR=/app/web \
    MESHCAST_WEIGHTS_DIR=/app/weights
VOLUME ["/data", "/app/weights"]
EXPOSE 8080
WORKDIR /app
ENTRYPOINT ["meshcast"]
CMD ["serve"]
