"""Prometheus metrics shared by every service (base units in names)."""

from prometheus_client import Counter, Gauge, Histogram, start_http_server

RPC_HANDLED = Counter(
    "framelane_grpc_server_handled_total", "RPCs completed, by method and gRPC code", ["service", "method", "code"]
)
RPC_SECONDS = Histogram(
    "framelane_grpc_server_handling_seconds", "RPC latency", ["service", "method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
EVENTS_PUBLISHED = Counter("framelane_outbox_events_published_total", "Outbox events published", ["service"])
OUTBOX_LAG = Gauge("framelane_outbox_unpublished_events", "Outbox rows not yet published", ["service"])
AUTH_CACHE = Counter("framelane_auth_cache_lookups_total", "API key lookups by cache outcome", ["service", "outcome"])
UP = Gauge("framelane_service_up", "1 while the service is serving", ["service"])

# Job workers (framelane_core.jobqueue). `kind` is the job kind: render, task.
JOB_KINDS = ("render", "task")
JOB_OUTCOMES = ("completed", "failed", "cancelled")
JOBS_QUEUED = Gauge(
    "framelane_jobs_queued", "Jobs in queued status (read from the database by every worker every few seconds)", ["kind"]
)
JOBS_OLDEST_QUEUED_AGE = Gauge(
    "framelane_jobs_oldest_queued_age_seconds", "Age of the oldest job in queued status, 0 when none", ["kind"]
)
JOBS = Counter("framelane_jobs_total", "Jobs this worker ran to a stored outcome", ["kind", "outcome"])
JOB_SECONDS = Histogram(
    "framelane_job_duration_seconds", "Wall time of a job in a worker, from claim to stored outcome", ["kind", "outcome"],
    buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600),
)
RENDER_SPEED = Histogram(
    "framelane_render_seconds_per_output_second",
    "Wall time of a completed render (claim to stored output) per second of output video",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 20),
)

# Webhook dispatcher: one sample per delivery attempt. `delivered` and `dead_lettered` end a
# delivery (so they count delivery outcomes); `retry` is a failed attempt with another one scheduled.
WEBHOOK_OUTCOMES = ("delivered", "retry", "dead_lettered")
WEBHOOK_ATTEMPTS = Counter("framelane_webhook_attempts_total", "Webhook delivery attempts by outcome", ["outcome"])
WEBHOOK_ATTEMPT_SECONDS = Histogram(
    "framelane_webhook_attempt_duration_seconds", "Time from request start to answer (or failure)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def init_job_metrics(kind: str) -> None:
    """Creates every label set of a worker's job metrics, so they are exported (at 0) before the first job."""
    JOBS_QUEUED.labels(kind)
    JOBS_OLDEST_QUEUED_AGE.labels(kind)
    for outcome in JOB_OUTCOMES:
        JOBS.labels(kind, outcome)
        JOB_SECONDS.labels(kind, outcome)


def init_webhook_metrics() -> None:
    for outcome in WEBHOOK_OUTCOMES:
        WEBHOOK_ATTEMPTS.labels(outcome)


def serve_metrics(port: int) -> None:
    """Serves /metrics on the port (0 = do not serve, e.g. in tests)."""
    if port:
        start_http_server(port, addr="0.0.0.0")

CREDIT_MOVEMENTS = Counter("framelane_credit_movements_total", "Credit ledger movements committed", ["kind"])
CREDITS_MOVED = Counter("framelane_credits_moved_total", "Credits moved by committed ledger rows", ["kind"])
EGRESS_BYTES = Counter("framelane_egress_bytes_served_total", "Bytes the gateway served through signed URLs")
METERED = Counter("framelane_metered_total", "Meter readings recorded by the usage service (render minutes, tasks, "
                  "egress bytes); the meter table is the source of truth", ["meter"])
GPU_UTILIZATION = Gauge("framelane_gpu_utilization_ratio", "GPU busy fraction (workers on GPU nodes only)", ["gpu"])
GPU_MEMORY_USED = Gauge("framelane_gpu_memory_used_bytes", "GPU memory in use (workers on GPU nodes only)", ["gpu"])


def init_credit_metrics() -> None:
    """Creates the credit series at start-up so a fresh service exports them."""
    for kind in ("grant", "reserve", "settle", "refund"):
        CREDIT_MOVEMENTS.labels(kind)
        CREDITS_MOVED.labels(kind)
    for meter in ("render_minutes", "tasks", "egress_bytes"):
        METERED.labels(meter)
