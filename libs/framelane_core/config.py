"""Settings from the environment, the same names in every service, `make run`, tests and k8s."""

import os
from pathlib import Path
from dataclasses import dataclass, field

# Default gRPC and metrics ports per service (loopback development layout).
SERVICE_PORTS = {
    "usage": (50051, 9101),
    "renderer": (50052, 9102),
    "tasks": (50053, 9103),
    "webhooks": (50054, 9104),
    "gateway": (50055, 9105),
    "renderer_worker": (50062, 9112),
    "tasks_worker": (50063, 9113),
}
ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ("usage", "renderer", "tasks", "webhooks")
# The gateway's HTTP-native routes (signed blobs) listen beside its gRPC port.
GATEWAY_HTTP_PORT = 50056


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def service_addr(name: str) -> str:
    """host:port of a service's gRPC server (FRAMELANE_<NAME>_ADDR overrides the default)."""
    return _env(f"FRAMELANE_{name.upper()}_ADDR", f"127.0.0.1:{SERVICE_PORTS[name][0]}")


@dataclass(frozen=True)
class Settings:
    """Everything a service process reads from its environment."""

    service: str
    # The PostgreSQL schema this process works in (workers share their service's schema).
    schema: str = ""
    database_url: str = field(default_factory=lambda: _env("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/framelane"))
    nats_url: str = field(default_factory=lambda: _env("NATS_URL", "nats://127.0.0.1:4222"))
    grpc_host: str = field(default_factory=lambda: _env("FRAMELANE_GRPC_HOST", "127.0.0.1"))
    grpc_port: int = 0
    metrics_port: int = 0
    log_level: str = field(default_factory=lambda: _env("FRAMELANE_LOG_LEVEL", "INFO"))
    # Seconds an in-flight RPC may take to finish after SIGTERM.
    drain_seconds: float = field(default_factory=lambda: float(_env("FRAMELANE_DRAIN_SECONDS", "10")))
    # Seconds a resolved API key stays cached in a service (revocation is effective after this).
    auth_cache_seconds: float = field(default_factory=lambda: float(_env("FRAMELANE_AUTH_CACHE_SECONDS", "0.9")))
    fetch_allow: str = field(default_factory=lambda: _env("FRAMELANE_FETCH_ALLOW", ""))
    # Seconds a render waits for an upload it uses to arrive (an upload link lives an hour).
    upload_wait_seconds: float = field(default_factory=lambda: float(_env("FRAMELANE_UPLOAD_WAIT_SECONDS", "3660")))
    # Seconds between the gateway's egress reports (bytes served per workspace) to the usage service.
    egress_report_seconds: float = field(default_factory=lambda: float(_env("FRAMELANE_EGRESS_REPORT_SECONDS", "5")))
    version: str = field(default_factory=lambda: _env("FRAMELANE_VERSION", "0.1.0"))
    git_commit: str = field(default_factory=lambda: _env("FRAMELANE_GIT_COMMIT", "unknown"))
    storage_dir: str = field(default_factory=lambda: _env("FRAMELANE_STORAGE_DIR", str(ROOT / ".run" / "storage")))
    # Signs blob URLs; every service of one mesh must share it.
    storage_secret: str = field(default_factory=lambda: _env("FRAMELANE_STORAGE_SECRET", "development-only-secret"))
    # Base of the URLs clients are given (signed blob links).
    public_url: str = field(default_factory=lambda: _env("FRAMELANE_PUBLIC_URL", "http://127.0.0.1:8080"))
    gateway_http_port: int = field(default_factory=lambda: int(_env("FRAMELANE_GATEWAY_HTTP_PORT", str(GATEWAY_HTTP_PORT))))
    work_dir: str = field(default_factory=lambda: _env("FRAMELANE_WORK_DIR", str(ROOT / ".run" / "work")))
    # Seconds JetStream waits for a worker's ack (or heartbeat) before redelivering a job.
    job_ack_wait: float = field(default_factory=lambda: float(_env("FRAMELANE_JOB_ACK_WAIT_SECONDS", "30")))

    # Outgoing mail (signup codes). An empty host logs the code instead (development only).
    smtp_host: str = field(default_factory=lambda: _env("FRAMELANE_SMTP_HOST", ""))
    smtp_port: int = field(default_factory=lambda: int(_env("FRAMELANE_SMTP_PORT", "25")))
    smtp_from: str = field(default_factory=lambda: _env("FRAMELANE_SMTP_FROM", "Framelane <no-reply@framelane.localhost>"))
    # Base URL of our console (billing portal links).
    console_url: str = field(default_factory=lambda: _env("FRAMELANE_CONSOLE_URL", "http://127.0.0.1:3000"))
    # Seconds a job's concurrency slot lives without an event of the job (a crashed worker's slot).
    concurrency_lease_seconds: float = field(
        default_factory=lambda: float(_env("FRAMELANE_CONCURRENCY_LEASE_SECONDS", "900")))
    # Seconds an admission (slot, render minutes, credits) waits for an event of its job before it
    # is given back: a job whose create failed after admission never sends one (default: the lease).
    admission_confirm_seconds: float = field(
        default_factory=lambda: float(_env("FRAMELANE_ADMISSION_CONFIRM_SECONDS", "900")))

    def __post_init__(self):
        if not self.schema:
            object.__setattr__(self, "schema", self.service.split("_")[0])
        grpc_default, metrics_default = SERVICE_PORTS.get(self.service, (0, 0))
        prefix = f"FRAMELANE_{self.service.upper()}"
        if not self.grpc_port:
            object.__setattr__(self, "grpc_port", int(_env(f"{prefix}_GRPC_PORT", str(grpc_default))))
        if not self.metrics_port:
            object.__setattr__(self, "metrics_port", int(_env(f"{prefix}_METRICS_PORT", str(metrics_default))))

