"""Frames through the model runner (services/tasks/model_runner, `python -m framelane_models`), run
by the interpreter of its own environment (.venv-models: mediapipe needs numpy<2 and protobuf<5).
FFmpeg decodes the source into raw rgb24 frames on a named pipe, the runner processes them one at a
time onto a second named pipe, and FFmpeg encodes that (with the source's audio, a background, ...),
so no stage holds more than a few frames and the worker's event loop never touches a pixel. A cancel
stops all three: the FFmpegs through run_ffmpeg, the runner at once."""

import asyncio
import dataclasses
import json
import os
from fractions import Fraction
from pathlib import Path

from framelane_core.config import ROOT
from framelane_renderer.engine import ProbeError, SourceInfo, probe, run_ffmpeg
from framelane_tasks.processors import ModelRunnerError, TaskFailed, run_child



def models_python() -> str:
    """The model environment's interpreter: FRAMELANE_MODELS_PYTHON, else the checkout's .venv-models."""
    return os.environ.get("FRAMELANE_MODELS_PYTHON") or str(ROOT / ".venv-models" / "bin" / "python")


async def probe_visual(source: Path, action: str) -> SourceInfo:
    """The source's media facts, with the width and height of its frames as FFmpeg decodes them
    (upright: a phone's portrait video is stored landscape with a rotation); TaskFailed when it
    cannot be decoded or has no picture."""
    try:
        info = await asyncio.to_thread(probe, str(source))
    except ProbeError as err:
        raise TaskFailed("codec_unsupported", f"The source could not be decoded: {err}") from None
    if not info.has_video or not info.width or not info.height:
        raise TaskFailed("invalid_source", f"The source has no image or video stream to {action}.")
    rotation = await asyncio.create_subprocess_exec(
        "ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream_side_data=rotation",
        "-of", "csv=p=0", str(source), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    degrees = (await rotation.communicate())[0].decode().split()
    if degrees and degrees[0].lstrip("-").isdigit() and int(degrees[0]) % 180:
        info = dataclasses.replace(info, width=info.height, height=info.width)
    return info


def frame_rate(info: SourceInfo) -> str:
    """The source's frame rate as FFmpeg's rational (30000/1001 rather than 29.97002997)."""
    rate = Fraction(info.fps or 25).limit_denominator(1001)
    return f"{rate.numerator}/{rate.denominator}"


async def run_model(source: Path, info: SourceInfo, image: bool, command: list[str], out_pix_fmt: str,
                    encode: list[str], workdir: Path, progress, cancel: asyncio.Event) -> dict:
    """Decodes `source`, runs the runner's `command` (a subcommand and its options) on every frame and
    encodes its `out_pix_fmt` frames with `encode` (FFmpeg arguments after the frames, which are input 0:
    more inputs, maps, filters, codecs, the output path). Returns the runner's facts."""
    python = models_python()
    if not os.access(python, os.X_OK):
        raise ModelRunnerError(f"no model runner environment at {python}: run scripts/install-model-env.sh")
    rate = frame_rate(info)
    frames_in, frames_out = workdir / "frames.rgb", workdir / "processed.raw"
    for fifo in (frames_in, frames_out):
        fifo.unlink(missing_ok=True)
        os.mkfifo(fifo)
    decoder = ["ffmpeg", "-v", "error", "-y", "-i", str(source), "-map", "0:v:0",
               *(["-frames:v", "1"] if image else ["-fps_mode", "cfr", "-r", rate]),
               "-f", "rawvideo", "-pix_fmt", "rgb24", str(frames_in)]
    runner = [python, "-m", "framelane_models", *command, "--width", str(info.width), "--height", str(info.height),
              "--input", str(frames_in), "--output", str(frames_out), *([] if image else ["--video"])]
    encoder = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", out_pix_fmt,
               "-s", f"{info.width}x{info.height}", "-framerate", rate, "-i", str(frames_out), *encode]
    log = workdir / "runner.log"
    await progress(0.0, "encoding")
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(run_ffmpeg(decoder, 0.0, None, cancel))
            group.create_task(_run_runner(runner, log, cancel))
            group.create_task(run_ffmpeg(encoder, 0.0 if image else info.duration or 0.0, progress, cancel))
    except ExceptionGroup as errors:  # the others were stopped; raise the cause, not a broken pipe
        raise next((e for e in errors.exceptions if "Broken pipe" not in str(e)), errors.exceptions[0]) from None
    facts = _facts(log)
    if not facts.get("frames"):
        raise TaskFailed("invalid_source", "No frame of the source could be decoded.")
    return facts


async def _run_runner(argv: list[str], log: Path, cancel: asyncio.Event) -> None:
    """The model runner as a child; the services' PYTHONPATH and friends must not leak into its environment."""
    await run_child(argv, log, cancel, env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")})


def _facts(log: Path) -> dict:
    """The runner's `@facts {json}` line (its last one)."""
    lines = [line for line in log.read_bytes().splitlines() if line.startswith(b"@facts ")]
    return json.loads(lines[-1][len(b"@facts "):]) if lines else {}
