"""SQL of the webhooks schema."""

from datetime import datetime

from psycopg import AsyncConnection

from framelane_core.pagination import Cursor

# --- endpoints and secrets ---------------------------------------------------------------------


async def insert_endpoint(conn: AsyncConnection, endpoint_id: str, ws_id: str, face: str, url: str,
                          description: str, events: list[str], secret: str | None) -> dict:
    cur = await conn.execute(
        "INSERT INTO webhook_endpoints (id, workspace_id, face, url, description, events, secret)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING *",
        (endpoint_id, ws_id, face, url, description, events, secret),
    )
    return await cur.fetchone()


async def get_endpoint(conn: AsyncConnection, ws_id: str, endpoint_id: str) -> dict | None:
    cur = await conn.execute(
        "SELECT * FROM webhook_endpoints WHERE id = %s AND workspace_id = %s", (endpoint_id, ws_id)
    )
    return await cur.fetchone()


async def list_endpoints(conn: AsyncConnection, ws_id: str, face: str, limit: int, after: Cursor | None) -> list[dict]:
    """Newest first, one more than `limit`; `face` "" lists every face."""
    cur = await conn.execute(
        "SELECT * FROM webhook_endpoints WHERE workspace_id = %(ws)s AND (%(face)s = '' OR face = %(face)s)"
        " AND (%(at)s::timestamptz IS NULL OR (created_at, id) < (%(at)s, %(id)s))"
        " ORDER BY created_at DESC, id DESC LIMIT %(limit)s",
        {"ws": ws_id, "face": face, "at": after and after.created_at, "id": after and after.id, "limit": limit + 1},
    )
    return await cur.fetchall()


async def update_endpoint(conn: AsyncConnection, ws_id: str, endpoint_id: str, *, url: str | None,
                          events: list[str] | None, description: str | None, enabled: bool | None) -> dict | None:
    """Sets the fields that are not None. Enabling clears the failure streak; disabling is "manual"."""
    cur = await conn.execute(
        "UPDATE webhook_endpoints SET"
        " url = coalesce(%(url)s, url),"
        " events = coalesce(%(events)s::text[], events),"
        " description = coalesce(%(description)s, description),"
        " enabled = coalesce(%(enabled)s, enabled),"
        " disabled_reason = CASE WHEN %(enabled)s IS NULL THEN disabled_reason"
        "   WHEN %(enabled)s THEN NULL ELSE coalesce(disabled_reason, 'manual') END,"
        " failing_since = CASE WHEN %(enabled)s THEN NULL ELSE failing_since END,"
        " updated_at = now()"
        " WHERE id = %(id)s AND workspace_id = %(ws)s RETURNING *",
        {"url": url, "events": events, "description": description, "enabled": enabled, "id": endpoint_id,
         "ws": ws_id},
    )
    return await cur.fetchone()


async def delete_endpoint(conn: AsyncConnection, ws_id: str, endpoint_id: str) -> bool:
    cur = await conn.execute("DELETE FROM webhook_endpoints WHERE id = %s AND workspace_id = %s", (endpoint_id, ws_id))
    return cur.rowcount == 1


async def set_endpoint_secret(conn: AsyncConnection, ws_id: str, endpoint_id: str, secret: str) -> None:
    await conn.execute(
        "UPDATE webhook_endpoints SET secret = %s, updated_at = now() WHERE id = %s AND workspace_id = %s",
        (secret, endpoint_id, ws_id),
    )


async def ensure_workspace_secret(conn: AsyncConnection, ws_id: str, candidate: str) -> str:
    """The workspace's secret, storing `candidate` as it when there is none yet."""
    cur = await conn.execute(
        "WITH inserted AS (INSERT INTO workspace_secrets (workspace_id, secret) VALUES (%(ws)s, %(secret)s)"
        "   ON CONFLICT DO NOTHING RETURNING secret)"
        " SELECT secret FROM inserted UNION ALL SELECT secret FROM workspace_secrets WHERE workspace_id = %(ws)s",
        {"ws": ws_id, "secret": candidate},
    )
    return (await cur.fetchone())["secret"]


async def set_workspace_secret(conn: AsyncConnection, ws_id: str, secret: str) -> None:
    await conn.execute(
        "INSERT INTO workspace_secrets (workspace_id, secret) VALUES (%s, %s)"
        " ON CONFLICT (workspace_id) DO UPDATE SET secret = excluded.secret, rotated_at = now()",
        (ws_id, secret),
    )


# --- fan-out -----------------------------------------------------------------------------------


async def matching_endpoints(conn: AsyncConnection, ws_id: str, native_type: str, beatapi_type: str | None) -> list[dict]:
    """Enabled endpoints of the workspace whose filter takes the event (named per face)."""
    cur = await conn.execute(
        "SELECT id, face, url FROM webhook_endpoints WHERE workspace_id = %(ws)s AND enabled AND ("
        "   (face = 'native' AND (events = '{}' OR %(native)s = ANY(events)))"
        "   OR (face = 'beatapi' AND %(beatapi)s::text IS NOT NULL AND (events = '{}' OR %(beatapi)s = ANY(events))))"
        " ORDER BY id",
        {"ws": ws_id, "native": native_type, "beatapi": beatapi_type},
    )
    return await cur.fetchall()


async def insert_deliveries(conn: AsyncConnection, rows: list[dict]) -> None:
    """New pending deliveries, due now; wakes the dispatchers when the transaction commits."""
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO deliveries (id, workspace_id, endpoint_id, target, url, face, event_id, event_type, body)"
            " VALUES (%(id)s, %(workspace_id)s, %(endpoint_id)s, %(target)s, %(url)s, %(face)s, %(event_id)s,"
            " %(event_type)s, %(body)s)",
            rows,
        )
    await conn.execute("SELECT pg_notify(current_schema() || '_deliveries', '')")


async def advance_progress(conn: AsyncConnection, job_id: str, step: int) -> bool:
    """Records that the job reached a 10 % step; False when that step (or a later one) was sent."""
    cur = await conn.execute(
        "INSERT INTO progress_marks (job_id, step) VALUES (%s, %s) ON CONFLICT (job_id) DO UPDATE"
        " SET step = excluded.step, updated_at = now() WHERE progress_marks.step < excluded.step RETURNING step",
        (job_id, step),
    )
    return await cur.fetchone() is not None


async def forget_progress(conn: AsyncConnection, job_id: str) -> None:
    await conn.execute("DELETE FROM progress_marks WHERE job_id = %s", (job_id,))


# --- dispatch ----------------------------------------------------------------------------------


async def due_deliveries(conn: AsyncConnection, skip_targets: list[str], limit: int) -> list[dict]:
    """Pending deliveries whose time has come, oldest due first, locked for the caller's transaction.

    Deliveries of disabled endpoints and of targets the caller has no room for are left alone."""
    cur = await conn.execute(
        "SELECT d.id, d.target FROM deliveries d"
        " WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND d.target <> ALL(%s::text[])"
        " AND NOT EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = d.endpoint_id AND NOT e.enabled)"
        " ORDER BY d.next_attempt_at LIMIT %s FOR UPDATE OF d SKIP LOCKED",
        (skip_targets, limit),
    )
    return await cur.fetchall()


async def lease_deliveries(conn: AsyncConnection, ids: list[str], lease_seconds: float) -> list[dict]:
    """Pushes the deliveries' next_attempt_at past the lease and returns what sending needs,
    with the current URL and secret (an edited URL or a rotated secret applies to retries)."""
    cur = await conn.execute(
        "UPDATE deliveries d SET next_attempt_at = now() + make_interval(secs => %s)"
        " FROM deliveries x"
        " LEFT JOIN webhook_endpoints e ON e.id = x.endpoint_id"
        " LEFT JOIN workspace_secrets s ON s.workspace_id = x.workspace_id"
        " WHERE d.id = x.id AND d.id = ANY(%s)"
        " RETURNING d.id, d.workspace_id, d.endpoint_id, d.target, d.face, d.event_id, d.event_type, d.body,"
        "  d.attempt_count, coalesce(e.url, d.url) AS url,"
        "  CASE WHEN d.face = 'beatapi' THEN e.secret ELSE s.secret END AS secret",
        (lease_seconds, ids),
    )
    return await cur.fetchall()


async def release_deliveries(conn: AsyncConnection, ids: list[str]) -> None:
    """Makes leased deliveries due again at once (their sender stopped before recording)."""
    await conn.execute(
        "UPDATE deliveries SET next_attempt_at = now() WHERE id = ANY(%s) AND status = 'pending'", (ids,)
    )


async def record_attempt(conn: AsyncConnection, delivery_id: str, attempt: int, started_at: datetime,
                         status_code: int | None, latency_ms: int, response_body: str, error: str | None,
                         retry_at: datetime | None, outcome: str) -> None:
    """Stores one attempt and moves its delivery on: delivered, pending until retry_at, or dead-lettered."""
    await conn.execute(
        "INSERT INTO delivery_attempts"
        " (delivery_id, attempt, started_at, status_code, latency_ms, response_body, error, retry_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (delivery_id, attempt, started_at, status_code, latency_ms, response_body, error, retry_at),
    )
    await conn.execute(
        "UPDATE deliveries SET status = %(status)s, attempt_count = %(attempt)s, next_attempt_at = %(retry_at)s,"
        " completed_at = CASE WHEN %(status)s = 'pending' THEN NULL ELSE now() END WHERE id = %(id)s",
        {"status": outcome, "attempt": attempt, "retry_at": retry_at, "id": delivery_id},
    )


async def record_successes(conn: AsyncConnection, rows: list[tuple]) -> None:
    """Stores many successful attempts at once: rows of (delivery_id, attempt, started_at,
    status_code, latency_ms, response_body); their deliveries become delivered."""
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO delivery_attempts (delivery_id, attempt, started_at, status_code, latency_ms, response_body)"
            " VALUES (%s, %s, %s, %s, %s, %s)", rows)
        await cur.executemany(
            "UPDATE deliveries SET status = 'delivered', attempt_count = %s, next_attempt_at = NULL,"
            " completed_at = now() WHERE id = %s", [(attempt, delivery_id) for delivery_id, attempt, *_ in rows])


async def endpoints_succeeded(conn: AsyncConnection, endpoint_ids: list[str]) -> None:
    """A success ends each endpoint's failure streak (ids in order, so concurrent batches never deadlock)."""
    if endpoint_ids:
        await conn.execute(
            "UPDATE webhook_endpoints SET last_delivery_at = now(), failing_since = NULL WHERE id = ANY(%s)",
            (sorted(endpoint_ids),))


async def endpoint_failed(conn: AsyncConnection, endpoint_id: str, started_at: datetime,
                          disable_after_seconds: float) -> dict | None:
    """Extends the endpoint's failure streak; returns the endpoint when this failure disabled it."""
    await conn.execute(
        "UPDATE webhook_endpoints SET last_delivery_at = now(), failing_since = coalesce(failing_since, %s)"
        " WHERE id = %s",
        (started_at, endpoint_id),
    )
    cur = await conn.execute(
        "UPDATE webhook_endpoints SET enabled = false, disabled_reason = 'failing', updated_at = now()"
        " WHERE id = %s AND enabled AND failing_since <= now() - make_interval(secs => %s) RETURNING *",
        (endpoint_id, disable_after_seconds),
    )
    return await cur.fetchone()


# --- inspection and replay ---------------------------------------------------------------------


async def list_deliveries(conn: AsyncConnection, endpoint_id: str, status: str, limit: int,
                          after: Cursor | None) -> list[dict]:
    """Newest first, one more than `limit`; `status` "" lists every status."""
    cur = await conn.execute(
        "SELECT * FROM deliveries WHERE endpoint_id = %(ep)s AND (%(status)s = '' OR status = %(status)s)"
        " AND (%(at)s::timestamptz IS NULL OR (created_at, id) < (%(at)s, %(id)s))"
        " ORDER BY created_at DESC, id DESC LIMIT %(limit)s",
        {"ep": endpoint_id, "status": status, "at": after and after.created_at, "id": after and after.id,
         "limit": limit + 1},
    )
    return await cur.fetchall()


async def attempts_of(conn: AsyncConnection, delivery_ids: list[str]) -> list[dict]:
    cur = await conn.execute(
        "SELECT * FROM delivery_attempts WHERE delivery_id = ANY(%s) ORDER BY delivery_id, attempt", (delivery_ids,)
    )
    return await cur.fetchall()


async def get_delivery(conn: AsyncConnection, endpoint_id: str, delivery_id: str) -> dict | None:
    cur = await conn.execute(
        "SELECT * FROM deliveries WHERE id = %s AND endpoint_id = %s", (delivery_id, endpoint_id)
    )
    return await cur.fetchone()


async def get_deliveries(conn: AsyncConnection, ids: list[str]) -> list[dict]:
    cur = await conn.execute("SELECT * FROM deliveries WHERE id = ANY(%s)", (ids,))
    return await cur.fetchall()
