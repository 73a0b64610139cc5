"""Every metric the Grafana dashboards and the alert rules in deploy/k8s query exists: exported by the
running mesh (scraped from each process's metrics port) or by a named external exporter."""

import json
import re
import urllib.request
from pathlib import Path

import pytest
import yaml

MONITORING = Path(__file__).resolve().parents[2] / "deploy/k8s/components/monitoring"
# Metrics that come from elsewhere in the cluster, never from a Framelane process.
EXTERNAL = {
    "up": "Prometheus (scrape health)",
    "kube_pod_container_status_restarts_total": "kube-state-metrics",
    "kube_pod_container_status_waiting_reason": "kube-state-metrics",
}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"}


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression (or a Grafana label_values() query) reads."""
    names = set(re.findall(r"label_values\(\s*([a-zA-Z_:][\w:]*)\s*,", expr))
    expr = re.sub(r"label_values\([^)]*\)", " ", expr)
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', " ", expr)          # strings
    expr = re.sub(r"\{[^}]*\}", " ", expr)                  # label matchers
    expr = re.sub(r"\[[^\]]*\]", " ", expr)                 # ranges
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    for token in re.finditer(r"(?<![\w.$])([a-zA-Z_:][\w:]*)(\s*\()?", expr):
        if not token.group(2) and token.group(1) not in KEYWORDS:
            names.add(token.group(1))
    return names


def test_metric_names_parser():
    expr = ('histogram_quantile(0.99, sum by (service, le) (rate(framelane_grpc_server_handling_seconds_bucket'
            '{namespace=~"$namespace",code=~"A|B"}[$__rate_interval]))) > 2 and on (service) up == 0')
    assert metric_names(expr) == {"framelane_grpc_server_handling_seconds_bucket", "up"}
    assert metric_names("label_values(framelane_service_up, namespace)") == {"framelane_service_up"}


def dashboard_queries() -> dict[str, list[str]]:
    out = {}
    for path in sorted((MONITORING / "dashboards").glob("*.json")):
        board = json.loads(path.read_text())
        exprs = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
        exprs += [v["query"] for v in board["templating"]["list"] if v.get("type") == "query"]
        out[path.stem] = exprs
    return out


def alert_queries() -> list[str]:
    rule = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    return [r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]]


def _exported(port: int) -> set[str]:
    """Sample names a /metrics endpoint can export, including families with no sample yet."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    names = set()
    suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created"),
                "summary": ("_sum", "_count", "_created"), "gauge": ()}
    for line in text.splitlines():
        m = re.match(r"# TYPE (\S+) (\S+)", line)
        if m:
            base = m.group(1).removesuffix("_total") if m.group(2) == "counter" else m.group(1)
            names |= {base, *(base + s for s in suffixes.get(m.group(2), ()))}
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


@pytest.fixture(scope="module")
def exported(mesh) -> dict[str, set[str]]:
    urllib.request.urlopen(mesh.base_url + "/readyz", timeout=10).read()  # some RPCs, so samples exist too
    return {name: _exported(mesh.ports[name][1]) for name, proc in mesh.procs.items() if name in mesh.ports}


def _missing(names: set[str], available: set[str]) -> set[str]:
    return {n for n in names if n not in available and n not in EXTERNAL}


@pytest.mark.parametrize("board", list(dashboard_queries()))
def test_dashboard_metrics_are_exported(board, exported):
    names = set().union(*map(metric_names, dashboard_queries()[board]))
    assert names, f"{board}: no query found"
    process = board.replace("-", "_")
    # A service's own dashboard reads what that process exports; the overview, what any of them does.
    available = exported.get(process) or set().union(*exported.values())
    assert not _missing(names, available), f"{board} queries metrics nobody exports: {sorted(_missing(names, available))}"


def test_alert_metrics_are_exported(exported):
    names = set().union(*map(metric_names, alert_queries()))
    assert {"framelane_outbox_unpublished_events", "framelane_grpc_server_handled_total"} <= names
    available = set().union(*exported.values())
    assert not _missing(names, available), f"alerts query metrics nobody exports: {sorted(_missing(names, available))}"
