"""Domain logic of render jobs: validate, admit, queue (outbox) or hold for staging
(framelane_renderer.staging), read, wait, cancel, download."""

import asyncio
import shutil
from pathlib import Path

import grpc
from framelane.usage.v1 import usage_pb2, usage_pb2_grpc
from framelane_core import idempotency
from framelane_core.context import Principal
from framelane_core.errors import (
    FramelaneError,
    InvalidRequest,
    NotReady,
    from_rpc_error,
    violation,
)
from framelane_core.fetch import Allow, check_source
from framelane_core.ids import new_id
from framelane_core.jobs import STATUSES, job_message
from framelane_core.jobstore import JobWatch
from framelane_core.pagination import decode_cursor, page, page_limit
from framelane_core.protoconv import integral_numbers
from framelane_core.storage import LocalStorage
from psycopg_pool import AsyncConnectionPool

from framelane_renderer import engine, events, staging, store
from framelane_renderer.sources import fetch_all, source_urls


# How long a render waits for an upload it uses to complete: an upload link lives an hour.
UPLOAD_WAIT_SECONDS = 3600 + 60


def estimated_duration(spec: dict) -> float:
    """Output seconds: the spec's duration, else the end of the last element that says its length."""
    if spec.get("duration"):
        return float(spec["duration"])
    ends = [0.0]
    for e in spec.get("elements", []):
        if e.get("duration"):
            ends.append(e.get("time", 0) + e["duration"])
        elif e.get("out_point"):
            ends.append(e.get("time", 0) + (e["out_point"] - (e.get("in_point") or 0)) / (e.get("speed") or 1))
    return max(ends)


class Renders:
    def __init__(self, pool: AsyncConnectionPool, storage: LocalStorage, allow: Allow, work_dir: str, usage_channel,
                 upload_wait: float = UPLOAD_WAIT_SECONDS, watch: JobWatch | None = None):
        self.pool, self.storage, self.allow, self.work_dir, self.watch = pool, storage, allow, work_dir, watch
        self.usage = usage_pb2_grpc.UsageServiceStub(usage_channel)
        self.upload_wait = upload_wait

    async def admit(self, principal: Principal, render_id: str, minutes: float) -> None:
        """Reserves the render's minutes with usage (402 quota_exceeded when over the plan's cap)."""
        try:
            await self.usage.AdmitRender(usage_pb2.AdmitRenderRequest(
                workspace_id=principal.workspace_id, job_id=render_id, render_minutes=minutes), timeout=10)
        except grpc.aio.AioRpcError as err:
            raise from_rpc_error(err) from None

    def job(self, row: dict):
        return job_message(row, "render", self.storage)

    async def check(self, spec: dict) -> engine.ValidationResult:
        """Engine validation plus the SSRF check of every source; InvalidRequest lists every violation."""
        result = engine.validate(integral_numbers(spec))
        problems = [v.as_dict() for v in result.errors]
        if result.ok:
            webhook = result.normalized.get("webhook_url")  # a target we will POST to: refused now too
            for path, url in source_urls(result.normalized) + ([("$.webhook_url", webhook)] if webhook else []):
                try:
                    await check_source(url, self.allow, path, self.storage)
                except FramelaneError as err:
                    problems.append({"path": path, "code": err.code, "message": err.message, "severity": "error"})
        if problems:
            raise InvalidRequest(f"The render request has {len(problems)} problem(s).", details=problems)
        return result

    async def create(self, principal: Principal, spec: dict, idem_key: str | None) -> tuple[dict, bool]:
        """Queues a render; returns (row, replayed) where replayed marks an idempotent replay."""
        result = await self.check(spec)
        spec = result.normalized
        body_hash = idempotency.request_hash(spec)
        pending = await asyncio.to_thread(staging.pending_uploads, spec, self.storage)
        async with self.pool.connection() as conn, conn.transaction():
            if idem_key:
                existing = await idempotency.replay(conn, principal.workspace_id, "POST /v1/renders", idem_key, body_hash)
                if existing:
                    return await store.renders.get(conn, principal.workspace_id, existing), True
            render_id = new_id("render")
            await self.admit(principal, render_id, estimated_duration(spec) / 60)
            ingest = bool(spec.get("ingest_external")) and bool(staging.external_sources(spec, self.storage))
            row = await store.insert_render(
                conn, render_id, principal.workspace_id, spec, spec.get("metadata") or {},
                spec.get("webhook_url"), [w.as_dict() for w in result.warnings], estimated_duration(spec),
                status="ingesting" if ingest else "queued", pending_keys=pending, hold_seconds=self.upload_wait,
            )
            if idem_key:
                await idempotency.remember(conn, principal.workspace_id, "POST /v1/renders", idem_key, body_hash, row["id"])
            # A held render's work item (render.queued) comes when staging releases it; until then
            # render.held (internal: webhooks deliver only the contract's six) keeps its admission.
            await events.emit(conn, "held" if store.is_held(row) else "queued", row, self.job(row))
        return row, False

    async def submit_child(self, ws_id: str, parent_id: str, spec: dict) -> dict:
        """Queues the render of a workflow task (its parent holds the slot and the credits, so no
        admission); a second call for the same parent returns the first render."""
        result = await self.check(spec)
        spec = result.normalized
        async with self.pool.connection() as conn, conn.transaction():
            existing = await store.child_of(conn, parent_id)
            if existing is not None:
                return existing
            row = await store.insert_render(
                conn, new_id("render"), ws_id, spec, spec.get("metadata") or {}, spec.get("webhook_url"),
                [w.as_dict() for w in result.warnings], estimated_duration(spec), parent_id,
            )
            await events.emit(conn, "queued", row, self.job(row))
        return row

    async def get(self, principal: Principal, render_id: str, wait: float = 0) -> dict:
        """The render; with wait > 0, the answer comes when it is terminal or wait (≤ 25 s) passed."""
        return await store.renders.wait(self.pool, principal.workspace_id, render_id, wait, self.watch)

    async def list_page(self, principal: Principal, status: str, limit: int, cursor: str) -> tuple[list[dict], str | None]:
        if status and status not in STATUSES:
            raise InvalidRequest("Unknown status filter.", details=[
                violation("$.status", "enum", f"Must be one of {', '.join(STATUSES)}.")])
        limit = page_limit(limit)
        async with self.pool.connection() as conn:
            rows = await store.renders.list(conn, principal.workspace_id, limit, decode_cursor(cursor), status=status)
        return page(rows, limit)

    async def cancel(self, principal: Principal, render_id: str) -> dict:
        async def emit(conn, row):
            await events.emit(conn, "cancelled", row, self.job(row))

        return await store.renders.cancel_job(self.pool, principal.workspace_id, render_id, emit)

    async def download(self, principal: Principal, render_id: str) -> tuple[str, int]:
        row = await self.get(principal, render_id)
        if row["status"] != "completed":
            raise NotReady(f"Render {render_id} is {row['status']}; its output is not ready.")
        return self.storage.signed_url(row["output"]["key"], workspace=row["workspace_id"])

    async def validate_only(self, spec: dict) -> tuple[engine.ValidationResult, list[dict]]:
        """Free validation: (result, problems) without raising for an invalid spec."""
        try:
            return await self.check(spec), []
        except InvalidRequest as err:
            return engine.validate(integral_numbers(spec)), err.details

    async def preview_frame(self, principal: Principal, spec: dict, at: float) -> dict:
        """One PNG frame of the timeline at `at` seconds, by the same engine (FFmpeg runs as a
        child process; the sources go through the same safe fetcher and cache as renders)."""
        result = await self.check(spec)
        spec = result.normalized
        duration = estimated_duration(spec)
        if not 0 <= at < max(duration, 0.001):
            raise InvalidRequest("at must be inside the timeline.", details=[
                violation("$.at", "out_of_range", f"Must be between 0 and {duration:g} seconds.")])
        key = f"previews/{principal.workspace_id.lower()}/{new_id('preview').lower()}.png"
        workdir = Path(self.work_dir) / "previews" / key.rsplit("/", 1)[1]
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            sources = await fetch_all([u for _, u in source_urls(spec)], Path(self.work_dir) / "cache", self.allow,
                                    storage=self.storage)
            plan = engine.build_plan(spec, sources)
            frame = await engine.render_preview(plan, at, workdir / "frame.png", workdir / "work")
            info = engine.probe(str(frame))
            self.storage.put_file(key, frame)
        except engine.PlanError as err:
            raise InvalidRequest(str(err), details=[violation(err.path, err.code, str(err))]) from None
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        url, _ = self.storage.signed_url(key, workspace=principal.workspace_id)
        return {"url": url, "kind": "frame", "at": at, "width": info.width, "height": info.height}
