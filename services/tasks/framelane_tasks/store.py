"""SQL of the tasks schema."""

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from framelane_core.jobs import TERMINAL
from framelane_core.pagination import Cursor


async def insert_task(conn: AsyncConnection, task_id: str, ws_id: str, task_type: str, params: dict, metadata: dict,
                      webhook_url: str | None, warnings: list) -> dict:
    cur = await conn.execute(
        "INSERT INTO tasks (id, workspace_id, task_type, status, params, metadata, webhook_url, warnings)"
        " VALUES (%s, %s, %s, 'queued', %s, %s, %s, %s) RETURNING *",
        (task_id, ws_id, task_type, Jsonb(params), Jsonb(metadata), webhook_url, Jsonb(warnings)),
    )
    return await cur.fetchone()


async def get_task(conn: AsyncConnection, ws_id: str, task_id: str) -> dict | None:
    cur = await conn.execute("SELECT * FROM tasks WHERE id = %s AND workspace_id = %s", (task_id, ws_id))
    return await cur.fetchone()


async def list_tasks(conn: AsyncConnection, ws_id: str, task_type: str, status: str, limit: int,
                     after: Cursor | None) -> list[dict]:
    """Newest first, limit + 1 rows."""
    where, args = ["workspace_id = %s"], [ws_id]
    if task_type:
        where.append("task_type = %s")
        args.append(task_type)
    if status:
        where.append("status = %s")
        args.append(status)
    if after is not None:
        where.append("(created_at, id) < (%s, %s)")
        args += [after.created_at, after.id]
    cur = await conn.execute(
        f"SELECT * FROM tasks WHERE {' AND '.join(where)} ORDER BY created_at DESC, id DESC LIMIT %s",
        (*args, limit + 1),
    )
    return await cur.fetchall()


async def cancel_task(conn: AsyncConnection, ws_id: str, task_id: str) -> dict | None:
    """Marks a queued or processing task cancelled; None when it was not in such a state."""
    cur = await conn.execute(
        "UPDATE tasks SET status = 'cancelled', progress_stage = NULL, updated_at = now(), completed_at = now(),"
        " error = '{\"code\": \"cancelled\", \"message\": \"Cancelled by the client.\"}'"
        " WHERE id = %s AND workspace_id = %s AND status IN ('ingesting', 'queued', 'processing') RETURNING *",
        (task_id, ws_id),
    )
    return await cur.fetchone()


async def claim(conn: AsyncConnection, task_id: str, worker_id: str) -> tuple[dict | None, bool]:
    """Takes a task for a worker: (row, first) where first tells a queued → processing change.

    None when the task is terminal (a redelivery after completion or cancel does nothing)."""
    cur = await conn.execute("SELECT status FROM tasks WHERE id = %s FOR UPDATE", (task_id,))
    row = await cur.fetchone()
    if row is None or row["status"] in TERMINAL:
        return None, False
    cur = await conn.execute(
        "UPDATE tasks SET status = 'processing', attempts = attempts + 1, worker_id = %s, progress_stage = 'downloading',"
        " progress_percent = 0,"
        " updated_at = CASE WHEN status = 'processing' THEN updated_at ELSE now() END WHERE id = %s RETURNING *",
        (worker_id, task_id),
    )
    return await cur.fetchone(), row["status"] != "processing"


async def queue_stats(conn: AsyncConnection) -> tuple[int, float]:
    """(queued tasks, seconds since the oldest of them was created, 0 when none): the workers' queue gauges."""
    cur = await conn.execute(
        "SELECT count(*) AS queued, coalesce(extract(epoch FROM now() - min(created_at)), 0) AS oldest_age"
        " FROM tasks WHERE status = 'queued'"
    )
    row = await cur.fetchone()
    return int(row["queued"]), float(row["oldest_age"])


async def status_of(conn: AsyncConnection, task_id: str) -> str | None:
    cur = await conn.execute("SELECT status FROM tasks WHERE id = %s", (task_id,))
    row = await cur.fetchone()
    return row["status"] if row else None


async def set_progress(conn: AsyncConnection, task_id: str, percent: float, stage: str) -> dict | None:
    cur = await conn.execute(
        "UPDATE tasks SET progress_percent = %s, progress_stage = %s WHERE id = %s AND status = 'processing'"
        " RETURNING *",
        (percent, stage, task_id),
    )
    return await cur.fetchone()


async def complete(conn: AsyncConnection, task_id: str, output: dict) -> dict | None:
    """processing → completed; None when it was no longer processing (cancelled meanwhile)."""
    cur = await conn.execute(
        "UPDATE tasks SET status = 'completed', output = %s, progress_percent = 100, progress_stage = NULL,"
        " updated_at = now(), completed_at = now() WHERE id = %s AND status = 'processing' RETURNING *",
        (Jsonb(output), task_id),
    )
    return await cur.fetchone()


async def fail(conn: AsyncConnection, task_id: str, error: dict) -> dict | None:
    cur = await conn.execute(
        "UPDATE tasks SET status = 'failed', error = %s, progress_stage = NULL, updated_at = now(),"
        " completed_at = now() WHERE id = %s AND status = 'processing' RETURNING *",
        (Jsonb(error), task_id),
    )
    return await cur.fetchone()
