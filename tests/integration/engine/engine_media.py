"""Helpers for render-engine tests: source URLs, small specs, and frame and audio probes."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from pathlib import Path

import numpy as np

from framelane_renderer.engine import build_plan, compile_ffmpeg, run_ffmpeg, validate

W, H, FPS = 160, 90, 10


def url(name: str) -> str:
    """The https URL a spec uses for a generated source named `name`."""
    extension = {"tone": "wav", "quadrants": "png", "gradient": "png", "logo": "png", "orange": "png", "gray": "png",
                 "pattern": "png",
                 "waves": "png", "waves_turned": "png"}
    return f"https://media.test/{name}.{extension.get(name, 'mp4')}"


def step_grey(second: int) -> tuple[int, int, int]:
    """RGB of the steps clip during a whole second (its luma is 20 + 20 * second, limited range)."""
    level = round((20 + 20 * second - 16) * 255 / 219)
    return level, level, level


def spec_with(*elements: dict, **top) -> dict:
    """A small-canvas spec with the given elements."""
    return {"width": W, "height": H, "frame_rate": FPS, "duration": 2, "elements": list(elements), **top}


def ffprobe(path: Path) -> dict:
    """ffprobe's streams and format of a file."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format", "-count_frames", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout
    return json.loads(out)


def frames(path: Path, width: int = W, height: int = H) -> np.ndarray:
    """Every decoded frame as an (n, h, w, 4) RGBA array."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgba", "-"],
        capture_output=True, check=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 4)


def pixel(frame: np.ndarray, x: int, y: int) -> np.ndarray:
    """The RGB of a pixel as ints."""
    return frame[y, x, :3].astype(int)


def close(actual, expected, tolerance: int = 24) -> bool:
    """True when every channel is within `tolerance`."""
    return bool(np.all(np.abs(np.asarray(actual, int) - np.asarray(expected, int)) <= tolerance))


def max_volume(path: Path, start: float = 0.0, duration: float | None = None) -> float:
    """Peak level in dBFS of the audio in a time window (-inf for silence)."""
    args = ["ffmpeg", "-hide_banner", "-nostats", "-ss", f"{start}", "-i", str(path)]
    if duration is not None:
        args += ["-t", f"{duration}"]
    err = subprocess.run(args + ["-vn", "-af", "volumedetect", "-f", "null", "-"], capture_output=True, text=True).stderr
    match = re.search(r"max_volume: (-?[\d.]+|-inf) dB", err)
    assert match, err
    return float(match.group(1))


class Renderer:
    """Validates, plans, compiles and runs specs into a temporary directory."""

    def __init__(self, root: Path, sources: dict):
        self.root = root
        self.sources = sources
        self.count = 0

    def __call__(self, spec: dict, extension: str | None = None, still_at: float = 0.0) -> Path:
        result = validate(spec)
        assert result.ok, [v.as_dict() for v in result.errors]
        plan = build_plan(result.normalized, self.sources)
        self.count += 1
        output = self.root / f"out{self.count}.{extension or result.normalized['output_format']}"
        command = compile_ffmpeg(plan, output, workdir=self.root / f"work{self.count}", still_at=still_at)
        asyncio.run(run_ffmpeg(command.argv, plan.canvas.duration, feeds=command.feeds))
        return output
