"""One call from a normalized spec and fetched sources to a finished output file."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from .compile import compile_ffmpeg
from .plan import Plan, build_plan
from .probe import SourceInfo
from .run import ProgressCallback, run_ffmpeg


async def render(
    spec: dict,
    sources: dict[str, SourceInfo],
    output_path: str | os.PathLike,
    on_progress: ProgressCallback | None = None,
    cancel: asyncio.Event | None = None,
    poster_path: str | os.PathLike | None = None,
) -> Plan:
    """Plan, compile and run a render of a validated, normalized spec; returns the plan used.

    With `poster_path`, a video output's poster frame is written there by the same FFmpeg run.
    Compiling (static text is drawn then) runs in a thread, so the event loop keeps heartbeating;
    caption frames are drawn in another while FFmpeg runs. The work directory next to the output
    is removed afterwards, whatever the outcome.
    """
    plan = build_plan(spec, sources)
    output = Path(output_path)
    workdir = output.parent / f".{output.name}.work"
    try:
        command = await asyncio.to_thread(compile_ffmpeg, plan, output, workdir, poster_path=poster_path)
        await run_ffmpeg(command.argv, plan.canvas.duration, on_progress, cancel, command.feeds)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return plan
