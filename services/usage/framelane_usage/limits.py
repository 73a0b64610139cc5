"""The shared side of request rate limits: fixed one-minute windows per (API key, rate class) in
PostgreSQL, handed out to the replicas' local limiters in batches (framelane_core.ratelimit)."""

import time

from psycopg_pool import AsyncConnectionPool

from framelane_core.ratelimit import WINDOW_SECONDS, Grant
from framelane_usage import store
from framelane_usage.metering import rate_limit

# A replica takes about this share of a limit per trip to the shared counter.
BATCH_SHARE = 20


def batch_size(limit: int) -> int:
    return max(1, limit // BATCH_SHARE)


class RateWindows:
    def __init__(self, pool: AsyncConnectionPool, clock=time.time):
        self.pool, self.clock = pool, clock
        self._last_cleanup = 0

    async def take(self, key_id: str, plan: str, rate_class: str, window_start: int = 0) -> Grant:
        """Up to one batch of the window's remaining requests (0 once the limit is reached)."""
        now = self.clock()
        current = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
        # A caller's clock may differ a little; the window is this service's.
        window_start = current
        limit = rate_limit(plan, rate_class)
        want = batch_size(limit)
        async with self.pool.connection() as conn:
            count = await store.add_to_window(conn, key_id, rate_class, window_start, want)
            if current != self._last_cleanup:
                self._last_cleanup = current
                await store.drop_old_windows(conn, current - WINDOW_SECONDS)
        return Grant(max(0, min(want, limit - (count - want))), limit, WINDOW_SECONDS, min(count, limit))
