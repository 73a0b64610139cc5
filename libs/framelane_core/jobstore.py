"""The lifecycle SQL every job table shares (renders, tasks): the same status, progress, output
and error columns, moved by conditional updates so each transition happens once; and the watch
that wakes long-polls when a job ends."""

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from framelane_core import db
from framelane_core.errors import Conflict, NotFound
from framelane_core.jobs import MAX_WAIT_SECONDS, TERMINAL
from framelane_core.pagination import Cursor

_CANCELLED = '{"code": "cancelled", "message": "Cancelled by the client."}'
POLL_SECONDS = 0.25  # a long-poll's re-read when no notification comes


class JobWatch:
    """Wakes long-polls the moment their job ends, instead of at their next poll.

    A runner (run/stop) LISTENing on the schema's `<schema>_jobs` channel, whose payloads are the
    ids of jobs that reached a terminal status (sent by JobTable at commit)."""

    def __init__(self, database_url: str, schema: str):
        self.dsn, self.channel = db.schema_dsn(database_url, schema), f"{schema}_jobs"
        self._waiting: dict[str, set[asyncio.Event]] = {}
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        listener = asyncio.create_task(db.listen(self.dsn, self.channel, self._ended, self._stopping))
        try:
            await self._stopping.wait()
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)

    def stop(self) -> None:
        self._stopping.set()

    def _ended(self, job_id: str) -> None:
        for event in self._waiting.get(job_id, ()):
            event.set()

    @contextlib.contextmanager
    def watching(self, job_id: str) -> Iterator[asyncio.Event]:
        """An event set when `job_id` ends while the block runs."""
        event = asyncio.Event()
        self._waiting.setdefault(job_id, set()).add(event)
        try:
            yield event
        finally:
            waiters = self._waiting[job_id]
            waiters.discard(event)
            if not waiters:
                del self._waiting[job_id]


class JobTable:
    """One job table of a service's schema (its name is ours, never a client's)."""

    def __init__(self, table: str, noun: str):
        self.table, self.noun = table, noun

    async def wait(self, pool: AsyncConnectionPool, ws_id: str, job_id: str, wait: float = 0,
                   watch: JobWatch | None = None) -> dict:
        """The job; with wait > 0, re-read until it is terminal or wait (≤ 25 s) passed, at once when
        `watch` hears it end, else every POLL_SECONDS. NotFound otherwise."""
        deadline = time.monotonic() + min(max(wait, 0.0), MAX_WAIT_SECONDS)
        with watch.watching(job_id) if watch is not None else contextlib.nullcontext(asyncio.Event()) as ended:
            while True:
                async with pool.connection() as conn:
                    row = await self.get(conn, ws_id, job_id)
                if row is None:
                    raise NotFound(f"{self.noun} {job_id} not found.")
                if row["status"] in TERMINAL or time.monotonic() >= deadline:
                    return row
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ended.wait(), min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))

    async def cancel_job(self, pool: AsyncConnectionPool, ws_id: str, job_id: str,
                         emit: Callable[[AsyncConnection, dict], Awaitable[None]]) -> dict:
        """Cancels a queued or processing job and emits its event in the same transaction;
        NotFound, or 409 not_cancellable once it is terminal."""
        async with pool.connection() as conn, conn.transaction():
            row = await self.cancel(conn, ws_id, job_id)
            if row is None:
                if await self.get(conn, ws_id, job_id) is None:
                    raise NotFound(f"{self.noun} {job_id} not found.")
                raise Conflict(f"The {self.noun.lower()} has already finished.", code="not_cancellable")
            await emit(conn, row)
        return row

    async def get(self, conn: AsyncConnection, ws_id: str, job_id: str) -> dict | None:
        cur = await conn.execute(f"SELECT * FROM {self.table} WHERE id = %s AND workspace_id = %s", (job_id, ws_id))
        return await cur.fetchone()

    async def list(self, conn: AsyncConnection, ws_id: str, limit: int, after: Cursor | None,
                   **filters: str) -> list[dict]:
        """Newest first, limit + 1 rows; empty filter values are ignored."""
        where, args = ["workspace_id = %s"], [ws_id]
        for column, value in filters.items():
            if value:
                where.append(f"{column} = %s")
                args.append(value)
        if after is not None:
            where.append("(created_at, id) < (%s, %s)")
            args += [after.created_at, after.id]
        cur = await conn.execute(
            f"SELECT * FROM {self.table} WHERE {' AND '.join(where)} ORDER BY created_at DESC, id DESC LIMIT %s",
            (*args, limit + 1),
        )
        return await cur.fetchall()

    async def cancel(self, conn: AsyncConnection, ws_id: str, job_id: str) -> dict | None:
        """Marks a queued or processing job cancelled; None when it was not in such a state."""
        cur = await conn.execute(
            f"UPDATE {self.table} SET status = 'cancelled', progress_stage = NULL, updated_at = now(),"
            " completed_at = now(), error = %s"
            " WHERE id = %s AND workspace_id = %s AND status IN ('ingesting', 'queued', 'processing') RETURNING *",
            (_CANCELLED, job_id, ws_id),
        )
        return await _ended(conn, cur)

    async def claim(self, conn: AsyncConnection, job_id: str, worker_id: str) -> tuple[dict | None, bool]:
        """Takes a job for a worker: (row, first) where first tells a queued → processing change.

        None when the job is terminal (a redelivery after completion or cancel does nothing)."""
        cur = await conn.execute(f"SELECT status FROM {self.table} WHERE id = %s FOR UPDATE", (job_id,))
        row = await cur.fetchone()
        if row is None or row["status"] in TERMINAL:
            return None, False
        cur = await conn.execute(
            f"UPDATE {self.table} SET status = 'processing', attempts = attempts + 1, worker_id = %s,"
            " progress_stage = 'downloading', progress_percent = 0,"
            " updated_at = CASE WHEN status = 'processing' THEN updated_at ELSE now() END WHERE id = %s RETURNING *",
            (worker_id, job_id),
        )
        return await cur.fetchone(), row["status"] != "processing"

    async def queue_stats(self, conn: AsyncConnection) -> tuple[int, float]:
        """(queued jobs, seconds since the oldest of them was created, 0 when none)."""
        cur = await conn.execute(
            "SELECT count(*) AS queued, coalesce(extract(epoch FROM now() - min(created_at)), 0) AS oldest_age"
            f" FROM {self.table} WHERE status = 'queued'"
        )
        row = await cur.fetchone()
        return int(row["queued"]), float(row["oldest_age"])

    async def status_of(self, conn: AsyncConnection, job_id: str) -> str | None:
        cur = await conn.execute(f"SELECT status FROM {self.table} WHERE id = %s", (job_id,))
        row = await cur.fetchone()
        return row["status"] if row else None

    async def set_progress(self, conn: AsyncConnection, job_id: str, percent: float, stage: str) -> dict | None:
        cur = await conn.execute(
            f"UPDATE {self.table} SET progress_percent = %s, progress_stage = %s WHERE id = %s AND status = 'processing'"
            " RETURNING *",
            (percent, stage, job_id),
        )
        return await cur.fetchone()

    async def complete(self, conn: AsyncConnection, job_id: str, output: dict,
                       attempt: int | None = None) -> dict | None:
        """processing → completed; None when it was no longer processing (cancelled meanwhile) or,
        given the `attempts` of the worker's claim, when a later claim took the job over (a worker
        that stalled past its ack wait finishes a delivery that is no longer its own)."""
        cur = await conn.execute(
            f"UPDATE {self.table} SET status = 'completed', output = %s, progress_percent = 100, progress_stage = NULL,"
            " updated_at = now(), completed_at = now()"
            " WHERE id = %s AND status = 'processing' AND attempts = coalesce(%s, attempts) RETURNING *",
            (Jsonb(output), job_id, attempt),
        )
        return await _ended(conn, cur)

    async def fail(self, conn: AsyncConnection, job_id: str, error: dict,
                   from_statuses: tuple[str, ...] = ("processing",), attempt: int | None = None) -> dict | None:
        """→ failed; None when it was in none of from_statuses or, as for complete, its claim is stale."""
        cur = await conn.execute(
            f"UPDATE {self.table} SET status = 'failed', error = %s, progress_stage = NULL, updated_at = now(),"
            " completed_at = now() WHERE id = %s AND status = ANY(%s) AND attempts = coalesce(%s, attempts)"
            " RETURNING *",
            (Jsonb(error), job_id, list(from_statuses), attempt),
        )
        return await _ended(conn, cur)


async def _ended(conn: AsyncConnection, cur) -> dict | None:
    """The row a terminal transition returned; its JobWatch listeners hear of it at commit."""
    row = await cur.fetchone()
    if row is not None:
        await conn.execute("SELECT pg_notify(current_schema() || '_jobs', %s)", (row["id"],))
    return row
