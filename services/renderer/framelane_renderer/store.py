"""SQL of the renderer schema."""

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from framelane_core.pagination import Cursor

TERMINAL = ("completed", "failed", "cancelled")


async def insert_render(conn: AsyncConnection, render_id: str, ws_id: str, spec: dict, metadata: dict,
                        webhook_url: str | None, warnings: list, duration: float) -> dict:
    cur = await conn.execute(
        "INSERT INTO renders (id, workspace_id, status, spec, metadata, webhook_url, warnings, duration)"
        " VALUES (%s, %s, 'queued', %s, %s, %s, %s, %s) RETURNING *",
        (render_id, ws_id, Jsonb(spec), Jsonb(metadata), webhook_url, Jsonb(warnings), duration),
    )
    return await cur.fetchone()


async def get_render(conn: AsyncConnection, ws_id: str, render_id: str) -> dict | None:
    cur = await conn.execute("SELECT * FROM renders WHERE id = %s AND workspace_id = %s", (render_id, ws_id))
    return await cur.fetchone()


async def list_renders(conn: AsyncConnection, ws_id: str, status: str, limit: int, after: Cursor | None) -> list[dict]:
    """Newest first, limit + 1 rows."""
    where, args = ["workspace_id = %s"], [ws_id]
    if status:
        where.append("status = %s")
        args.append(status)
    if after is not None:
        where.append("(created_at, id) < (%s, %s)")
        args += [after.created_at, after.id]
    cur = await conn.execute(
        f"SELECT * FROM renders WHERE {' AND '.join(where)} ORDER BY created_at DESC, id DESC LIMIT %s",
        (*args, limit + 1),
    )
    return await cur.fetchall()


async def cancel_render(conn: AsyncConnection, ws_id: str, render_id: str) -> dict | None:
    """Marks a queued or processing render cancelled; None when it was not in such a state."""
    cur = await conn.execute(
        "UPDATE renders SET status = 'cancelled', progress_stage = NULL, updated_at = now(), completed_at = now(),"
        " error = '{\"code\": \"cancelled\", \"message\": \"Cancelled by the client.\"}'"
        " WHERE id = %s AND workspace_id = %s AND status IN ('ingesting', 'queued', 'processing') RETURNING *",
        (render_id, ws_id),
    )
    return await cur.fetchone()


async def claim(conn: AsyncConnection, render_id: str, worker_id: str) -> tuple[dict | None, bool]:
    """Takes a render for a worker: (row, first) where first tells a queued → processing change.

    None when the render is terminal (a redelivery after completion or cancel does nothing)."""
    cur = await conn.execute("SELECT status FROM renders WHERE id = %s FOR UPDATE", (render_id,))
    row = await cur.fetchone()
    if row is None or row["status"] in TERMINAL:
        return None, False
    cur = await conn.execute(
        "UPDATE renders SET status = 'processing', attempts = attempts + 1, worker_id = %s, progress_stage = 'downloading',"
        " updated_at = CASE WHEN status = 'processing' THEN updated_at ELSE now() END WHERE id = %s RETURNING *",
        (worker_id, render_id),
    )
    return await cur.fetchone(), row["status"] != "processing"


async def queue_stats(conn: AsyncConnection) -> tuple[int, float]:
    """(queued renders, seconds since the oldest of them was created, 0 when none): the workers' queue gauges."""
    cur = await conn.execute(
        "SELECT count(*) AS queued, coalesce(extract(epoch FROM now() - min(created_at)), 0) AS oldest_age"
        " FROM renders WHERE status = 'queued'"
    )
    row = await cur.fetchone()
    return int(row["queued"]), float(row["oldest_age"])


async def status_of(conn: AsyncConnection, render_id: str) -> str | None:
    cur = await conn.execute("SELECT status FROM renders WHERE id = %s", (render_id,))
    row = await cur.fetchone()
    return row["status"] if row else None


async def set_progress(conn: AsyncConnection, render_id: str, percent: float, stage: str) -> dict | None:
    cur = await conn.execute(
        "UPDATE renders SET progress_percent = %s, progress_stage = %s WHERE id = %s AND status = 'processing'"
        " RETURNING *",
        (percent, stage, render_id),
    )
    return await cur.fetchone()


async def complete(conn: AsyncConnection, render_id: str, output: dict) -> dict | None:
    """processing → completed; None when it was no longer processing (cancelled meanwhile)."""
    cur = await conn.execute(
        "UPDATE renders SET status = 'completed', output = %s, progress_percent = 100, progress_stage = NULL,"
        " updated_at = now(), completed_at = now() WHERE id = %s AND status = 'processing' RETURNING *",
        (Jsonb(output), render_id),
    )
    return await cur.fetchone()


async def fail(conn: AsyncConnection, render_id: str, error: dict) -> dict | None:
    cur = await conn.execute(
        "UPDATE renders SET status = 'failed', error = %s, progress_stage = NULL, updated_at = now(),"
        " completed_at = now() WHERE id = %s AND status = 'processing' RETURNING *",
        (Jsonb(error), render_id),
    )
    return await cur.fetchone()
