"""The task processors on generated media, without the mesh."""

import asyncio
import shutil
import subprocess
import time

import pytest

from framelane_renderer.engine import RenderCancelled, probe
from framelane_tasks.processors import super_resolution, transcribe


async def no_progress(percent, stage):
    pass


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


async def test_odd_sized_video_is_upscaled_to_even_sides_and_jpeg_stays_jpeg(tmp_path):
    src = tmp_path / "odd.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=80x44:r=10:d=1,scale=81:45", "-c:v", "libx264", "-pix_fmt", "yuv444p", str(src))
    result = await super_resolution.run(src, {"scale": 3}, tmp_path, no_progress, asyncio.Event())
    info = probe(str(result.main))
    assert (info.width, info.height, info.has_audio) == (242, 134, False)
    assert (result.facts["width"], result.facts["height"]) == (242, 134)
    jpg = tmp_path / "a.jpg"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=64x48", "-frames:v", "1", str(jpg))
    out = tmp_path / "jpg"
    out.mkdir()
    result = await super_resolution.run(jpg, {"scale": 4}, out, no_progress, asyncio.Event())
    assert result.format == "jpg" and (result.facts["width"], result.facts["height"]) == (256, 192)


@pytest.mark.skipif(not shutil.which("espeak-ng"), reason="espeak-ng not installed")
async def test_transcription_stops_soon_after_a_cancel(tmp_path):
    wav = tmp_path / "long.wav"
    subprocess.run(["espeak-ng", "-s", "130", "-w", str(wav), " ".join(f"sentence number {i} is about {w} things." for i, w in enumerate(
        ["red", "blue", "green", "small", "large", "quiet", "loud", "fast", "slow", "old", "new", "odd"]))],
                   check=True)
    cancel = asyncio.Event()

    async def no_progress(percent, stage):
        pass

    async def cancel_while_decoding() -> float:
        await asyncio.sleep(2.5)  # the child has loaded whisper and is inside a decoding window
        cancel.set()
        return time.monotonic()

    canceller = asyncio.create_task(cancel_while_decoding())
    with pytest.raises(RenderCancelled):
        await transcribe.run(wav, {"word_timings": True}, tmp_path, no_progress, cancel)
    assert time.monotonic() - await canceller < 2.0  # the decoder is killed, not waited for
    await asyncio.sleep(0.2)
    assert not subprocess.run(["pgrep", "-f", f"processors.transcribe {tmp_path}"], capture_output=True).stdout
