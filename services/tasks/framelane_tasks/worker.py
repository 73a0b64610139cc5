"""The task worker (`python -m framelane_tasks worker`): claims queued tasks from JetStream
(framelane_core.jobqueue), fetches the source, runs the type's processor with progress, stores
the output and its renditions under fixed keys, and completes the job and its event in one
transaction. Conditional status updates emit each terminal event once; a redelivery overwrites
rather than adds an output. As in the render worker, each claim has its own scratch folder and a
stalled claim's outcome is refused (fenced by the row's `attempts`)."""

import asyncio
import contextlib
import logging
import shutil
from pathlib import Path

from framelane_core.errors import FramelaneError
from framelane_core.fetch import Allow
from framelane_core.jobqueue import JobWorker
from framelane_core.sources import fetch_source
from framelane_core.storage import LocalStorage
from framelane_renderer.engine import FfmpegError, RenderCancelled
from framelane_tasks import catalog, events, store
from framelane_tasks.processors import (Result, TaskFailed, gaze_redirect, remove_background, super_resolution,
                                        transcribe)
from framelane_tasks.runner import WorkflowRunner

log = logging.getLogger(__name__)
SOURCE_MAX_BYTES = 2 * 1024**3
PROCESSORS = {"transcribe": transcribe.run, "super_resolution": super_resolution.run,
              "remove_background": remove_background.run, "gaze_redirect": gaze_redirect.run}


class TaskWorker(JobWorker):
    """One task at a time per process (FFmpeg and CTranslate2 use every core)."""

    stream, subject, durable, kind = events.SERVICE, events.QUEUED_SUBJECT, "task-workers", "task"

    def __init__(self, pool, js, storage: LocalStorage, work_dir: Path, allow: Allow, ack_wait: float,
                 renderer_channel):
        super().__init__(pool, js, ack_wait)
        self.storage, self.allow, self.work_dir = storage, allow, work_dir
        self.cache_dir = work_dir / "cache"
        self.workflows = WorkflowRunner(pool, storage, allow, self.cache_dir, renderer_channel)

    async def claim(self, task_id: str) -> dict | None:
        async with self.pool.connection() as conn, conn.transaction():
            row, first = await store.tasks.claim(conn, task_id, self.worker_id)
            if row is not None and first:
                await events.emit(conn, "processing", row, self.storage)
        return row

    async def queue_stats(self) -> tuple[int, float]:
        async with self.pool.connection() as conn:
            return await store.tasks.queue_stats(conn)

    async def job_status(self, task_id: str) -> str | None:
        async with self.pool.connection() as conn:
            return await store.tasks.status_of(conn, task_id)

    async def save_progress(self, task_id: str, percent: float, stage: str, emit: bool) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            row = await store.tasks.set_progress(conn, task_id, percent, stage)
            if row is not None and emit:
                await events.emit(conn, "progress", row, self.storage)

    async def process(self, row: dict, cancel: asyncio.Event, progress) -> None:
        task_id, task_type, params, attempt = row["id"], row["task_type"], row["params"], row["attempts"]
        log.info("task started", extra={"fields": {"task_type": task_type, "attempt": attempt}})
        scratch = self.work_dir / task_id
        shutil.rmtree(scratch, ignore_errors=True)  # what killed or stalled earlier claims left
        workdir = scratch / str(attempt)
        workdir.mkdir(parents=True)
        try:
            if task_type in catalog.WORKFLOW_TYPES:
                await self._finish(task_id, await self.workflows.run(row, workdir, progress, cancel), attempt)
                return
            processor = PROCESSORS.get(task_type)
            if processor is None:  # queued before this deployment dropped the type
                raise TaskFailed("unsupported", f"Task type {task_type} is not supported by this worker.")
            await progress(0.0, "downloading")
            source = await fetch_source(params["source_url"], self.cache_dir, self.allow, self.storage,
                                        SOURCE_MAX_BYTES)
            if cancel.is_set():
                raise RenderCancelled("task cancelled")
            result = await processor(source, params, workdir, progress, cancel)
            await progress(99.0, "uploading")
            output = await asyncio.to_thread(self._store, task_id, result)
            await self._finish(task_id, output, attempt)
        except RenderCancelled:
            log.info("task cancelled")
        except TaskFailed as err:
            await self.fail(task_id, err.code, err.message, attempt)
        except FramelaneError as err:
            await self.fail(task_id, err.code, err.message, attempt)
        except FfmpegError as err:
            log.error("ffmpeg failed", extra={"fields": {"stderr": err.stderr_tail[-10:]}})
            await self.fail(task_id, "codec_unsupported", "The source could not be processed by the decoder.", attempt)
        # Anything else (the database restarting, a bug) goes to JobWorker.handle: redelivered with
        # backoff, and failed with internal_error only after MAX_DELIVERIES.
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            with contextlib.suppress(OSError):
                scratch.rmdir()  # left when another claim of the task is running

    def _store(self, task_id: str, result: Result) -> dict:
        """Stores the output and its renditions under fixed keys; returns the output record."""
        prefix = f"tasks/{task_id}"
        record = {"key": f"{prefix}/{result.main.name}", "format": result.format,
                  "size_bytes": result.main.stat().st_size, **result.facts}
        for name, path in result.renditions.items():
            record[f"{name}_key"] = f"{prefix}/{path.name}"
            self.storage.put_file(record[f"{name}_key"], path)
        self.storage.put_file(record["key"], result.main)
        return record

    async def _finish(self, task_id: str, output: dict, attempt: int) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            row = await store.tasks.complete(conn, task_id, output, attempt)
            if row is not None:
                await events.emit(conn, "completed", row, self.storage)
        if row is None:  # cancelled meanwhile (the output must not outlive the job), or taken over
            if "render_id" not in output and await self.job_status(task_id) == "cancelled":
                self.storage.delete_prefix(f"tasks/{task_id}")
        else:
            log.info("task completed", extra={"fields": {"bytes": output["size_bytes"]}})

    async def fail(self, task_id: str, code: str, message: str, attempt: int | None = None) -> None:
        log.info("task failed", extra={"fields": {"code": code, "reason": message}})
        async with self.pool.connection() as conn, conn.transaction():
            row = await store.tasks.fail(conn, task_id, {"code": code, "message": message}, attempt=attempt)
            if row is not None:
                await events.emit(conn, "failed", row, self.storage)
