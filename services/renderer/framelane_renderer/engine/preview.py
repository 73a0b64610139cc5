"""Single frames: a preview PNG at any time of a plan."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from .compile import Command, compile_ffmpeg
from .plan import Plan
from .run import run_ffmpeg


def preview_command(plan: Plan, at: float, output_path: str | os.PathLike,
                    workdir: str | os.PathLike | None = None) -> Command:
    """The ffmpeg command writing the frame at `at` seconds of `plan` as a PNG."""
    still = replace(plan, output_format="png")
    return compile_ffmpeg(still, output_path, workdir=workdir, still_at=at)


async def render_preview(plan: Plan, at: float, output_path: str | os.PathLike,
                         workdir: str | os.PathLike | None = None) -> Path:
    """Render the frame at `at` seconds of `plan` to a PNG file and return its path."""
    command = preview_command(plan, at, output_path, workdir)
    await run_ffmpeg(command.argv, plan.canvas.duration, feeds=command.feeds)
    return Path(output_path)
