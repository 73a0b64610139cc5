"""The render worker (`python -m framelane_renderer worker`): claims queued renders from JetStream,
fetches sources, runs the engine with progress, stores the output and a poster, and completes the
job and its event in one transaction.

The durable consumer is shared by every worker, so each queued event goes to one of them. A job
is acked only after its outcome is stored; a worker that dies mid-render leaves it un-acked and
JetStream redelivers it. Storage keys are fixed per render, so a redelivery overwrites rather
than adds an output, and the conditional status updates emit each terminal event once. A worker
that stalls past its ack wait while another takes the render over finishes in its own scratch
folder, and its outcome is refused (the row's `attempts` is the claim's fencing token)."""

import asyncio
import contextlib
import logging
import shutil
import time
from pathlib import Path

from framelane_core import metrics
from framelane_core.errors import FramelaneError
from framelane_core.fetch import Allow
from framelane_core.jobqueue import JobWorker
from framelane_core.jobs import job_message
from framelane_core.storage import LocalStorage
from framelane_renderer import engine, events, store
from framelane_renderer.sources import fetch_all, source_urls

log = logging.getLogger(__name__)
STILL_FORMATS = {"png", "jpg"}


class Phases:
    """Wall seconds of a render's phases (fetch, render, store), logged with its completion."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self._mark = time.monotonic()

    def done(self, phase: str) -> None:
        now = time.monotonic()
        self.seconds[f"{phase}_seconds"] = round(now - self._mark, 3)
        self._mark = now


class RenderWorker(JobWorker):
    """One render at a time (FFmpeg uses every core); the queue loop is framelane_core.jobqueue's."""

    stream, subject, durable, kind = events.SERVICE, events.QUEUED_SUBJECT, "render-workers", "render"

    def __init__(self, pool, js, storage: LocalStorage, work_dir: Path, allow: Allow, ack_wait: float):
        super().__init__(pool, js, ack_wait)
        self.storage, self.allow, self.work_dir = storage, allow, work_dir

    async def claim(self, render_id: str) -> dict | None:
        async with self.pool.connection() as conn, conn.transaction():
            row, first = await store.renders.claim(conn, render_id, self.worker_id)
            if row is not None and first:
                await events.emit(conn, "processing", row, job_message(row, "render", self.storage))
        return row

    async def queue_stats(self) -> tuple[int, float]:
        async with self.pool.connection() as conn:
            return await store.renders.queue_stats(conn)

    async def job_status(self, render_id: str) -> str | None:
        async with self.pool.connection() as conn:
            return await store.renders.status_of(conn, render_id)

    async def save_progress(self, render_id: str, percent: float, stage: str, emit: bool) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            row = await store.renders.set_progress(conn, render_id, percent, stage)
            if row is not None and emit:
                await events.emit(conn, "progress", row, job_message(row, "render", self.storage))

    async def process(self, row: dict, cancel: asyncio.Event, progress) -> None:
        render_id, attempt = row["id"], row["attempts"]
        log.info("render started", extra={"fields": {"attempt": attempt}})
        started = time.monotonic()
        scratch = self.work_dir / render_id
        shutil.rmtree(scratch, ignore_errors=True)  # what killed or stalled earlier claims left
        workdir = scratch / str(attempt)
        workdir.mkdir(parents=True)
        phases = Phases()
        try:
            spec = row["spec"]
            sources = await fetch_all([u for _, u in source_urls(spec)], self.work_dir.parent / "cache", self.allow,
                                    storage=self.storage)
            phases.done("fetch")
            await progress(0.0, "compositing")
            output = workdir / f"output.{spec['output_format']}"
            poster = None if spec["output_format"] in STILL_FORMATS else workdir / "poster.jpg"
            await engine.render(spec, sources, output, progress, cancel, poster_path=poster)
            phases.done("render")
            await progress(100.0, "uploading")
            stored = await asyncio.to_thread(self._store, render_id, spec, output, poster)
            phases.done("store")
            if await self._finish(render_id, stored, attempt, phases) and stored["duration"]:
                metrics.RENDER_SPEED.observe((time.monotonic() - started) / stored["duration"])
        except engine.RenderCancelled:
            log.info("render cancelled")
        except FramelaneError as err:
            await self.fail(render_id, err.code, err.message, attempt)
        except engine.ProbeError as err:
            await self.fail(render_id, "codec_unsupported", f"A source could not be decoded: {err}", attempt)
        except engine.PlanError as err:
            await self.fail(render_id, err.code, f"{err.path}: {err}", attempt)
        except engine.FfmpegError as err:
            log.error("ffmpeg failed", extra={"fields": {"stderr": err.stderr_tail[-10:]}})
            await self.fail(render_id, "internal_error", "The render failed in the encoder.", attempt)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            with contextlib.suppress(OSError):
                scratch.rmdir()  # left when another claim of the render is running

    def _store(self, render_id: str, spec: dict, output: Path, poster: Path | None) -> dict:
        """Probes the output and moves it and its poster (written by the render) into storage;
        returns the output record (storage keys)."""
        info = engine.probe(str(output))
        key = f"renders/{render_id}/output.{spec['output_format']}"
        record = {
            "key": key, "format": spec["output_format"], "width": info.width, "height": info.height,
            "duration": info.duration if spec["output_format"] not in STILL_FORMATS else None,
            "size_bytes": output.stat().st_size, "poster_key": None,
        }
        if poster is not None:
            record["poster_key"] = f"renders/{render_id}/poster.jpg"
            self.storage.move_in(record["poster_key"], poster)
        self.storage.move_in(key, output)
        return record

    async def _finish(self, render_id: str, output: dict, attempt: int, phases: Phases) -> bool:
        """Stores the output and the completed event; False when the render was cancelled meanwhile
        or another claim took it over."""
        async with self.pool.connection() as conn, conn.transaction():
            row = await store.renders.complete(conn, render_id, output, attempt)
            if row is not None:
                await events.emit(conn, "completed", row, job_message(row, "render", self.storage))
        if row is None:
            if await self.job_status(render_id) == "cancelled":  # the output must not outlive the job
                self.storage.delete_prefix(f"renders/{render_id}")
            return False
        log.info("render completed", extra={"fields": {"duration": output["duration"], "bytes": output["size_bytes"],
                                                       **phases.seconds}})
        return True

    async def fail(self, render_id: str, code: str, message: str, attempt: int | None = None) -> None:
        log.info("render failed", extra={"fields": {"code": code, "reason": message}})
        async with self.pool.connection() as conn, conn.transaction():
            row = await store.renders.fail(conn, render_id, {"code": code, "message": message}, attempt=attempt)
            if row is not None:
                await events.emit(conn, "failed", row, job_message(row, "render", self.storage))
