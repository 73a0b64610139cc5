"""SQL of the tasks schema."""

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from framelane_core.jobstore import JobTable


async def insert_task(conn: AsyncConnection, task_id: str, ws_id: str, task_type: str, params: dict, metadata: dict,
                      webhook_url: str | None, warnings: list, request_id: str | None = None, credits_reserved: int = 0,
                      billable_seconds: int | None = None) -> dict:
    # created_at is the insert's own time, after the admission the transaction waited for (now() is
    # the transaction's start): a task admitted when another's slot was freed is created after it ended.
    cur = await conn.execute(
        "INSERT INTO tasks (id, workspace_id, task_type, status, params, metadata, webhook_url, warnings, request_id,"
        " credits_reserved, billable_seconds, created_at)"
        " VALUES (%s, %s, %s, 'queued', %s, %s, %s, %s, %s, %s, %s, clock_timestamp()) RETURNING *",
        (task_id, ws_id, task_type, Jsonb(params), Jsonb(metadata), webhook_url, Jsonb(warnings), request_id,
         credits_reserved, billable_seconds),
    )
    return await cur.fetchone()


async def save_spec(conn: AsyncConnection, task_id: str, spec: dict) -> None:
    await conn.execute("UPDATE tasks SET spec = %s WHERE id = %s", (Jsonb(spec), task_id))


async def set_child(conn: AsyncConnection, task_id: str, render_id: str) -> None:
    await conn.execute("UPDATE tasks SET child_render_id = %s WHERE id = %s", (render_id, task_id))


# The lifecycle SQL shared with every job table.
tasks = JobTable("tasks", "Task")
