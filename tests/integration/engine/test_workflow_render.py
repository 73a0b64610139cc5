"""Workflow specs rendered by the real engine and FFmpeg: a music video whose cuts land on the beats
librosa found in a synthetic click track, and an e-commerce video whose frames show the product and
its copy."""

from __future__ import annotations

import re
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
from engine_media import Renderer, ffprobe
from PIL import Image, ImageDraw

from framelane_renderer.engine import probe
from framelane_tasks.workflows import audio, ecommerce, layout, music_video, musicbed, prompt
from framelane_tasks.workflows.inputs import AudioInput, ImageInput
from framelane_tasks.workflows.srt import parse_srt

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")

BPM = 120
TRACK_SECONDS = 20.0
FIRST_CLICK = 0.25
FPS = 30
SRT = """1
00:00:01,000 --> 00:00:03,000
Every cut on a beat

2
00:00:05,000 --> 00:00:07,500
Hard cuts only
"""


def click_track(path: Path, seconds: float, bpm: float) -> np.ndarray:
    """A 44.1 kHz WAV of short 1.5 kHz clicks on every beat over soft noise; returns the click times."""
    rate = 44100
    rng = np.random.default_rng(11)
    samples = rng.normal(0, 0.02, round(seconds * rate))
    times = np.arange(FIRST_CLICK, seconds, 60 / bpm)
    length = round(0.03 * rate)
    click = 0.8 * np.exp(-np.arange(length) / (0.004 * rate)) * np.sin(2 * np.pi * 1500 * np.arange(length) / rate)
    for t in times:
        start = round(t * rate)
        samples[start:start + length] += click[: len(samples) - start]
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return times


@pytest.fixture(scope="module")
def track(tmp_path_factory) -> tuple[Path, np.ndarray, audio.AudioAnalysis]:
    """The click track, its true beat times and librosa's analysis of it."""
    path = tmp_path_factory.mktemp("track") / "beat.wav"
    truth = click_track(path, TRACK_SECONDS, BPM)
    return path, truth, audio.analyze(path)


def write_image(path: Path, size: tuple[int, int], background, shape: str, color) -> Path:
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    w, h = size
    box = (w // 4, h // 4, 3 * w // 4, 3 * h // 4)
    {"circle": draw.ellipse, "square": draw.rectangle}.get(shape, draw.rectangle)(box, fill=color)
    if shape == "triangle":
        draw.rectangle(box, fill=background)
        draw.polygon([(w // 2, h // 4), (3 * w // 4, 3 * h // 4), (w // 4, 3 * h // 4)], fill=color)
    image.save(path)
    return path


def frame_at(path: Path, seconds: float, width: int, height: int) -> np.ndarray:
    """The RGB frame shown at `seconds`."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", f"{seconds}", "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
         "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(height, width, 3).astype(int)


def scene_changes(path: Path, threshold: float = 0.3) -> list[float]:
    """Times of the frames FFmpeg's scene detector scores above `threshold`."""
    err = subprocess.run(
        ["ffmpeg", "-hide_banner", "-i", str(path), "-vf", f"select='gt(scene,{threshold})',showinfo", "-an",
         "-f", "null", "-"], capture_output=True, text=True, check=True).stderr
    return [float(t) for t in re.findall(r"pts_time:([\d.]+)", err)]


def streams(info: dict) -> dict[str, dict]:
    return {s["codec_type"]: s for s in info["streams"]}


def test_beats_of_a_click_track_are_found_within_25_ms(track):
    _, truth, analysis = track
    errors = [np.min(np.abs(truth - beat)) for beat in analysis.beats]
    assert len(analysis.beats) >= 0.9 * len(truth)
    assert np.median(errors) <= 0.025 and max(errors) <= 0.035
    assert analysis.tempo == pytest.approx(BPM, abs=1.5) and analysis.duration == pytest.approx(TRACK_SECONDS, abs=0.01)


def test_music_video_cuts_land_on_the_beats(track, tmp_path):
    path, _, analysis = track
    root = tmp_path / "media"
    root.mkdir()
    looks = [((12, 12, 12), "circle", (255, 255, 255)), ((245, 245, 245), "square", (0, 0, 0)),
             ((220, 30, 30), "triangle", (30, 30, 230))]
    images, sources = [], {}
    for index, (background, shape, color) in enumerate(looks):
        url = f"https://media.test/shot{index}.png"
        sources[url] = probe(str(write_image(root / f"shot{index}.png", (640, 480), background, shape, color)))
        images.append(ImageInput(url, 640, 480))
    sources["https://media.test/beat.wav"] = probe(str(path))
    params = {"style": "punchy hard cuts", "aspect_ratio": "16:9", "resolution": "540p", "add_subtitle": True,
              "language": "en"}
    spec = music_video.compile(params, images, AudioInput("https://media.test/beat.wav", analysis.duration), analysis,
                               parse_srt(SRT))
    shots = [e for e in spec["elements"] if e["type"] == "image"]
    assert spec["metadata"]["style"] == "punchy" and spec["transitions"] == []
    assert any(e["type"] == "text" for e in spec["elements"])

    out = Renderer(tmp_path, sources)(spec)

    cuts = scene_changes(out)
    assert len(cuts) == len(shots) - 1
    for cut in cuts:
        assert min(abs(cut - beat) for beat in analysis.beats) <= 1 / FPS + 1e-3, cut
    info = ffprobe(out)
    video, sound = streams(info)["video"], streams(info)["audio"]
    assert (video["width"], video["height"]) == (960, 540)
    assert float(info["format"]["duration"]) == pytest.approx(TRACK_SECONDS, abs=0.1)
    assert float(sound["duration"]) == pytest.approx(TRACK_SECONDS, abs=0.1)


def test_ecommerce_video_shows_the_product_and_its_copy(tmp_path):
    root = tmp_path / "media"
    root.mkdir()
    duration = 15
    colours = [(255, 140, 0), (0, 170, 255)]
    images, sources = [], {}
    for index, colour in enumerate(colours):
        url = f"https://media.test/product{index}.png"
        image = write_image(root / f"product{index}.png", (600, 800), colour, "square", (255, 255, 255))
        sources[url] = probe(str(image))
        images.append(ImageInput(url, 600, 800))
    bed = musicbed.synthesize(root / "bed.wav", duration)
    sources["https://media.test/bed.wav"] = probe(str(bed))
    copy = prompt.extract('Launch ad for "Aurora Buds", only $49. Shop now')
    spec = ecommerce.compile({"duration": duration, "aspect_ratio": "9:16", "language": "en"}, images,
                             AudioInput("https://media.test/bed.wav", duration), copy, short_side=540)
    width, height = spec["width"], spec["height"]
    assert (width, height) == (540, 960)

    out = Renderer(tmp_path, sources)(spec)

    info = ffprobe(out)
    assert (streams(info)["video"]["width"], streams(info)["video"]["height"]) == (540, 960)
    assert float(info["format"]["duration"]) == pytest.approx(duration, abs=0.1) and "audio" in streams(info)
    area = layout.SAFE_AREAS["9:16"]
    product_y = round((area.product_top + area.product_bottom) / 2 * height)
    title_band = slice(round((area.title_y - 0.03) * height), round((area.title_y + 0.03) * height))

    def white_pixels(frame: np.ndarray, rows: slice) -> int:
        return int(np.sum(np.all(frame[rows] > 235, axis=2)))

    for seconds, colour in ((2.0, colours[0]), (8.0, colours[1])):
        frame = frame_at(out, seconds, width, height)
        box = next(e for e in spec["elements"] if e.get("id") == f"product_0{colours.index(colour)}")
        edge = width // 2 - box["width"] // 2 + box["width"] // 8  # inside the product, left of its white square
        assert np.all(np.abs(frame[product_y, edge] - colour) <= 30), (seconds, frame[product_y, edge])
    # The title is white copy above the product while it shows, and gone once the price takes over.
    assert white_pixels(frame_at(out, 2.0, width, height), title_band) > 150
    assert white_pixels(frame_at(out, 8.0, width, height), title_band) == 0
    badge_rows = slice(round((area.badge_y - 0.02) * height), round((area.badge_y + 0.02) * height))
    brand = np.array([int(ecommerce.BRAND_COLOR[i:i + 2], 16) for i in (1, 3, 5)])
    price_frame = frame_at(out, 8.0, width, height)
    assert np.sum(np.all(np.abs(price_frame[badge_rows] - brand) <= 30, axis=2)) > 300
    end_card = frame_at(out, duration - 0.5, width, height)
    assert np.sum(np.all(np.abs(end_card - brand) <= 30, axis=2)) > 300  # the CTA button
    assert white_pixels(end_card, slice(0, height)) > 300
