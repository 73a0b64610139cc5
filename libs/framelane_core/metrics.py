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


def serve_metrics(port: int) -> None:
    """Serves /metrics on the port (0 = do not serve, e.g. in tests)."""
    if port:
        start_http_server(port, addr="0.0.0.0")
