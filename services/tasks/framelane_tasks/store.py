"""SQL of the tasks schema."""

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from framelane_core.jobstore import JobTable


async def insert_task(conn: AsyncConnection, task_id: str, ws_id: str, task_type: str, params: dict, metadata: dict,
                      webhook_url: str | None, warnings: list) -> dict:
    cur = await conn.execute(
        "INSERT INTO tasks (id, workspace_id, task_type, status, params, metadata, webhook_url, warnings)"
        " VALUES (%s, %s, %s, 'queued', %s, %s, %s, %s) RETURNING *",
        (task_id, ws_id, task_type, Jsonb(params), Jsonb(metadata), webhook_url, Jsonb(warnings)),
    )
    return await cur.fetchone()


# The lifecycle SQL shared with every job table.
tasks = JobTable("tasks", "Task")
