"""Writes the Grafana dashboards (components/monitoring/dashboards/*.json): an overview for SREs and
one per service, all the same shape, from the metrics framelane_core.metrics exports today.

    python deploy/k8s/dashboards.py          # rewrite the JSON files
    python deploy/k8s/dashboards.py --check  # exit 1 when a committed file is stale (validate.py runs this)

tests/e2e/test_dashboards.py checks every metric these query is exported by the running mesh."""

import argparse
import json
import sys
from pathlib import Path

from framelane_core.config import SERVICE_PORTS

K8S = Path(__file__).resolve().parent
OUT = K8S / "components/monitoring/dashboards"
# Codes that mean the server failed (client mistakes such as INVALID_ARGUMENT are not errors here).
SERVER_ERRORS = "INTERNAL|UNKNOWN|UNAVAILABLE|DEADLINE_EXCEEDED|DATA_LOSS|UNIMPLEMENTED"
NS = 'namespace=~"$namespace"'
# Processes without an outbox relay (ServiceApp.stream_retention unset): no outbox panels.
NO_OUTBOX = ("gateway",)
# Worker processes and the job kind (framelane_core.jobqueue.JobWorker.kind) they run.
WORKER_KINDS = {"renderer_worker": "render", "tasks_worker": "task"}


def k8s_name(svc: str) -> str:
    """The Deployment of a process: renderer_worker → renderer-worker."""
    return svc.replace("_", "-")


def _panel(pid: int, title: str, exprs: list[tuple[str, str]], x: int, y: int, *, unit: str = "short",
           kind: str = "timeseries", w: int = 12, h: int = 8, description: str = "") -> dict:
    return {
        "id": pid, "type": kind, "title": title, "description": description,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}} if kind == "timeseries" else {},
        "targets": [{"refId": chr(65 + i), "expr": expr, "legendFormat": legend} for i, (expr, legend) in enumerate(exprs)],
    }


def _dashboard(uid: str, title: str, panels: list[dict], tags: list[str]) -> dict:
    return {
        "uid": uid, "title": title, "tags": ["framelane", *tags], "timezone": "utc", "schemaVersion": 39,
        "version": 1, "editable": False, "refresh": "30s", "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"},
            {"name": "namespace", "type": "query", "label": "Namespace",
             "datasource": {"type": "prometheus", "uid": "${datasource}"},
             "query": "label_values(framelane_service_up, namespace)", "refresh": 2, "includeAll": False},
        ]},
        "panels": panels,
    }


def overview() -> dict:
    rows = [
        ("Services serving", [(f"sum by (service) (framelane_service_up{{{NS}}})", "{{service}}")], "short",
         "Processes reporting SERVING, per service (API and worker pods)."),
        ("Requests per second", [(f"sum by (service) (rate(framelane_grpc_server_handled_total{{{NS}}}[$__rate_interval]))",
                                  "{{service}}")], "reqps", "Every RPC a service finished, any code."),
        ("Server error ratio", [(
            f'sum by (service) (rate(framelane_grpc_server_handled_total{{{NS},code=~"{SERVER_ERRORS}"}}[$__rate_interval]))'
            f" / sum by (service) (rate(framelane_grpc_server_handled_total{{{NS}}}[$__rate_interval]))", "{{service}}")],
         "percentunit", "Alert FramelaneHighErrorRate fires above 5% for 10 minutes."),
        ("p99 latency", [(
            "histogram_quantile(0.99, sum by (service, le) "
            f"(rate(framelane_grpc_server_handling_seconds_bucket{{{NS}}}[$__rate_interval])))", "{{service}}")], "s", ""),
        ("Outbox rows not yet published", [(f"max by (service) (framelane_outbox_unpublished_events{{{NS}}})", "{{service}}")],
         "short", "Alert FramelaneOutboxLag fires above 100 for 5 minutes."),
        ("Events published per second", [(
            f"sum by (service) (rate(framelane_outbox_events_published_total{{{NS}}}[$__rate_interval]))", "{{service}}")],
         "ops", ""),
        ("API key cache hit ratio", [(
            f'sum by (service) (rate(framelane_auth_cache_lookups_total{{{NS},outcome="hit"}}[$__rate_interval]))'
            f" / sum by (service) (rate(framelane_auth_cache_lookups_total{{{NS}}}[$__rate_interval]))", "{{service}}")],
         "percentunit", "Misses are gRPC calls to the usage service."),
        ("Oldest queued job", [(f"max by (kind) (framelane_jobs_oldest_queued_age_seconds{{{NS}}})", "{{kind}}")],
         "s", "Age of the oldest job in queued status. Alert FramelaneJobQueueAgeHigh fires above 10 minutes."),
        ("Jobs queued", [(f"max by (kind) (framelane_jobs_queued{{{NS}}})", "{{kind}}")], "short",
         "Jobs waiting for a worker (every worker reports the same count from the database)."),
        ("Jobs finished per second", [(
            f"sum by (kind, outcome) (rate(framelane_jobs_total{{{NS}}}[$__rate_interval]))", "{{kind}} {{outcome}}")],
         "ops", "Alert FramelaneJobFailureRate fires when more than 20% fail for 15 minutes."),
        ("Webhook attempts per second", [(
            f"sum by (outcome) (rate(framelane_webhook_attempts_total{{{NS}}}[$__rate_interval]))", "{{outcome}}")],
         "ops", "delivered and dead_lettered end a delivery; retry is a failed attempt with another scheduled. "
                "Alert FramelaneWebhooksDeadLettered fires above 10 dead letters an hour."),
        ("Credits moved per second", [(
            f"sum by (kind) (rate(framelane_credits_moved_total{{{NS}}}[$__rate_interval]))", "{{kind}}")],
         "short", "Committed credit ledger movements (grant, reserve, settle, refund)."),
        ("Container restarts (1 h)", [(
            f"sum by (pod) (increase(kube_pod_container_status_restarts_total{{{NS}}}[1h]))", "{{pod}}")], "short",
         "From kube-state-metrics. Alert FramelaneWorkerCrashLooping watches the workers."),
        ("Resident memory", [(f"sum by (pod) (process_resident_memory_bytes{{{NS},service!=\"\"}})", "{{pod}}")],
         "bytes", ""),
        ("CPU", [(f"sum by (pod) (rate(process_cpu_seconds_total{{{NS},service!=\"\"}}[$__rate_interval]))", "{{pod}}")],
         "short", "Cores used per pod."),
    ]
    panels = [_panel(i + 1, title, exprs, (i % 2) * 12, (i // 2) * 8, unit=unit, description=desc)
              for i, (title, exprs, unit, desc) in enumerate(rows)]
    return _dashboard("framelane-overview", "Framelane / Overview", panels, ["overview"])


def service(svc: str) -> dict:
    sel = f'{NS},service="{svc}"'
    pods = f'{NS},pod=~"{k8s_name(svc)}-[a-z0-9]+-[a-z0-9]+"'
    rows = [
        ("Processes serving", [(f"sum(framelane_service_up{{{sel}}})", "serving")], "short", ""),
        ("Requests per second by method", [(
            f"sum by (method) (rate(framelane_grpc_server_handled_total{{{sel}}}[$__rate_interval]))", "{{method}}")],
         "reqps", ""),
        ("Responses by code", [(
            f"sum by (code) (rate(framelane_grpc_server_handled_total{{{sel}}}[$__rate_interval]))", "{{code}}")],
         "reqps", "gRPC codes; Envoy maps them to HTTP statuses (google/rpc/code.proto)."),
        ("Server errors by method", [(
            f'sum by (method, code) (rate(framelane_grpc_server_handled_total{{{sel},code=~"{SERVER_ERRORS}"}}'
            "[$__rate_interval]))", "{{method}} {{code}}")], "reqps", ""),
        ("Latency by method (p50, p99)", [
            ("histogram_quantile(0.5, sum by (method, le) "
             f"(rate(framelane_grpc_server_handling_seconds_bucket{{{sel}}}[$__rate_interval])))", "p50 {{method}}"),
            ("histogram_quantile(0.99, sum by (method, le) "
             f"(rate(framelane_grpc_server_handling_seconds_bucket{{{sel}}}[$__rate_interval])))", "p99 {{method}}"),
        ], "s", ""),
        ("API key cache", [(
            f"sum by (outcome) (rate(framelane_auth_cache_lookups_total{{{sel}}}[$__rate_interval]))", "{{outcome}}")],
         "ops", ""),
    ]
    if svc not in NO_OUTBOX:
        rows += [
            ("Outbox rows not yet published", [(f"max(framelane_outbox_unpublished_events{{{sel}}})", "unpublished")],
             "short", ""),
            ("Events published per second", [(
                f"sum(rate(framelane_outbox_events_published_total{{{sel}}}[$__rate_interval]))", "published")], "ops", ""),
        ]
    if svc in WORKER_KINDS:
        rows += jobs_rows(WORKER_KINDS[svc])
    if svc == "webhooks":
        rows += webhook_rows()
    rows += [
        ("Resident memory by pod", [(f"sum by (pod) (process_resident_memory_bytes{{{pods}}})", "{{pod}}")], "bytes",
         f"Pods of the Deployment {k8s_name(svc)}."),
        ("CPU by pod", [(f"sum by (pod) (rate(process_cpu_seconds_total{{{pods}}}[$__rate_interval]))", "{{pod}}")],
         "short", ""),
        ("Open file descriptors", [(f"sum by (pod) (process_open_fds{{{pods}}})", "{{pod}}")], "short", ""),
        ("Python GC collections", [(
            f"sum by (pod) (rate(python_gc_collections_total{{{pods}}}[$__rate_interval]))", "{{pod}}")], "ops", ""),
    ]
    panels = [_panel(i + 1, title, exprs, (i % 2) * 12, (i // 2) * 8, unit=unit, description=desc)
              for i, (title, exprs, unit, desc) in enumerate(rows)]
    return _dashboard(f"framelane-{k8s_name(svc)}", f"Framelane / {k8s_name(svc)}", panels, ["service", k8s_name(svc)])


def jobs_rows(kind: str) -> list:
    sel = f'{NS},kind="{kind}"'
    rows = [
        ("Jobs queued", [(f"max(framelane_jobs_queued{{{sel}}})", "queued")], "short",
         "Jobs in queued status (from the database, every 5 s, by every worker)."),
        ("Oldest queued job", [(f"max(framelane_jobs_oldest_queued_age_seconds{{{sel}}})", "age")], "s",
         "Alert FramelaneJobQueueAgeHigh fires above 10 minutes."),
        ("Jobs finished by outcome", [(
            f"sum by (outcome) (rate(framelane_jobs_total{{{sel}}}[$__rate_interval]))", "{{outcome}}")], "ops", ""),
        ("Job duration (p50, p95)", [
            ("histogram_quantile(0.5, sum by (outcome, le) "
             f"(rate(framelane_job_duration_seconds_bucket{{{sel}}}[$__rate_interval])))", "p50 {{outcome}}"),
            ("histogram_quantile(0.95, sum by (outcome, le) "
             f"(rate(framelane_job_duration_seconds_bucket{{{sel}}}[$__rate_interval])))", "p95 {{outcome}}"),
        ], "s", "Claim to stored outcome."),
    ]
    if kind == "render":
        rows.append(("Render seconds per output second (p50, p95)", [
            ("histogram_quantile(0.5, sum by (le) "
             f"(rate(framelane_render_seconds_per_output_second_bucket{{{NS}}}[$__rate_interval])))", "p50"),
            ("histogram_quantile(0.95, sum by (le) "
             f"(rate(framelane_render_seconds_per_output_second_bucket{{{NS}}}[$__rate_interval])))", "p95"),
        ], "short", "Wall time of a completed render per second of output: below 1 is faster than real time."))
    return rows


def webhook_rows() -> list:
    return [
        ("Delivery attempts by outcome", [(
            f"sum by (outcome) (rate(framelane_webhook_attempts_total{{{NS}}}[$__rate_interval]))", "{{outcome}}")],
         "ops", "delivered and dead_lettered end a delivery; retry is a failed attempt with another scheduled."),
        ("Dead-lettered deliveries (1 h)", [(
            f'sum(increase(framelane_webhook_attempts_total{{{NS},outcome="dead_lettered"}}[1h]))', "dead_lettered")],
         "short", "Alert FramelaneWebhooksDeadLettered fires above 10."),
        ("Attempt latency (p50, p99)", [
            ("histogram_quantile(0.5, sum by (le) "
             f"(rate(framelane_webhook_attempt_duration_seconds_bucket{{{NS}}}[$__rate_interval])))", "p50"),
            ("histogram_quantile(0.99, sum by (le) "
             f"(rate(framelane_webhook_attempt_duration_seconds_bucket{{{NS}}}[$__rate_interval])))", "p99"),
        ], "s", "Request start to answer, timeout or connection failure."),
    ]


def outputs() -> dict[Path, bytes]:
    boards = {"overview": overview(), **{svc: service(svc) for svc in SERVICE_PORTS}}
    return {OUT / f"{k8s_name(name)}.json": (json.dumps(board, indent=1, sort_keys=True) + "\n").encode()
            for name, board in boards.items()}


def stale(root: Path = K8S) -> list[str]:
    out = []
    for path, content in outputs().items():
        target = root / path.relative_to(K8S)
        if not target.exists() or target.read_bytes() != content:
            out.append(str(path.relative_to(K8S)))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    ns = parser.parse_args()
    if ns.check:
        bad = stale()
        for path in bad:
            print(f"stale: deploy/k8s/{path} (run: python deploy/k8s/dashboards.py)", file=sys.stderr)
        return 1 if bad else 0
    OUT.mkdir(parents=True, exist_ok=True)
    for path, content in outputs().items():
        path.write_bytes(content)
        print(f"wrote {path.relative_to(K8S.parents[1])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
