"""super-resolution model "enhance" (Real-ESRGAN, real ncnn models on the CPU) on generated media,
without the mesh: PSNR against the original of a downscaled title card, compared with plain bicubic,
on an image and on a short video; exact sizes; audio passed through; codec family; cancel."""

import asyncio
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from framelane_renderer.engine import RenderCancelled, probe
from framelane_tasks.processors import super_resolution

# Titles and graphics, the content the animevideov3 networks are made for: they beat bicubic by 1–2 dB
# when strokes survive the downscale. On photographs (and on text too small to survive) they score
# up to 0.5 dB under it in PSNR, with sharper edges and smoothed texture: see the README.
WORDS = ["Framelane", "upscales", "titles", "and", "captions", "in", "video", "0123456789"]


async def no_progress(percent, stage):
    pass


def ffmpeg(*args, stdin: bytes | None = None) -> bytes:
    return subprocess.run(["ffmpeg", "-v", "error", "-y", *args], input=stdin, capture_output=True, check=True).stdout


def title_card(width: int, height: int, shift: int = 0) -> np.ndarray:
    """Title-size dark text on a light card with outlined shapes; `shift` pans it (video frames)."""
    card = Image.new("RGB", (width, height), (236, 230, 214))
    draw = ImageDraw.Draw(card)
    font = ImageFont.load_default(size=height // 6)
    step = height // 5
    for i, y in enumerate(range(4 - shift % step, height, step)):
        draw.text((6 + 5 * (i % 3) - shift, y), " ".join(WORDS[i % 8:] + WORDS[:i % 8]), fill=(25 + 25 * (i % 5), 30, 90),
                  font=font)
    draw.ellipse((width * 0.6, height * 0.55, width * 0.95, height * 0.95), outline=(200, 20, 20), width=4)
    draw.rectangle((width * 0.08, height * 0.7, width * 0.4, height * 0.92), fill=(30, 120, 200), outline=(0, 0, 0),
                   width=3)
    return np.asarray(card)


def frames(data: bytes, width: int, height: int) -> np.ndarray:
    return np.frombuffer(data, np.uint8).reshape(-1, height, width, 3).astype(float)


def decode(path: Path, width: int, height: int) -> np.ndarray:
    return frames(ffmpeg("-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"), width, height)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255**2 / np.mean((a - b) ** 2)))


async def enhance(source: Path, scale: int, workdir: Path):
    workdir.mkdir()
    return await super_resolution.run(source, {"scale": scale, "model": "enhance"}, workdir, no_progress,
                                       asyncio.Event())


@pytest.mark.parametrize("scale", [2, 4])
async def test_enhanced_image_beats_bicubic_in_psnr_at_the_exact_size(tmp_path, scale):
    original = title_card(256, 256)
    small = tmp_path / "small.png"
    Image.fromarray(original).resize((256 // scale, 256 // scale), Image.BICUBIC).save(small)
    result = await enhance(small, scale, tmp_path / "out")
    assert result.format == "png" and result.facts == {"width": 256, "height": 256, "duration": None,
                                                       "model": f"realesr-animevideov3-x{scale}"}
    up = np.asarray(Image.open(result.main)).astype(float)
    assert up.shape == (256, 256, 3)
    bicubic = np.asarray(Image.open(small).resize((256, 256), Image.BICUBIC)).astype(float)
    assert psnr(up, original) > psnr(bicubic, original) + 0.5


async def test_enhanced_video_beats_bicubic_keeps_its_audio_and_codec(tmp_path):
    cards = np.stack([title_card(256, 144, shift=2 * i) for i in range(8)])
    small = tmp_path / "small.mp4"  # the originals at half size, H.264 with AAC audio
    ffmpeg("-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "256x144", "-framerate", "8", "-i", "-",
           "-f", "lavfi", "-i", "sine=f=440:d=1", "-vf", "scale=128:72:flags=bicubic", "-c:v", "libx264",
           "-crf", "12", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(small), stdin=cards.tobytes())
    result = await enhance(small, 2, tmp_path / "out")
    info = probe(str(result.main))
    assert (result.format, info.video_codec, info.width, info.height) == ("mp4", "h264", 256, 144)
    assert result.facts["model"] == "realesr-animevideov3-x2" and abs(result.facts["duration"] - 1.0) < 0.05
    audio_md5 = [ffmpeg("-i", str(p), "-map", "0:a", "-c", "copy", "-f", "md5", "-") for p in (small, result.main)]
    assert audio_md5[0] == audio_md5[1]  # the AAC packets themselves, not a re-encode
    up = decode(result.main, 256, 144)
    bicubic = tmp_path / "bicubic.mp4"  # the same encoder settings, so only the upscaler differs
    ffmpeg("-i", str(small), "-vf", "scale=256:144:flags=bicubic", "-c:v", "libx264", "-preset", "veryfast",
           "-crf", "18", "-pix_fmt", "yuv420p", str(bicubic))
    assert len(up) == len(cards)
    assert psnr(up, cards) > psnr(decode(bicubic, 256, 144), cards) + 0.5


async def test_webm_stays_vp9_odd_sides_become_even_and_alpha_is_kept(tmp_path):
    webm = tmp_path / "odd.webm"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=44x26:r=5:d=0.6,scale=45:27", "-f", "lavfi", "-i", "sine=d=0.6",
           "-c:v", "libvpx-vp9", "-c:a", "libopus", "-shortest", str(webm))
    result = await enhance(webm, 3, tmp_path / "webm")
    info = probe(str(result.main))
    assert (result.format, info.video_codec, info.audio_codec, info.width, info.height) == (
        "webm", "vp9", "opus", 134, 80)
    assert result.facts["model"] == "realesr-animevideov3-x3"

    logo = tmp_path / "logo.png"
    rgba = np.zeros((40, 60, 4), np.uint8)
    rgba[8:32, 10:50] = (200, 40, 40, 255)
    Image.fromarray(rgba).save(logo)
    result = await enhance(logo, 1, tmp_path / "logo")
    out = Image.open(result.main)
    assert (out.mode, out.size, result.facts["model"]) == ("RGBA", (60, 40), "realesr-animevideov3-x2")
    alpha = np.asarray(out)[..., 3]
    assert alpha[20, 30] == 255 and alpha[2, 2] == 0


async def test_a_gpu_node_without_a_vulkan_device_runs_on_the_cpu(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "nvidia-smi"  # nvidia-smi answers, but no Vulkan driver is installed
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho '0, 0, 0'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    card = tmp_path / "card.png"
    Image.fromarray(title_card(64, 48)).save(card)
    result = await enhance(card, 2, tmp_path / "out")
    assert Image.open(result.main).size == (128, 96)


def _processes_using(path: Path) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(path) in text:
            found.append(text)
    return found


async def test_a_cancel_stops_decoder_model_and_encoder_within_two_seconds(tmp_path):
    clip = tmp_path / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=8", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(clip))
    cancel = asyncio.Event()
    workdir = tmp_path / "work"
    workdir.mkdir()
    job = asyncio.create_task(super_resolution.run(clip, {"scale": 4, "model": "enhance"}, workdir, no_progress, cancel))
    for _ in range(100):  # decoder, model runner and encoder all started
        await asyncio.sleep(0.1)
        if len(_processes_using(workdir)) == 3:
            break
    await asyncio.sleep(0.5)  # the runner is inside a frame (about a second each here)
    assert not job.done() and len(_processes_using(workdir)) == 3
    cancel.set()
    started = time.monotonic()
    with pytest.raises(RenderCancelled):
        await job
    assert time.monotonic() - started < 2.0
    assert _processes_using(workdir) == []
