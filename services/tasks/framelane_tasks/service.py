"""Domain logic of tasks: validate against the catalog, price and admit (usage: credits, slots),
queue (outbox), read, wait, cancel, download."""

import asyncio
import hashlib
import math
from pathlib import Path

import grpc
from framelane.usage.v1 import usage_pb2, usage_pb2_grpc
from framelane_core import idempotency
from framelane_core.context import Principal, request_id_var
from framelane_core.errors import FramelaneError, InvalidRequest, NotReady, from_rpc_error, violation
from framelane_core.fetch import Allow, SourceNotAllowed, check_source
from framelane_core.ids import new_id
from framelane_core.jobs import STATUSES, job_message
from framelane_core.jobstore import JobWatch
from framelane_core.pagination import decode_cursor, page, page_limit
from framelane_core.protoconv import integral_numbers
from framelane_core.sources import fetch_source
from framelane_core.storage import LocalStorage
from psycopg_pool import AsyncConnectionPool

from framelane_tasks import catalog, events, store

DOWNLOAD_FORMATS = ("json", "srt", "vtt")
MEASURED_MAX = 1024  # audio lengths remembered by content digest


def source_urls(params: dict) -> list[tuple[str, str]]:
    """(JSON path, URL) of every input a task's parameters fetch."""
    urls = [(f"$.images[{i}]", u) for i, u in enumerate(params.get("images") or [])]
    urls += [(f"$.{name}", params[name]) for name in ("source_url", "audio_url", "srt_url", "background_url") if params.get(name)]
    return urls



def task_job(row: dict, storage: LocalStorage):
    return job_message(row, "task", storage, task_type=row["task_type"])


class Tasks:
    def __init__(self, pool: AsyncConnectionPool, storage: LocalStorage, allow: Allow, cache_dir: Path,
                 usage_channel, watch: JobWatch | None = None):
        self.pool, self.storage, self.allow, self.cache_dir, self.watch = pool, storage, allow, cache_dir, watch
        self.usage = usage_pb2_grpc.UsageServiceStub(usage_channel)
        self._measured: dict[str, float | None] = {}  # audio content digest -> seconds

    def job(self, row: dict):
        return task_job(row, self.storage)

    async def check(self, type_name: str, body: dict) -> tuple[dict, dict, dict, str | None]:
        """Catalog validation plus the SSRF check of every input; InvalidRequest lists every violation."""
        row, params, metadata, webhook_url = catalog.validate(type_name, integral_numbers(body))
        problems = []
        webhook = [("$.webhook_url", webhook_url)] if webhook_url else []  # a target we will POST to: refused now too
        for path, url in source_urls(params) + webhook:
            try:
                await check_source(url, self.allow, path, self.storage)
            except FramelaneError as err:
                problems.append(violation(path, err.code, err.message))
        if problems:
            raise InvalidRequest(f"The {type_name} request has {len(problems)} problem(s).", details=problems)
        return row, params, metadata, webhook_url

    async def billable_seconds(self, task_type: str, params: dict) -> int | None:
        """The seconds a workflow is priced by: the audio's measured length for a music video
        (checked against 10–180 s; `duration` only when it cannot be measured), the duration asked
        for an e-commerce video; None for tasks that are not priced in credits."""
        if task_type == "ecommerce_video":
            return params["duration"]
        if task_type != "music_video":
            return None
        from framelane_renderer.engine import ProbeError, probe  # noqa: PLC0415 - ffprobe, only for workflows

        try:
            path = await fetch_source(params["audio_url"], self.cache_dir, self.allow, self.storage, catalog.INPUT_MAX_BYTES)
            seconds = await asyncio.to_thread(self._audio_seconds, path, probe)
        except SourceNotAllowed as err:  # a redirect towards a private address: refused, not "unreadable"
            raise InvalidRequest(err.message, details=[violation("$.audio_url", err.code, err.message)]) from None
        except (FramelaneError, ProbeError):
            seconds = None
        if seconds is None:
            if params.get("duration"):
                return params["duration"]
            raise InvalidRequest("The audio could not be read to measure its length.", details=[violation(
                "$.audio_url", "unreadable_audio", "Must be an mp3, wav, aac or m4a file reachable now; or pass duration.")])
        limits = catalog.WORKFLOW_TYPES[task_type]["audio_seconds"]
        if not limits["min"] <= seconds <= limits["max"]:
            raise InvalidRequest(f"The audio is {seconds:.1f} s long.", details=[violation(
                "$.audio_url", "audio_duration", f"The audio must last {limits['min']} to {limits['max']} seconds.")])
        return math.ceil(seconds - 1e-6)

    def _audio_seconds(self, path: Path, probe) -> float | None:
        """The audio's length, probed once per distinct file content (a burst of creations with one
        audio_url runs ffprobe once)."""
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest not in self._measured:
            info = probe(str(path))
            if len(self._measured) >= MEASURED_MAX:
                self._measured.pop(next(iter(self._measured)))
            self._measured[digest] = info.duration if info.has_audio else None
        return self._measured[digest]

    async def admit(self, ws_id: str, task_id: str, credits: int, workflow: str | None) -> None:
        """Reserves the task's credits (402) and an active-processing slot (429) with usage."""
        try:
            await self.usage.AdmitJob(usage_pb2.AdmitJobRequest(
                workspace_id=ws_id, job_id=task_id, kind="task", credits=credits, workflow=workflow or ""), timeout=10)
        except grpc.aio.AioRpcError as err:
            raise from_rpc_error(err) from None

    async def create(self, principal: Principal, type_name: str, body: dict, idem_key: str | None,
                     method: str = "") -> tuple[dict, bool]:
        """Queues a task; returns (row, replayed) where replayed marks an idempotent replay.
        `method` scopes the idempotency key (each face's path)."""
        row, params, metadata, webhook_url = await self.check(type_name, body)
        method = method or f"POST /v1/tasks/{type_name}"
        body_hash = idempotency.request_hash({"params": params, "metadata": metadata, "webhook_url": webhook_url})
        task_type = row["task_type"]
        seconds = await self.billable_seconds(task_type, params)
        credits = catalog.credits_per_second(task_type, params) * seconds if seconds is not None else 0
        async with self.pool.connection() as conn, conn.transaction():
            if idem_key:
                existing = await idempotency.replay(conn, principal.workspace_id, method, idem_key, body_hash)
                if existing:
                    return await store.tasks.get(conn, principal.workspace_id, existing), True
            task_id = new_id("task")
            await self.admit(principal.workspace_id, task_id, credits,
                             row["type"] if task_type in catalog.WORKFLOW_TYPES else None)
            task = await store.insert_task(conn, task_id, principal.workspace_id, task_type, params, metadata,
                                           webhook_url, [], request_id_var.get() or None, credits, seconds)
            if idem_key:
                await idempotency.remember(conn, principal.workspace_id, method, idem_key, body_hash, task["id"])
            await events.emit(conn, "queued", task, self.storage)
        return task, False

    async def spec(self, principal: Principal, task_id: str) -> dict:
        """The render request a workflow task compiled."""
        row = await self.get(principal, task_id)
        if row["task_type"] not in catalog.WORKFLOW_TYPES:
            raise InvalidRequest("Only workflow tasks compile a render spec.", details=[
                violation("$.id", "not_a_workflow", f"Task {task_id} is a {row['task_type']} task.")])
        if row["spec"] is None:
            raise NotReady(f"Task {task_id} is {row['status']} and has not compiled its render spec yet.")
        return row["spec"]

    async def get(self, principal: Principal, task_id: str, wait: float = 0) -> dict:
        """The task; with wait > 0, the answer comes when it is terminal or wait (≤ 25 s) passed."""
        return await store.tasks.wait(self.pool, principal.workspace_id, task_id, wait, self.watch)

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
            await events.emit(conn, "cancelled", row, self.storage)

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
        return self.storage.signed_url(key, workspace=row["workspace_id"])
