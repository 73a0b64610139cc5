"""Fixtures for render-engine tests: small generated sources, a render helper and frame probes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from engine_media import FPS, H, W, Renderer, url
from PIL import Image

from framelane_renderer.engine import probe

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> dict[str, Path]:
    """Generated sources: solid-colour clips with tones, a silent clip, images and a tone track."""
    root = tmp_path_factory.mktemp("media")
    files = {}
    for name, color, freq in (("red", "red", 440), ("blue", "blue", 660), ("green", "0x00ff00", 550)):
        path = root / f"{name}.mp4"
        _ffmpeg("-f", "lavfi", "-i", f"color=c={color}:s={W}x{H}:r={FPS}:d=4",
                "-f", "lavfi", "-i", f"sine=frequency={freq}:sample_rate=48000:duration=4",
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p", "-qp", "0",
                "-c:a", "aac", "-shortest", str(path))
        files[name] = path
    # A clip whose colour says the time: the grey level is 20 + 20 * (whole seconds).
    steps = root / "steps.mp4"
    _ffmpeg("-f", "lavfi", "-i", f"color=c=black:s={W}x{H}:r={FPS}:d=6",
            "-vf", "geq=lum='20+20*floor(T)':cb=128:cr=128",
            "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv444p", str(steps))
    files["steps"] = steps
    silent = root / "silent.mp4"
    _ffmpeg("-f", "lavfi", "-i", f"color=c=white:s={W}x{H}:r={FPS}:d=3",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p", "-qp", "0", str(silent))
    files["white"] = silent
    tone = root / "tone.wav"
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000:duration=6", str(tone))
    files["tone"] = tone
    quadrants = np.zeros((H, W, 3), np.uint8)
    quadrants[: H // 2, : W // 2] = (255, 0, 0)
    quadrants[: H // 2, W // 2 :] = (0, 255, 0)
    quadrants[H // 2 :, : W // 2] = (0, 0, 255)
    quadrants[H // 2 :, W // 2 :] = (255, 255, 255)
    files["quadrants"] = root / "quadrants.png"
    Image.fromarray(quadrants).save(files["quadrants"])
    gradient = np.tile(np.linspace(0, 255, W, dtype=np.uint8), (H, 1))
    files["gradient"] = root / "gradient.png"
    Image.fromarray(np.stack([gradient, np.full_like(gradient, 128), 255 - gradient], axis=2)).save(files["gradient"])
    logo = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    logo.paste((255, 255, 0, 255), (10, 10, 30, 30))
    files["logo"] = root / "logo.png"
    logo.save(files["logo"])
    squares = ((np.indices((H, W)) // 10).sum(axis=0) % 2).astype(np.uint8)
    pattern = np.stack([gradient, 255 - gradient, np.full_like(gradient, 60)], axis=2)
    pattern[squares == 1] = 255 - pattern[squares == 1]
    files["pattern"] = root / "pattern.png"
    Image.fromarray(pattern).save(files["pattern"])
    # Steep sawtooth ramps (12 levels a column, 24 a row), so that moving a pixel by one changes its colour.
    columns, rows = np.meshgrid(np.arange(W) * 12 % 256, np.arange(H) * 24 % 256)
    for name, planes in (("waves", (columns, rows, np.full_like(rows, 40))), ("waves_turned", (rows, 255 - columns, columns))):
        files[name] = root / f"{name}.png"
        Image.fromarray(np.stack(planes, axis=2).astype(np.uint8)).save(files[name])
    for name in ("orange", "gray"):
        color = (255, 128, 0) if name == "orange" else (128, 128, 128)
        files[name] = root / f"{name}.png"
        Image.new("RGB", (W, H), color).save(files[name])
    return files


@pytest.fixture(scope="session")
def sources(media) -> dict:
    """SourceInfo for every generated source, keyed by its URL."""
    return {url(name): probe(str(path)) for name, path in media.items()}


@pytest.fixture
def render(tmp_path, sources) -> Renderer:
    """Render a spec and return the output path."""
    return Renderer(tmp_path, sources)
