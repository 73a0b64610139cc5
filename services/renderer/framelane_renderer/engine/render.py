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
) -> Plan:
    """Plan, compile and run a render of a validated, normalized spec; returns the plan used.

    The work directory next to the output is removed afterwards, whatever the outcome.
    """
    plan = build_plan(spec, sources)
    output = Path(output_path)
    workdir = output.parent / f".{output.name}.work"
    try:
        argv = compile_ffmpeg(plan, output, workdir=workdir)
        await run_ffmpeg(argv, plan.canvas.duration, on_progress, cancel)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return plan
