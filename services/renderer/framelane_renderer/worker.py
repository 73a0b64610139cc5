"""The render worker (`python -m framelane_renderer worker`): claims queued renders from JetStream,
fetches sources, runs the engine with progress, stores the output and a poster, and completes the
job and its event in one transaction.

The durable consumer is shared by every worker, so each queued event goes to one of them. A job
is acked only after its outcome is stored; a worker that dies mid-render leaves it un-acked and
JetStream redelivers it. Storage keys are fixed per render, so a redelivery overwrites rather
than adds an output, and the conditional status updates emit each terminal event once."""

import asyncio
import logging
import os
import shutil
import socket
import subprocess
from pathlib import Path

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from framelane.api.v1 import events_pb2, job_pb2
from framelane_core.bus import stream_name
from framelane_core.context import job_id_var
from framelane_core.errors import FramelaneError
from framelane_core.fetch import Allow
from framelane_core.jobs import job_message
from framelane_core.storage import LocalStorage
from framelane_renderer import engine, events, store
from framelane_renderer.service import source_urls
from framelane_renderer.sources import fetch_all

log = logging.getLogger(__name__)
CANCEL_POLL_SECONDS = 0.5
STILL_FORMATS = {"png", "jpg"}


class RenderWorker:
    """Background runner of one worker process: one render at a time (FFmpeg uses every core)."""

    durable = "render-workers"

    def __init__(self, pool, js, storage: LocalStorage, work_dir: Path, allow: Allow, ack_wait: float):
        self.pool, self.js, self.storage, self.allow, self.ack_wait = pool, js, storage, allow, ack_wait
        self.work_dir = work_dir
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        sub = None
        while not self._stopping.is_set():
            try:
                if sub is None:
                    sub = await self.js.pull_subscribe(
                        events.QUEUED_SUBJECT, durable=self.durable, stream=stream_name(events.SERVICE),
                        config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL,
                                              ack_wait=self.ack_wait, max_deliver=-1),
                    )
                try:
                    msgs = await sub.fetch(1, timeout=1.0)
                except TimeoutError:
                    continue
                for msg in msgs:
                    await self.handle(msg)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("render worker loop failed; retrying", exc_info=True)
                sub = None
                await asyncio.sleep(1.0)

    async def handle(self, msg) -> None:
        """Processes one queued event, heart-beating so JetStream does not redeliver a long render."""
        event = events_pb2.Event.FromString(msg.data)
        payload = job_pb2.JobEvent()
        event.payload.Unpack(payload)

        async def heartbeat():
            while True:
                await asyncio.sleep(self.ack_wait / 3)
                await msg.in_progress()

        beat = asyncio.create_task(heartbeat())
        token = job_id_var.set(payload.job.id)
        try:
            await self.process(payload.job.id)
        except asyncio.CancelledError:
            await msg.nak()  # shutting down mid-render: hand the job to another worker now
            raise
        finally:
            beat.cancel()
            job_id_var.reset(token)
        await msg.ack()

    async def process(self, render_id: str) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            row, first = await store.claim(conn, render_id, self.worker_id)
            if row is None:
                return
            if first:
                await events.emit(conn, "processing", row, job_message(row, "render", self.storage))
        log.info("render started", extra={"fields": {"attempt": row["attempts"]}})
        workdir = self.work_dir / render_id
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        cancel = asyncio.Event()
        watcher = asyncio.create_task(self._watch_cancel(render_id, cancel))
        progress = Progress(self, row)
        try:
            spec = row["spec"]
            sources = await fetch_all([u for _, u in source_urls(spec)], self.work_dir.parent / "cache", self.allow)
            await progress(0.0, "compositing")
            output = workdir / f"output.{spec['output_format']}"
            await engine.render(spec, sources, output, progress, cancel)
            await progress(100.0, "uploading")
            stored = await asyncio.to_thread(self._store, render_id, spec, output, workdir)
            await self._finish(render_id, stored)
        except engine.RenderCancelled:
            log.info("render cancelled")
        except FramelaneError as err:
            await self._fail(render_id, err.code, err.message)
        except engine.ProbeError as err:
            await self._fail(render_id, "codec_unsupported", f"A source could not be decoded: {err}")
        except engine.PlanError as err:
            await self._fail(render_id, err.code, f"{err.path}: {err}")
        except engine.FfmpegError as err:
            log.error("ffmpeg failed", extra={"fields": {"stderr": err.stderr_tail[-10:]}})
            await self._fail(render_id, "internal_error", "The render failed in the encoder.")
        finally:
            watcher.cancel()
            shutil.rmtree(workdir, ignore_errors=True)

    def _store(self, render_id: str, spec: dict, output: Path, workdir: Path) -> dict:
        """Probes the output, makes a poster, stores both; returns the output record (storage keys)."""
        info = engine.probe(str(output))
        key = f"renders/{render_id}/output.{spec['output_format']}"
        record = {
            "key": key, "format": spec["output_format"], "width": info.width, "height": info.height,
            "duration": info.duration if spec["output_format"] not in STILL_FORMATS else None,
            "size_bytes": output.stat().st_size, "poster_key": None,
        }
        if spec["output_format"] not in STILL_FORMATS:
            poster = workdir / "poster.jpg"
            subprocess.run(engine.poster_argv(output, poster, engine.poster_time(info.duration or 0)), check=True,
                           capture_output=True, timeout=60)
            record["poster_key"] = f"renders/{render_id}/poster.jpg"
            self.storage.put_file(record["poster_key"], poster)
        self.storage.put_file(key, output)
        return record

    async def _finish(self, render_id: str, output: dict) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            row = await store.complete(conn, render_id, output)
            if row is not None:
                await events.emit(conn, "completed", row, job_message(row, "render", self.storage))
        if row is None:  # cancelled while encoding: the output must not outlive the job
            self.storage.delete_prefix(f"renders/{render_id}")
        else:
            log.info("render completed", extra={"fields": {"duration": output["duration"], "bytes": output["size_bytes"]}})

    async def _fail(self, render_id: str, code: str, message: str) -> None:
        log.info("render failed", extra={"fields": {"code": code, "reason": message}})
        async with self.pool.connection() as conn, conn.transaction():
            row = await store.fail(conn, render_id, {"code": code, "message": message})
            if row is not None:
                await events.emit(conn, "failed", row, job_message(row, "render", self.storage))

    async def _watch_cancel(self, render_id: str, cancel: asyncio.Event) -> None:
        """Sets `cancel` within CANCEL_POLL_SECONDS of the job leaving `processing` (a DELETE)."""
        while True:
            await asyncio.sleep(CANCEL_POLL_SECONDS)
            async with self.pool.connection() as conn:
                if await store.status_of(conn, render_id) != "processing":
                    cancel.set()
                    return

    def stop(self) -> None:
        self._stopping.set()


class Progress:
    """Engine progress → the job row (at most every 2 %) and render.progress events (every 10 %)."""

    def __init__(self, worker: RenderWorker, row: dict):
        self.worker, self.row = worker, row
        self.saved = (-100.0, "")
        self.event_step = 0

    async def __call__(self, percent: float, stage: str) -> None:
        percent = round(min(max(percent, 0.0), 100.0), 1)
        if stage == self.saved[1] and percent - self.saved[0] < 2.0:
            return
        self.saved = (percent, stage)
        step = int(percent // 10)
        async with self.worker.pool.connection() as conn, conn.transaction():
            row = await store.set_progress(conn, self.row["id"], percent, stage)
            if row is not None and step > self.event_step:
                self.event_step = step
                await events.emit(conn, "progress", row, job_message(row, "render", self.worker.storage))
