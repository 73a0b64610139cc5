"""SQL of the renderer schema."""

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from framelane_core.jobstore import JobTable


async def insert_render(conn: AsyncConnection, render_id: str, ws_id: str, spec: dict, metadata: dict,
                        webhook_url: str | None, warnings: list, duration: float, parent_id: str | None = None) -> dict:
    cur = await conn.execute(
        "INSERT INTO renders (id, workspace_id, status, spec, metadata, webhook_url, warnings, duration, parent_id)"
        " VALUES (%s, %s, 'queued', %s, %s, %s, %s, %s, %s) RETURNING *",
        (render_id, ws_id, Jsonb(spec), Jsonb(metadata), webhook_url, Jsonb(warnings), duration, parent_id),
    )
    return await cur.fetchone()


async def child_of(conn: AsyncConnection, parent_id: str) -> dict | None:
    cur = await conn.execute("SELECT * FROM renders WHERE parent_id = %s", (parent_id,))
    return await cur.fetchone()


# The lifecycle SQL shared with every job table.
renders = JobTable("renders", "Render")
