SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
VENV := .venv
# The model runner's own environment (mediapipe needs numpy<2 and protobuf<5; see scripts/install-model-env.sh).
MODELS_VENV := .venv-models
PY := $(VENV)/bin/python
PYTEST := $(PY) -m pytest

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

deps: $(VENV)/.installed $(MODELS_VENV)/.installed ## Create .venv and .venv-models with the pinned runtime dependencies and the Debian packages

dev-deps: $(VENV)/.installed-dev $(MODELS_VENV)/.installed-dev ## deps plus the test, fuzzing and k8s validation tools

$(VENV)/.installed: pyproject.toml scripts/install-system-deps.sh
	scripts/install-system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $@

$(MODELS_VENV)/.installed: scripts/install-model-env.sh services/tasks/model_runner/requirements.txt
	PYTHON=$(PYTHON) scripts/install-model-env.sh $(MODELS_VENV)
	touch $@

$(MODELS_VENV)/.installed-dev: $(MODELS_VENV)/.installed services/tasks/model_runner/requirements-dev.txt
	PYTHON=$(PYTHON) scripts/install-model-env.sh --dev $(MODELS_VENV)
	touch $@

protos: deps ## Regenerate gen/ (Python, descriptor set, OpenAPI) and deploy/k8s's Envoy config from protos/
	$(PY) -m framelane_core.protogen
	$(PY) deploy/k8s/envoy_config.py

check-protos: dev-deps ## Fail when gen/ is stale
	$(PY) -m framelane_core.protogen --check

run: deps ## Start the whole mesh on http://127.0.0.1:8080 (Ctrl-C stops it)
	$(PY) -m framelane_core.devmesh

test: dev-deps ## The whole suite: unit, integration (real PostgreSQL + NATS), e2e (through Envoy)
	$(PYTEST) -q

test-unit: dev-deps ## Pure, fast tests
	$(PYTEST) -q tests/unit

test-integration: dev-deps ## Tests against real PostgreSQL and NATS
	$(PYTEST) -q tests/integration

test-e2e: dev-deps ## The whole mesh over HTTP
	$(PYTEST) -q tests/e2e

bench-gateway: deps ## GET /v1/workspace through Envoy vs the direct gRPC call
	$(PY) bench/bench_gateway.py

bench-render: deps ## Reference specs: ours through the API vs our FFmpeg command alone, the encoder floor and MoviePy 2
	$(PY) bench/bench_render.py

bench-transitions: deps ## Each supported transition's CPU cost in a 1080p render over a hard cut, and an xfade expression for scale
	$(PY) bench/bench_transitions.py

bench-webhooks: deps ## Webhook deliveries/s and event-to-delivery latency, 1 and 100 endpoints
	$(PY) bench/bench_webhooks.py

bench-load: deps ## Creates, long-polls, lists and downloads at a fixed rate for 2 min (BENCH_LOAD_SECONDS=20 for a smoke run)
	$(PY) bench/bench_load.py

bench-ai-tasks: deps ## remove-background (person model) and gaze-redirect frames/s on a generated 720p clip
	$(PY) bench/bench_ai_tasks.py

bench-tasks: deps ## AI task throughput and peak memory (transcribe, super-resolution, remove-background) vs same-run baselines
	$(PY) bench/bench_tasks.py

fuzz: dev-deps ## schemathesis against /openapi.json of a fresh mesh (FUZZ_EXAMPLES per operation, default 100)
	$(PY) tests/fuzz/fuzz_api.py

chaos: dev-deps ## kill -9 each process of a fresh mesh in turn, restart its PostgreSQL and NATS, ~100 jobs in flight; check nothing is lost or done twice
	$(PY) tests/chaos/chaos.py

k8s-validate: dev-deps ## Render every kustomize overlay and validate it offline (schemas, code, Envoy, Dockerfiles)
	$(PY) deploy/k8s/validate.py

k8s-generate: deps ## Rewrite deploy/k8s's generated files (Envoy ConfigMap, Grafana dashboards)
	$(PY) deploy/k8s/envoy_config.py
	$(PY) deploy/k8s/dashboards.py

.PHONY: help deps dev-deps protos check-protos run test test-unit test-integration test-e2e bench-gateway bench-render bench-transitions bench-webhooks bench-load bench-tasks bench-ai-tasks fuzz chaos k8s-validate k8s-generate
