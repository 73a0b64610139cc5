"""The workflow engine of the task worker: a workflow task compiles its inputs into a render spec
(our own schema, stored with the task: GET /v1/tasks/{id}/spec), submits it to the renderer as a
child render (one per task, so a redelivered task follows the render it already submitted), follows
it with long polls, and finishes with the render's output.

Progress: 0–20 % while fetching and analysing inputs, then the render's own progress scaled into
20–99 %. A cancelled task cancels its child render."""

import asyncio
import json
import logging
import threading
import time
from pathlib import Path

import grpc
from google.protobuf import json_format, struct_pb2

from framelane.renderer.v1 import render_pb2, render_pb2_grpc
from framelane_core.errors import FramelaneError, from_rpc_error
from framelane_core.sources import fetch_source
from framelane_renderer.engine import ProbeError, RenderCancelled, probe
from framelane_tasks import store
from framelane_tasks.catalog import INPUT_MAX_BYTES
from framelane_tasks.processors import TaskFailed, transcribe
from framelane_tasks.workflows import audio, ecommerce, music_video, musicbed, prompt, srt
from framelane_tasks.workflows.inputs import AudioInput, ImageInput

log = logging.getLogger(__name__)
FOLLOW_WAIT_SECONDS = 10.0
# Answers of the renderer that say nothing about the task (it is restarting, overloaded, or its
# database is) are never the task's failure: following waits them out for FOLLOW_OUTAGE_SECONDS,
# other calls leave them to redelivery (JobWorker.handle), which follows the same render again.
TRANSIENT = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.INTERNAL)
FOLLOW_OUTAGE_SECONDS, FOLLOW_RETRY_SECONDS = 120.0, 1.0
# The e-commerce music bed is referenced by the stored spec: signed for as long as a user may
# reasonably edit and re-render it.
MUSIC_URL_TTL = 30 * 24 * 3600
COMPILE_SHARE = 20.0


class WorkflowRunner:
    def __init__(self, pool, storage, allow, cache_dir: Path, renderer_channel):
        self.pool, self.storage, self.allow, self.cache_dir = pool, storage, allow, cache_dir
        self.renderer = render_pb2_grpc.RenderServiceStub(renderer_channel)

    async def run(self, row: dict, workdir: Path, progress, cancel: asyncio.Event) -> dict:
        """Runs the workflow to its render's output; returns the task's output record."""
        render_id = row["child_render_id"]
        if render_id is None:
            spec = row["spec"] or await self.compile(row, workdir, progress, cancel)
            async with self.pool.connection() as conn:
                await store.save_spec(conn, row["id"], spec)
            job = await self._call(self.renderer.SubmitChildRender, render_pb2.SubmitChildRenderRequest(
                workspace_id=row["workspace_id"], parent_id=row["id"], spec=json_format.ParseDict(spec, struct_pb2.Struct())))
            render_id = job.id
            async with self.pool.connection() as conn:
                await store.set_child(conn, row["id"], render_id)
        return await self.follow(row, render_id, progress, cancel)

    async def follow(self, row: dict, render_id: str, progress, cancel: asyncio.Event) -> dict:
        request = render_pb2.ChildRenderRequest(workspace_id=row["workspace_id"], render_id=render_id)
        answered = time.monotonic()
        while True:
            if cancel.is_set():
                try:
                    await self._call(self.renderer.CancelChildRender, request)
                except FramelaneError as err:  # already finished: nothing to stop
                    log.info("child render not cancelled: %s", err.code)
                raise RenderCancelled("task cancelled")
            request.wait = FOLLOW_WAIT_SECONDS
            try:
                job = await self._call(self.renderer.GetChildRender, request)
            except grpc.aio.AioRpcError:  # TRANSIENT: the renderer restarting costs no delivery of the task
                if time.monotonic() - answered > FOLLOW_OUTAGE_SECONDS:
                    raise
                await asyncio.sleep(FOLLOW_RETRY_SECONDS)
                continue
            answered = time.monotonic()
            if job.status == "completed":
                return self._output(render_id, json_format.MessageToDict(job.output))
            if job.status in ("failed", "cancelled"):
                error = json_format.MessageToDict(job.error) or {}
                raise TaskFailed(error.get("code") or "processing_failed",
                                 f"The render failed: {error.get('message') or job.status}.")
            stage = job.progress_stage.string_value or "compositing"
            await progress(COMPILE_SHARE + job.progress_percent * (99.0 - COMPILE_SHARE) / 100, stage)

    def _output(self, render_id: str, output: dict) -> dict:
        key = self.storage.local_key_for(output["url"])
        if key is None:
            raise TaskFailed("result_transfer_failed", "The render's output is not in this deployment's storage.")
        facts = {k: output.get(k) for k in ("width", "height", "duration", "size_bytes")}
        return {"key": key, "format": "mp4", "render_id": render_id, **facts}

    async def compile(self, row: dict, workdir: Path, progress, cancel: asyncio.Event) -> dict:
        """Fetches and analyses the inputs, then compiles the render spec."""
        params = row["params"]
        await progress(1.0, "downloading")
        images = await asyncio.gather(*(self._image(url) for url in params["images"]))
        if cancel.is_set():
            raise RenderCancelled("task cancelled")
        await progress(8.0, "analyzing")
        if row["task_type"] == "ecommerce_video":
            copy = prompt.extract(params.get("prompt"), params.get("language", "en"))
            music = await asyncio.to_thread(musicbed.synthesize, workdir / "music.wav", float(params["duration"]))
            key = f"tasks/{row['id']}/music.wav"
            await asyncio.to_thread(self.storage.put_file, key, music)
            url, _ = self.storage.signed_url(key, workspace=row["workspace_id"], ttl=MUSIC_URL_TTL)
            return ecommerce.compile(params, images, AudioInput(url, float(params["duration"])), copy)
        path = await fetch_source(params["audio_url"], self.cache_dir, self.allow, self.storage, INPUT_MAX_BYTES)
        info = await asyncio.to_thread(_probe, path)
        if not info.has_audio or not info.duration:
            raise TaskFailed("invalid_source", "audio_url has no audio stream.")
        analysis = await asyncio.to_thread(audio.analyze, path)
        words = None
        if params.get("srt_url"):
            words = await self._srt_words(params["srt_url"])
        elif params.get("add_subtitle"):
            await progress(12.0, "analyzing")
            words = await self._transcribe(path, workdir, cancel)
        return music_video.compile(params, images, AudioInput(params["audio_url"], info.duration), analysis, words)

    async def _image(self, url: str) -> ImageInput:
        path = await fetch_source(url, self.cache_dir, self.allow, self.storage, INPUT_MAX_BYTES)
        info = await asyncio.to_thread(_probe, path)
        if not info.width or not info.height:
            raise TaskFailed("invalid_source", f"{url[:200]} is not an image.")
        if not 0.25 <= info.width / info.height <= 4:
            raise TaskFailed("invalid_source", "Images must have an aspect ratio between 1:4 and 4:1.")
        return ImageInput(url, info.width, info.height)

    async def _srt_words(self, url: str) -> list[dict]:
        path = await fetch_source(url, self.cache_dir, self.allow, self.storage, INPUT_MAX_BYTES)
        try:
            return srt.parse_srt(path.read_bytes().decode("utf-8-sig", errors="replace"))
        except ValueError as err:
            raise TaskFailed("invalid_source", f"srt_url is not a SubRip file: {err}") from None

    async def _transcribe(self, path: Path, workdir: Path, cancel: asyncio.Event) -> list[dict]:
        async def quiet(percent: float, stage: str) -> None:
            return None

        (workdir / "transcribe").mkdir(parents=True, exist_ok=True)
        result = await transcribe.run(path, {"language": "en", "word_timings": True}, workdir / "transcribe", quiet,
                                      cancel)
        transcript = json.loads(result.main.read_text())
        return [{"text": w["text"], "start": w["start"], "end": w["end"]} for w in transcript["words"]]

    @staticmethod
    async def _call(method, request):
        try:
            return await method(request, timeout=FOLLOW_WAIT_SECONDS + 20)
        except grpc.aio.AioRpcError as err:
            if err.code() in TRANSIENT:
                raise
            raise from_rpc_error(err) from None


class AudioWarmUp:
    """Compiles librosa's beat tracker (numba JIT: half a minute the first time ever) when the worker
    starts, in a daemon thread, so the first music video does not pay for it and a stopping worker
    never waits for it."""

    async def run(self) -> None:
        threading.Thread(target=self._warm, name="librosa-warm-up", daemon=True).start()

    @staticmethod
    def _warm() -> None:
        try:
            audio.warm_up()
        except Exception:  # a failed warm-up only costs the first task the compile time
            log.warning("librosa warm-up failed", exc_info=True)

    def stop(self) -> None:
        pass


def _probe(path: Path):
    try:
        return probe(str(path))
    except ProbeError as err:
        raise TaskFailed("codec_unsupported", f"An input could not be decoded: {err}") from None

