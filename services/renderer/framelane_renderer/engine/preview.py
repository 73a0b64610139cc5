"""Single frames: a preview PNG at any time of a plan, and a poster frame of a rendered video."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from .compile import compile_ffmpeg
from .plan import Plan
from .run import run_ffmpeg


def preview_argv(plan: Plan, at: float, output_path: str | os.PathLike, workdir: str | os.PathLike | None = None) -> list[str]:
    """The ffmpeg argv writing the frame at `at` seconds of `plan` as a PNG."""
    still = replace(plan, output_format="png")
    return compile_ffmpeg(still, output_path, workdir=workdir, still_at=at)


async def render_preview(plan: Plan, at: float, output_path: str | os.PathLike,
                         workdir: str | os.PathLike | None = None) -> Path:
    """Render the frame at `at` seconds of `plan` to a PNG file and return its path."""
    await run_ffmpeg(preview_argv(plan, at, output_path, workdir), duration=plan.canvas.duration)
    return Path(output_path)


def poster_argv(video_path: str | os.PathLike, poster_path: str | os.PathLike, at: float) -> list[str]:
    """The ffmpeg argv extracting one frame at `at` seconds of a rendered video as a JPEG or PNG."""
    return [
        "ffmpeg", "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-ss", f"{max(0.0, at):.6f}",
        "-i", str(video_path), "-frames:v", "1", "-update", "1", str(poster_path),
    ]


def poster_time(duration: float) -> float:
    """Where a poster frame is taken: one second in, or the middle of shorter videos."""
    return min(1.0, duration / 2)
