"""Domain logic of tasks: validate against the catalog, queue (outbox), read, wait, cancel, download."""


from framelane_core import idempotency
from framelane_core.context import Principal
from framelane_core.errors import InvalidRequest, NotReady, violation
from framelane_core.fetch import Allow, check_source
from framelane_core.ids import new_id
from framelane_core.jobs import STATUSES, job_message
from framelane_core.pagination import decode_cursor, page, page_limit
from framelane_core.protoconv import integral_numbers
from framelane_core.storage import LocalStorage
from psycopg_pool import AsyncConnectionPool

from framelane_tasks import catalog, events, store

DOWNLOAD_FORMATS = ("json", "srt", "vtt")



def task_job(row: dict, storage: LocalStorage):
    return job_message(row, "task", storage, task_type=row["task_type"])


class Tasks:
    def __init__(self, pool: AsyncConnectionPool, storage: LocalStorage, allow: Allow):
        self.pool, self.storage, self.allow = pool, storage, allow

    def job(self, row: dict):
        return task_job(row, self.storage)

    async def check(self, type_name: str, body: dict) -> tuple[dict, dict, dict, str | None]:
        """Catalog validation plus the SSRF check of the source; InvalidRequest lists every violation."""
        row, params, metadata, webhook_url = catalog.validate(type_name, integral_numbers(body))
        await check_source(params["source_url"], self.allow, "$.source_url", self.storage)
        return row, params, metadata, webhook_url

    async def create(self, principal: Principal, type_name: str, body: dict, idem_key: str | None) -> tuple[dict, bool]:
        """Queues a task; returns (row, replayed) where replayed marks an idempotent replay."""
        row, params, metadata, webhook_url = await self.check(type_name, body)
        method = f"POST /v1/tasks/{type_name}"
        body_hash = idempotency.request_hash({"params": params, "metadata": metadata, "webhook_url": webhook_url})
        async with self.pool.connection() as conn, conn.transaction():
            if idem_key:
                existing = await idempotency.replay(conn, principal.workspace_id, method, idem_key, body_hash)
                if existing:
                    return await store.tasks.get(conn, principal.workspace_id, existing), True
            task = await store.insert_task(conn, new_id("task"), principal.workspace_id, row["task_type"], params,
                                           metadata, webhook_url, [])
            if idem_key:
                await idempotency.remember(conn, principal.workspace_id, method, idem_key, body_hash, task["id"])
            await events.emit(conn, "queued", task, self.job(task))
        return task, False

    async def get(self, principal: Principal, task_id: str, wait: float = 0) -> dict:
        """The task; with wait > 0, the answer comes when it is terminal or wait (≤ 25 s) passed."""
        return await store.tasks.wait(self.pool, principal.workspace_id, task_id, wait)

    async def list_page(self, principal: Principal, task_type: str, status: str, limit: int,
                        cursor: str) -> tuple[list[dict], str | None]:
        problems = []
        if status and status not in STATUSES:
            problems.append(violation("$.status", "enum", f"Must be one of {', '.join(STATUSES)}."))
        if task_type and task_type not in catalog.TASK_TYPE_NAMES:
            problems.append(violation("$.type", "enum", f"Must be one of {', '.join(catalog.TASK_TYPE_NAMES)}."))
        if problems:
            raise InvalidRequest("Unknown list filter.", details=problems)
        limit = page_limit(limit)
        async with self.pool.connection() as conn:
            rows = await store.tasks.list(conn, principal.workspace_id, limit, decode_cursor(cursor), task_type=task_type,
                                          status=status)
        return page(rows, limit)

    async def cancel(self, principal: Principal, task_id: str) -> dict:
        async def emit(conn, row):
            await events.emit(conn, "cancelled", row, self.job(row))

        return await store.tasks.cancel_job(self.pool, principal.workspace_id, task_id, emit)

    async def download(self, principal: Principal, task_id: str, fmt: str = "") -> tuple[str, int]:
        """Signed URL of the output, or of a transcript's srt/vtt rendition."""
        if fmt and fmt not in DOWNLOAD_FORMATS:
            raise InvalidRequest("Unknown download format.", details=[
                violation("$.format", "enum", f"Must be one of {', '.join(DOWNLOAD_FORMATS)}.")])
        row = await self.get(principal, task_id)
        if row["status"] != "completed":
            raise NotReady(f"Task {task_id} is {row['status']}; its output is not ready.")
        output = row["output"]
        key = output["key"]
        if fmt and fmt != output.get("format"):
            key = output.get(f"{fmt}_key")
            if key is None:
                raise InvalidRequest(f"This task has no {fmt} rendition.", details=[
                    violation("$.format", "unavailable", f"The output is {output.get('format')}.")])
        return self.storage.signed_url(key)
