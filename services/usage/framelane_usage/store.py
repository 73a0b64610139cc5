"""SQL of the usage schema."""

from datetime import datetime

from psycopg import AsyncConnection

from framelane_core.pagination import Cursor


async def insert_workspace(conn: AsyncConnection, ws_id: str, name: str, plan: str) -> dict:
    cur = await conn.execute(
        "INSERT INTO workspaces (id, name, plan) VALUES (%s, %s, %s) RETURNING *", (ws_id, name, plan)
    )
    return await cur.fetchone()


async def get_workspace(conn: AsyncConnection, ws_id: str) -> dict | None:
    cur = await conn.execute("SELECT * FROM workspaces WHERE id = %s AND deleted_at IS NULL", (ws_id,))
    return await cur.fetchone()


async def rename_workspace(conn: AsyncConnection, ws_id: str, name: str) -> dict | None:
    cur = await conn.execute(
        "UPDATE workspaces SET name = %s WHERE id = %s AND deleted_at IS NULL RETURNING *", (name, ws_id)
    )
    return await cur.fetchone()


async def delete_workspace(conn: AsyncConnection, ws_id: str) -> bool:
    cur = await conn.execute(
        "UPDATE workspaces SET deleted_at = now() WHERE id = %s AND deleted_at IS NULL", (ws_id,)
    )
    await conn.execute(
        "UPDATE api_keys SET revoked_at = now() WHERE workspace_id = %s AND revoked_at IS NULL", (ws_id,)
    )
    return cur.rowcount == 1


async def insert_key(conn: AsyncConnection, key_id: str, ws_id: str, name: str, prefix: str, key_hash: bytes) -> dict:
    cur = await conn.execute(
        "INSERT INTO api_keys (id, workspace_id, name, key_prefix, key_hash) VALUES (%s, %s, %s, %s, %s)"
        " RETURNING *",
        (key_id, ws_id, name, prefix, key_hash),
    )
    return await cur.fetchone()


async def list_keys(conn: AsyncConnection, ws_id: str, limit: int, after: Cursor | None) -> list[dict]:
    """Newest first, one more than `limit` so the caller knows whether there is a next page."""
    if after is None:
        cur = await conn.execute(
            "SELECT * FROM api_keys WHERE workspace_id = %s ORDER BY created_at DESC, id DESC LIMIT %s",
            (ws_id, limit + 1),
        )
    else:
        cur = await conn.execute(
            "SELECT * FROM api_keys WHERE workspace_id = %s AND (created_at, id) < (%s, %s)"
            " ORDER BY created_at DESC, id DESC LIMIT %s",
            (ws_id, after.created_at, after.id, limit + 1),
        )
    return await cur.fetchall()


async def revoke_key(conn: AsyncConnection, ws_id: str, key_id: str) -> dict | None:
    cur = await conn.execute(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = %s AND workspace_id = %s"
        " RETURNING *",
        (key_id, ws_id),
    )
    return await cur.fetchone()


async def principal_by_hash(conn: AsyncConnection, key_hash: bytes) -> dict | None:
    cur = await conn.execute(
        "SELECT k.id AS key_id, k.workspace_id, w.plan FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id"
        " WHERE k.key_hash = %s AND k.revoked_at IS NULL AND w.deleted_at IS NULL",
        (key_hash,),
    )
    return await cur.fetchone()


async def touch_keys(conn: AsyncConnection, last_used: dict[str, datetime]) -> None:
    """Stores batched last_used_at stamps (never moves one backwards)."""
    await conn.execute(
        "UPDATE api_keys k SET last_used_at = greatest(k.last_used_at, v.at)"
        " FROM unnest(%s::text[], %s::timestamptz[]) AS v(id, at) WHERE k.id = v.id",
        (list(last_used), list(last_used.values())),
    )


async def lock_workspace(conn: AsyncConnection, ws_id: str) -> dict | None:
    """The workspace row, locked until the transaction ends (serializes admissions per workspace)."""
    cur = await conn.execute("SELECT * FROM workspaces WHERE id = %s AND deleted_at IS NULL FOR UPDATE", (ws_id,))
    return await cur.fetchone()


async def meter_totals(conn: AsyncConnection, ws_id: str, start: datetime, end: datetime) -> dict[str, float]:
    cur = await conn.execute(
        "SELECT meter, sum(quantity) AS total FROM meter_readings WHERE workspace_id = %s"
        " AND occurred_at >= %s AND occurred_at < %s GROUP BY meter",
        (ws_id, start, end),
    )
    return {row["meter"]: row["total"] for row in await cur.fetchall()}


async def reserved_minutes(conn: AsyncConnection, ws_id: str) -> float:
    cur = await conn.execute(
        "SELECT coalesce(sum(minutes), 0) AS total FROM render_reservations WHERE workspace_id = %s"
        " AND created_at > now() - interval '1 hour'",
        (ws_id,),
    )
    return (await cur.fetchone())["total"]


async def reserve(conn: AsyncConnection, job_id: str, ws_id: str, minutes: float) -> None:
    await conn.execute(
        "INSERT INTO render_reservations (job_id, workspace_id, minutes) VALUES (%s, %s, %s)"
        " ON CONFLICT (job_id) DO NOTHING",
        (job_id, ws_id, minutes),
    )


async def release(conn: AsyncConnection, job_id: str) -> None:
    await conn.execute("DELETE FROM render_reservations WHERE job_id = %s", (job_id,))


async def record_meter(conn: AsyncConnection, event_id: str, meter: str, ws_id: str, quantity: float,
                       job_id: str, occurred_at: datetime) -> None:
    await conn.execute(
        "INSERT INTO meter_readings (event_id, meter, workspace_id, quantity, job_id, occurred_at)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (event_id, meter, ws_id, quantity, job_id, occurred_at),
    )
