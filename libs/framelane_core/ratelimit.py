"""Request rate limits per API key and route class (method_policy.rate_class), the same for every
replica of every service.

The count lives in PostgreSQL (the usage service's fixed one-minute windows). A replica does not
write a row per request: it takes a batch of tokens (about 1/20 of the limit) from the shared
window and spends them locally, so the fast path is a dict lookup and the shared counter is
written once per batch. Tokens a replica took but did not spend count as spent (the limit is
never exceeded; a key spread over many replicas may be limited up to one batch per replica
early). A refusal is remembered until the window ends."""

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import grpc

from framelane_core.context import Principal
from framelane_core.errors import RateLimited

log = logging.getLogger(__name__)
WINDOW_SECONDS = 60


@dataclass
class Grant:
    granted: int
    limit: int
    window_seconds: int = WINDOW_SECONDS
    window_taken: int = 0  # the window's requests taken by every replica, this grant included


@dataclass(frozen=True)
class Quota:
    """What X-RateLimit-Limit, -Remaining and -Reset (seconds until the window ends) report."""

    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> list[tuple[str, str]]:
        return [("x-ratelimit-limit", str(self.limit)), ("x-ratelimit-remaining", str(self.remaining)),
                ("x-ratelimit-reset", str(self.reset_seconds))]


# (key_id, plan, rate_class, window_start) -> tokens granted (0: limited).
TokenSource = Callable[[str, str, str, int], Awaitable[Grant]]


@dataclass
class _Window:
    start: int
    remaining: int = 0  # tokens this replica took and has not spent
    limited: bool = False
    limit: int = 0
    untaken: int = 0  # the window's requests no replica has taken yet (at the last grant)

    def quota(self, now: float) -> Quota:
        return Quota(self.limit, self.untaken + self.remaining, max(1, math.ceil(self.start + WINDOW_SECONDS - now)))


class RateLimiter:
    def __init__(self, source: TokenSource, clock=time.time):
        self.source, self.clock = source, clock
        self._windows: dict[tuple[str, str], _Window] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def check(self, principal: Principal, rate_class: str) -> Quota | None:
        """Spends one request of the key's budget for the class and returns what is left of it
        (None when the shared counter could not be read); RateLimited (429) when none is left."""
        now = self.clock()
        start = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
        slot = (principal.key_id, rate_class)
        w = self._windows.get(slot)
        if w is not None and w.start == start:
            if w.remaining > 0:
                w.remaining -= 1
                return w.quota(now)
            if w.limited:
                self._refuse(w, rate_class, now)
        lock = self._locks.get(slot)
        if lock is None:
            lock = self._locks.setdefault(slot, asyncio.Lock())
        async with lock:
            w = self._windows.get(slot)
            if w is None or w.start != start:
                if len(self._windows) > 50_000:
                    self._windows = {k: v for k, v in self._windows.items() if v.start == start}
                    self._locks = {k: v for k, v in self._locks.items() if k in self._windows}
                w = self._windows[slot] = _Window(start)
            if w.remaining > 0:
                w.remaining -= 1
                return w.quota(now)
            if not w.limited:
                try:
                    grant = await self.source(principal.key_id, principal.plan, rate_class, start)
                except Exception:
                    # The shared counter is unreachable: serve (auth already passed) rather than fail.
                    log.warning("rate limit counter unavailable; request allowed", exc_info=True)
                    return None
                w.limit = grant.limit
                w.untaken = max(grant.limit - (grant.window_taken or grant.limit), 0)
                if grant.granted > 0:
                    w.remaining = grant.granted - 1
                    return w.quota(now)
                w.limited = True
        self._refuse(w, rate_class, now)

    @staticmethod
    def _refuse(w: _Window, rate_class: str, now: float) -> None:
        retry = max(1, math.ceil(w.start + WINDOW_SECONDS - now))
        raise RateLimited(
            f"Too many requests: the limit of this API key for {rate_class} requests is {w.limit} per minute. "
            f"Retry in {retry} s.",
            details={"rate_class": rate_class, "limit": w.limit, "window_seconds": WINDOW_SECONDS},
            retry_after_seconds=retry,
        )


class UsageTokenSource:
    """Takes tokens from the usage service's UsageService.TakeRateTokens over gRPC."""

    def __init__(self, channel: grpc.aio.Channel):
        from framelane.usage.v1 import usage_pb2, usage_pb2_grpc  # noqa: PLC0415

        self._request = usage_pb2.TakeRateTokensRequest
        self.stub = usage_pb2_grpc.UsageServiceStub(channel)

    async def __call__(self, key_id: str, plan: str, rate_class: str, window_start: int) -> Grant:
        got = await self.stub.TakeRateTokens(
            self._request(key_id=key_id, plan=plan, rate_class=rate_class, window_start=window_start), timeout=2
        )
        return Grant(got.granted, got.limit, got.window_seconds, got.window_taken)
