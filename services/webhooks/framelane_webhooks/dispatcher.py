"""Sends pending deliveries: claims due rows from PostgreSQL, posts them with a shared pooled HTTP
client (aiohttp: httpx spends more CPU per request than the delivery itself), records every attempt, and schedules retries with exponential backoff and jitter until a
2xx answer or the end of the schedule (dead letter).

Fairness: one pool of workers is shared by every endpoint, and each endpoint (or job URL) may hold
at most `endpoint_concurrency` of them, so a slow endpoint waits on itself and nobody else."""

import asyncio
import heapq
import ipaddress
import logging
import random
import socket
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import aiohttp
from aiohttp.abc import AbstractResolver
from framelane_core import db, metrics
from framelane_core.errors import FramelaneError
from framelane_core.fetch import Allow, check_url
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from framelane_webhooks import events, store
from framelane_webhooks.config import WebhookSettings
from framelane_webhooks.signing import signed_headers

log = logging.getLogger(__name__)

ATTEMPTS = metrics.WEBHOOK_ATTEMPTS
ATTEMPT_SECONDS = metrics.WEBHOOK_ATTEMPT_SECONDS
MAX_RETRY_AFTER_SECONDS = 24 * 3600.0
IDLE_POLL_SECONDS = 0.5
RECORD_BATCH_SECONDS = 0.005
RECORD_BATCH_MAX = 200


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), None when absent or malformed."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


def next_delay(attempt: int, schedule: tuple[float, ...], retry_after: float | None, jitter: float,
               rand=random.random) -> float | None:
    """Seconds before the attempt after `attempt` (1-based), or None when the schedule is spent.

    The receiver's Retry-After wins over the schedule (capped at a day); otherwise the scheduled
    delay is spread by ±jitter so that retries of many deliveries do not arrive together."""
    if attempt > len(schedule):
        return None
    if retry_after is not None:
        return min(retry_after, MAX_RETRY_AFTER_SECONDS)
    return schedule[attempt - 1] * (1 + jitter * (2 * rand() - 1))


class CheckedResolver(AbstractResolver):
    """Resolves a target host for the HTTP client only to an address that passes the SSRF check,
    so every connection goes to the very address that was checked (no DNS rebinding), while TLS
    still verifies the certificate against the host name."""

    def __init__(self, allow: Allow):
        self.allow = allow

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[dict]:
        target = await check_url(f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/",
                                 self.allow, path="$.url")
        ip = ipaddress.ip_address(target.ip)
        return [{"hostname": host, "host": target.ip, "port": port, "proto": 0, "flags": socket.AI_NUMERICHOST,
                 "family": socket.AF_INET6 if ip.version == 6 else socket.AF_INET}]

    async def close(self) -> None:
        return None


@dataclass
class Outcome:
    """What one attempt got."""

    started_at: datetime
    latency_ms: int
    status_code: int | None = None
    response_body: str = ""
    error: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Dispatcher:
    """Background runner: sends due deliveries until stopped. Several replicas may run: rows are
    claimed with FOR UPDATE SKIP LOCKED and leased by moving next_attempt_at forward."""

    def __init__(self, pool: AsyncConnectionPool, settings: WebhookSettings, allow: Allow, dsn: str, schema: str):
        self.pool, self.settings, self.allow, self.dsn, self.schema = pool, settings, allow, dsn, schema
        self.lease_seconds = settings.timeout_seconds + 20
        # Resolved again for every new connection (no DNS cache), so each one is checked.
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=settings.concurrency, resolver=CheckedResolver(allow),
                                           use_dns_cache=False),
            auto_decompress=False, trust_env=False,
        )
        self._inflight: dict[asyncio.Task, dict] = {}
        self._per_target: Counter[str] = Counter()
        self._unrecorded: set[str] = set()
        # Loop times of the retries this dispatcher scheduled, so it wakes for them on time.
        self._retries: list[float] = []
        # Successful attempts waiting to be recorded together, and the task recording them.
        self._successes: list[tuple[tuple, str | None, asyncio.Future]] = []
        self._recorder: asyncio.Task | None = None
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        metrics.init_webhook_metrics()

    async def run(self) -> None:
        listener = asyncio.create_task(self._listen())
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                try:
                    started = await self.dispatch_once()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.warning("claiming deliveries failed; retrying", exc_info=True)
                    started = 0
                    await asyncio.sleep(IDLE_POLL_SECONDS)
                if not started:
                    try:
                        await asyncio.wait_for(self._wake.wait(), self._idle_seconds())
                    except TimeoutError:
                        pass
        finally:
            listener.cancel()
            await self._abandon()
            await self.session.close()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def _idle_seconds(self) -> float:
        """How long to wait for a NOTIFY: until this dispatcher's next retry, at most the poll interval."""
        now = asyncio.get_running_loop().time()
        while self._retries and self._retries[0] <= now:
            heapq.heappop(self._retries)
        return min(self._retries[0] - now + 0.001, IDLE_POLL_SECONDS) if self._retries else IDLE_POLL_SECONDS

    async def dispatch_once(self) -> int:
        """Claims as many due deliveries as there are free workers and starts sending them."""
        free = self.settings.concurrency - len(self._inflight)
        if free <= 0:
            return 0
        limit = self.settings.endpoint_concurrency
        full = [target for target, n in self._per_target.items() if n >= limit]
        async with self.pool.connection() as conn, conn.transaction():
            candidates = await store.due_deliveries(conn, full, free * 4)
            taken: Counter[str] = Counter()
            picked = []
            for row in candidates:
                if self._per_target[row["target"]] + taken[row["target"]] < limit:
                    taken[row["target"]] += 1
                    picked.append(row["id"])
                    if len(picked) == free:
                        break
            if not picked:
                return 0
            rows = await store.lease_deliveries(conn, picked, self.lease_seconds)
        for row in rows:
            self._start(row)
        return len(rows)

    def _start(self, row: dict) -> None:
        task = asyncio.create_task(self._deliver(row))
        self._inflight[task] = row
        self._per_target[row["target"]] += 1
        self._unrecorded.add(row["id"])
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task) -> None:
        row = self._inflight.pop(task)
        self._per_target[row["target"]] -= 1
        if self._per_target[row["target"]] <= 0:
            del self._per_target[row["target"]]
        if not task.cancelled() and task.exception() is not None:
            log.warning("recording delivery %s failed; it is retried after its lease", row["id"],
                        exc_info=task.exception())
        self._wake.set()

    async def _deliver(self, row: dict) -> None:
        outcome = await self.send(row)
        attempt = row["attempt_count"] + 1
        ATTEMPT_SECONDS.observe(outcome.latency_ms / 1000)
        schedule = self.settings.beatapi_retry_schedule if row["face"] == "beatapi" else self.settings.retry_schedule
        delay = None if outcome.ok else next_delay(attempt, schedule, outcome.retry_after, self.settings.jitter)
        if outcome.ok:
            status, retry_at = "delivered", None
        elif delay is None:
            status, retry_at = "dead_lettered", None
        else:
            status, retry_at = "pending", datetime.now(UTC) + timedelta(seconds=delay)
        if outcome.ok:
            await self._record_success(row, attempt, outcome)
        else:
            async with self.pool.connection() as conn, conn.transaction():
                await store.record_attempt(conn, row["id"], attempt, outcome.started_at, outcome.status_code,
                                           outcome.latency_ms, outcome.response_body, outcome.error, retry_at, status)
                if row["endpoint_id"] is not None:
                    await self._endpoint_failed(conn, row["endpoint_id"], outcome)
        self._unrecorded.discard(row["id"])
        if delay is not None:
            heapq.heappush(self._retries, asyncio.get_running_loop().time() + delay)
        ATTEMPTS.labels("retry" if status == "pending" else status).inc()

    async def _record_success(self, row: dict, attempt: int, outcome: Outcome) -> None:
        """Successes are recorded together: the deliveries that finish within RECORD_BATCH_SECONDS of
        each other share one transaction (one commit, one update of each endpoint), which is what
        keeps a busy endpoint's deliveries from queueing on its row. Returns once it is committed."""
        done = asyncio.get_running_loop().create_future()
        self._successes.append(((row["id"], attempt, outcome.started_at, outcome.status_code, outcome.latency_ms,
                                 outcome.response_body), row["endpoint_id"], done))
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._record_successes())
        await done

    async def _record_successes(self) -> None:
        await asyncio.sleep(RECORD_BATCH_SECONDS)
        while self._successes:
            batch, self._successes = self._successes[:RECORD_BATCH_MAX], self._successes[RECORD_BATCH_MAX:]
            try:
                async with self.pool.connection() as conn, conn.transaction():
                    await store.record_successes(conn, [attempt for attempt, _, _ in batch])
                    await store.endpoints_succeeded(conn, list({e for _, e, _ in batch if e is not None}))
            except Exception as err:  # noqa: BLE001 - each delivery's task sees it (retried after its lease)
                for _, _, done in batch:
                    if not done.done():
                        done.set_exception(err)
            else:
                for _, _, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def _endpoint_failed(self, conn: AsyncConnection, endpoint_id: str, outcome: Outcome) -> None:
        disabled = await store.endpoint_failed(conn, endpoint_id, outcome.started_at,
                                               self.settings.disable_after_seconds)
        if disabled is not None:
            log.warning("webhook %s disabled after failing since %s", endpoint_id, disabled["failing_since"])
            await events.webhook_disabled(conn, disabled)

    async def send(self, row: dict) -> Outcome:
        """One signed POST of the delivery's body: to http(s) only, to an SSRF-checked address, no
        redirect followed, the whole exchange within the timeout, the answer read up to a cap."""
        started_at = datetime.now(UTC)
        t0 = time.perf_counter()
        body = bytes(row["body"])
        headers = signed_headers(row["face"], row["secret"], row["event_id"], row["event_type"], body,
                                 int(time.time()))
        headers["accept-encoding"] = "identity"
        outcome = Outcome(started_at, 0)
        try:
            async with asyncio.timeout(self.settings.timeout_seconds):
                # Checked here as well as in the resolver, which the client skips for IP-literal hosts.
                await check_url(row["url"], self.allow, path="$.url")
                async with self.session.post(row["url"], data=body, headers=headers, allow_redirects=False) as response:
                    outcome.status_code = response.status
                    outcome.response_body = await self._read_snippet(response)
                    if not outcome.ok:
                        outcome.retry_after = retry_after_seconds(response.headers.get("retry-after"), started_at)
        except FramelaneError as err:  # the SSRF check refused the URL
            outcome.error = f"{err.code}: {err.message}"[:500]
        except TimeoutError:
            outcome.error = f"timeout: no answer within {self.settings.timeout_seconds:g} s"
        except aiohttp.ClientConnectorError as err:
            outcome.error = f"connect_error: {err}"[:500]
        except aiohttp.ClientError as err:
            outcome.error = f"request_error: {type(err).__name__}: {err}"[:500]
        outcome.latency_ms = round((time.perf_counter() - t0) * 1000)
        return outcome

    async def _read_snippet(self, response: aiohttp.ClientResponse) -> str:
        """The start of the answer's body; reading stops at the cap and the rest is never read."""
        chunks, size = [], 0
        while size < self.settings.max_response_bytes:
            chunk = await response.content.read(self.settings.max_response_bytes - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        raw = b"".join(chunks)[: self.settings.snippet_bytes]
        return raw.decode("utf-8", errors="replace").replace("\x00", "")

    async def _abandon(self) -> None:
        """On stop: cancels requests in flight and makes their deliveries due again at once."""
        tasks = list(self._inflight)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._unrecorded:
            ids, self._unrecorded = list(self._unrecorded), set()
            try:
                async with self.pool.connection() as conn:
                    await store.release_deliveries(conn, ids)
            except Exception:
                log.warning("releasing %d deliveries failed; they are retried after their lease", len(ids),
                            exc_info=True)

    async def _listen(self) -> None:
        """Wakes the dispatcher on NOTIFY so a new delivery goes out in milliseconds, not at the next poll."""
        await db.wake_on_notify(self.dsn, f"{self.schema}_deliveries", self._wake, self._stopping)
