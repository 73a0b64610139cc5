"""SQL of the renderer schema."""

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from framelane_core.jobstore import JobTable


async def insert_render(conn: AsyncConnection, render_id: str, ws_id: str, spec: dict, metadata: dict,
                        webhook_url: str | None, warnings: list, duration: float, parent_id: str | None = None,
                        status: str = "queued", pending_keys: list[str] | None = None,
                        hold_seconds: float = 0) -> dict:
    """A new render: `queued`, or held by staging (`ingesting`, or waiting for pending_keys).
    created_at is the insert's own time, after the admission the transaction waited for."""
    cur = await conn.execute(
        "INSERT INTO renders (id, workspace_id, status, spec, metadata, webhook_url, warnings, duration, parent_id,"
        " pending_keys, hold_until, created_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now() + make_interval(secs => %s), clock_timestamp())"
        " RETURNING *",
        (render_id, ws_id, status, Jsonb(spec), Jsonb(metadata), webhook_url, Jsonb(warnings), duration, parent_id,
         pending_keys or None, hold_seconds),
    )
    return await cur.fetchone()


def is_held(row: dict) -> bool:
    """Not in the work queue yet: staging moves it on (and emits render.queued then)."""
    return row["status"] == "ingesting" or bool(row["pending_keys"])


async def lease_staged(conn: AsyncConnection, lease_seconds: float, limit: int) -> list[dict]:
    """Held renders no other replica is staging, leased to this one."""
    cur = await conn.execute(
        "UPDATE renders SET stage_lease = now() + make_interval(secs => %s) WHERE id IN ("
        " SELECT id FROM renders WHERE (status = 'ingesting' OR (status = 'queued' AND pending_keys IS NOT NULL))"
        " AND (stage_lease IS NULL OR stage_lease < now()) ORDER BY created_at LIMIT %s FOR UPDATE SKIP LOCKED)"
        " RETURNING *",
        (lease_seconds, limit),
    )
    return await cur.fetchall()


async def release_staged(conn: AsyncConnection, render_id: str, status: str, spec: dict,
                         pending_keys: list[str] | None) -> dict | None:
    """ingesting/held → queued (or still held while keys are pending); None when it was cancelled meanwhile."""
    cur = await conn.execute(
        "UPDATE renders SET status = 'queued', spec = %s, pending_keys = %s, stage_lease = NULL, updated_at = now()"
        " WHERE id = %s AND status = %s RETURNING *",
        (Jsonb(spec), pending_keys or None, render_id, status),
    )
    return await cur.fetchone()


async def child_of(conn: AsyncConnection, parent_id: str) -> dict | None:
    cur = await conn.execute("SELECT * FROM renders WHERE parent_id = %s", (parent_id,))
    return await cur.fetchone()


# The lifecycle SQL shared with every job table.
renders = JobTable("renders", "Render")
