"""Settings of the webhooks service, from the environment (beside the shared framelane_core ones)."""

import os
from dataclasses import dataclass, field

# Seconds between attempts: eight retries over about 34 hours, then the delivery is dead-lettered.
DEFAULT_RETRY_SCHEDULE = "30,120,600,3600,10800,21600,43200,43200"
# BeatAPI endpoints: at most 3 retries, 1, 5 and 15 minutes after (reference §B9.2).
DEFAULT_BEATAPI_RETRY_SCHEDULE = "60,300,900"


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def parse_schedule(text: str) -> tuple[float, ...]:
    """"30,120,600" → (30.0, 120.0, 600.0); the delays before the second, third... attempts."""
    delays = tuple(float(item) for item in text.split(",") if item.strip())
    if any(d < 0 for d in delays):
        raise ValueError(f"negative delay in retry schedule {text!r}")
    return delays


@dataclass(frozen=True)
class WebhookSettings:
    """Delivery tuning; tests shrink the schedule and the disable threshold."""

    retry_schedule: tuple[float, ...] = field(
        default_factory=lambda: parse_schedule(_env("FRAMELANE_WEBHOOK_RETRY_SCHEDULE", DEFAULT_RETRY_SCHEDULE)))
    beatapi_retry_schedule: tuple[float, ...] = field(default_factory=lambda: parse_schedule(
        _env("FRAMELANE_WEBHOOK_BEATAPI_RETRY_SCHEDULE", DEFAULT_BEATAPI_RETRY_SCHEDULE)))
    # A request and its answer must complete within this many seconds.
    timeout_seconds: float = field(default_factory=lambda: float(_env("FRAMELANE_WEBHOOK_TIMEOUT_SECONDS", "10")))
    # An endpoint failing every attempt for this long is disabled (3 days).
    disable_after_seconds: float = field(
        default_factory=lambda: float(_env("FRAMELANE_WEBHOOK_DISABLE_AFTER_SECONDS", str(3 * 24 * 3600))))
    # Requests in flight at once, across all endpoints, and to any one endpoint.
    concurrency: int = field(default_factory=lambda: int(_env("FRAMELANE_WEBHOOK_CONCURRENCY", "256")))
    endpoint_concurrency: int = field(default_factory=lambda: int(_env("FRAMELANE_WEBHOOK_ENDPOINT_CONCURRENCY", "16")))
    # Fraction of each delay added or removed at random, so retries of many deliveries spread out.
    jitter: float = 0.1
    # Bytes of an answer's body read (the rest is dropped) and stored.
    max_response_bytes: int = 64 * 1024
    snippet_bytes: int = 1024
