"""The composition root every service shares: open the pool (after migrations), connect NATS,
start the outbox relay and background tasks, serve gRPC and metrics; on SIGTERM report
NOT_SERVING, drain in-flight RPCs, then close everything in reverse order."""

import asyncio
import logging
import signal
from dataclasses import dataclass, field

import grpc

from framelane_core import bus, db, metrics
from framelane_core.auth import CachedAuthenticator, UsageResolver
from framelane_core.config import Settings, service_addr
from framelane_core.grpcserver import SERVING, build_server
from framelane_core.idempotency import ResponseStore
from framelane_core.logs import setup_logging
from framelane_core.ratelimit import RateLimiter, UsageTokenSource

log = logging.getLogger(__name__)


@dataclass
class Resources:
    """What a running service holds; handed to the service's own wiring."""

    settings: Settings
    pool: object = None
    nc: object = None
    js: object = None
    server: object = None
    channels: dict[str, grpc.aio.Channel] = field(default_factory=dict)

    def channel(self, service: str) -> grpc.aio.Channel:
        """A shared channel to another service of the mesh."""
        if service not in self.channels:
            self.channels[service] = grpc.aio.insecure_channel(
                service_addr(service), options=[("grpc.enable_retries", 1), ("grpc.keepalive_time_ms", 30000)]
            )
        return self.channels[service]


class Every:
    """Background runner: awaits `tick()` every `interval` seconds until stopped; a failing tick is
    logged and the next one runs."""

    def __init__(self, interval: float, tick, what: str):
        self.interval, self.tick, self.what = interval, tick, what
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await asyncio.wait_for(self._stopping.wait(), self.interval)
            except TimeoutError:
                pass
            try:
                await self.tick()
            except Exception:
                log.warning("%s failed", self.what, exc_info=True)

    def stop(self) -> None:
        self._stopping.set()


class ServiceApp:
    """Base of every service's app.py. Subclasses set `name` and `migrations_package` and
    implement `wire(res)`: register servicers on res.server and return background coroutines."""

    name = ""
    migrations_package = ""
    stream_retention = None  # the service publishes events when set
    uses_database = True
    uses_nats = True

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings(service=self.name)
        self.res = Resources(self.settings)
        self.health = None
        self._tasks: list[asyncio.Task] = []
        self._stoppers: list = []
        self.port = 0

    def authenticator(self, res: Resources) -> CachedAuthenticator:
        """Resolves keys through the usage service; usage itself overrides this."""
        return CachedAuthenticator(UsageResolver(res.channel("usage")), self.settings.auth_cache_seconds, self.name)

    def rate_limiter(self, res: Resources) -> RateLimiter:
        """Per-key request limits counted by the usage service; usage itself overrides this."""
        return RateLimiter(UsageTokenSource(res.channel("usage")))

    def service_names(self) -> list[str]:
        """Fully qualified names of the gRPC services this app serves (for reflection)."""
        raise NotImplementedError

    async def wire(self, res: Resources) -> list:
        """Registers servicers and returns background runners (objects with run() and stop())."""
        raise NotImplementedError

    async def start(self) -> int:
        s = self.settings
        if self.uses_database:
            await db.migrate(s.database_url, s.schema, self.migrations_package)
            self.res.pool = await db.open_pool(s.database_url, s.schema)
        if self.uses_nats:
            self.res.nc = await bus.connect(s.nats_url, name=s.service)
            self.res.js = self.res.nc.jetstream()
        runners = []
        if self.stream_retention is not None:
            await bus.ensure_stream(self.res.js, s.service, self.stream_retention)
            runners.append(bus.OutboxRelay(self.res.pool, self.res.js, s.service, db.schema_dsn(s.database_url, s.schema),
                                           schema=s.schema))
        responses = ResponseStore(self.res.pool) if self.res.pool is not None else None
        self.res.server, self.health = build_server(s.service, self.authenticator(self.res), self.service_names(),
                                                    self.rate_limiter(self.res), responses)
        runners += await self.wire(self.res)
        self.port = self.res.server.add_insecure_port(f"{s.grpc_host}:{s.grpc_port}")
        await self.res.server.start()
        for runner in runners:
            self._stoppers.append(runner.stop)
            self._tasks.append(asyncio.create_task(runner.run(), name=f"{s.service}:{type(runner).__name__}"))
        for name in ["", *self.service_names()]:
            await self.health.set(name, SERVING)
        metrics.UP.labels(s.service).set(1)
        log.info("serving", extra={"fields": {"grpc_port": self.port, "metrics_port": s.metrics_port}})
        return self.port

    async def stop(self) -> None:
        """Graceful drain: NOT_SERVING first, then finish in-flight RPCs, then close resources."""
        metrics.UP.labels(self.settings.service).set(0)
        if self.health is not None:
            await self.health.enter_graceful_shutdown()
        for stop in self._stoppers:
            stop()
        if self.res.server is not None:
            await self.res.server.stop(self.settings.drain_seconds)
        if self._tasks:
            # Runners finish what they hold (a worker its job) within the drain period, then stop.
            await asyncio.wait(self._tasks, timeout=self.settings.drain_seconds)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for channel in self.res.channels.values():
            await channel.close()
        if self.res.nc is not None:
            # Runners are stopped and every publish was acknowledged: nothing is left to drain.
            await self.res.nc.close()
        if self.res.pool is not None:
            await self.res.pool.close()
        log.info("drained")


async def _serve(app: ServiceApp) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await app.start()
    await stop.wait()
    log.info("stopping", extra={"fields": {"reason": "signal"}})
    await app.stop()


def run(app: ServiceApp) -> None:
    """Entry point of `python -m framelane_<service>`: logs as JSON, serves metrics, runs until SIGTERM."""
    setup_logging(app.settings.service, app.settings.log_level)
    metrics.serve_metrics(app.settings.metrics_port)
    asyncio.run(_serve(app))
