"""ffmpeg process handling (progress, cancellation, errors), previews and poster frames."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import time

import pytest
from engine_media import H, W, close, frames, pixel, spec_with, step_grey, url

from framelane_renderer.engine import (
    Feed, FfmpegError, RenderCancelled, build_plan, poster_time, preview_command, render_preview, run_ffmpeg,
    validate,
)
from framelane_renderer.engine.render import render as render_job


def lavfi_argv(output, seconds: float) -> list[str]:
    return ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-f", "lavfi", "-i", f"testsrc2=s=640x360:r=30:d={seconds}",
            "-c:v", "libx264", "-preset", "veryslow", str(output)]


def test_progress_is_reported_up_to_100(tmp_path):
    seen = []
    asyncio.run(run_ffmpeg(lavfi_argv(tmp_path / "p.mp4", 2)[:-3] + ["-preset", "ultrafast", str(tmp_path / "p.mp4")],
                           2.0, lambda percent, stage: seen.append((percent, stage))))
    assert seen[-1] == (100.0, "encoding")
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))


def test_cancel_stops_ffmpeg_within_two_seconds(tmp_path):
    async def scenario():
        cancel = asyncio.Event()
        task = asyncio.create_task(run_ffmpeg(lavfi_argv(tmp_path / "c.mp4", 600), 600.0, None, cancel))
        await asyncio.sleep(0.5)
        started = time.monotonic()
        cancel.set()
        with pytest.raises(RenderCancelled):
            await task
        return time.monotonic() - started

    assert asyncio.run(scenario()) < 2.0
    assert subprocess.run(["pgrep", "-f", str(tmp_path / "c.mp4")], capture_output=True).returncode == 1


def test_failure_raises_with_stderr(tmp_path):
    argv = ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-i", str(tmp_path / "missing.mp4"), str(tmp_path / "o.mp4")]
    with pytest.raises(FfmpegError) as failure:
        asyncio.run(run_ffmpeg(argv, 1.0))
    assert any("missing.mp4" in line for line in failure.value.stderr_tail)


def feed_argv(feed: Feed, output, before: tuple[str, ...] = (), frames: int | None = None) -> list[str]:
    """ffmpeg copying a feed of 8x8 RGBA frames to a raw file (after the inputs in `before`)."""
    limit = ["-frames:v", str(frames)] if frames else []
    return ["ffmpeg", "-hide_banner", "-nostdin", "-y", *before, "-f", "rawvideo", "-pixel_format", "rgba",
            "-video_size", "8x8", "-framerate", "10", "-i", str(feed.path), "-map", f"{len(before) // 2}:v",
            *limit, "-f", "rawvideo", "-pix_fmt", "rgba", str(output)]


def grey_frames(count: int | None = None):
    """8x8 RGBA frames whose grey level is their number (endless without `count`)."""
    return (bytes([n % 256] * 3 + [255]) * 64 for n in (range(count) if count else itertools.count()))


def test_a_feed_is_drawn_while_ffmpeg_reads_it(tmp_path):
    feed = Feed(tmp_path / "feed.rgba", lambda: grey_frames(40))
    asyncio.run(run_ffmpeg(feed_argv(feed, tmp_path / "out.rgba"), 4.0, feeds=[feed]))
    assert (tmp_path / "out.rgba").read_bytes() == b"".join(grey_frames(40))
    assert feed.path.is_fifo()


def test_ffmpeg_may_stop_reading_a_feed_early(tmp_path):
    """A still output takes the frames it needs; the rest of an endless feed is never drawn."""
    feed = Feed(tmp_path / "feed.rgba", grey_frames)
    asyncio.run(asyncio.wait_for(run_ffmpeg(feed_argv(feed, tmp_path / "out.rgba", frames=3), 1.0, feeds=[feed]), 20))
    assert (tmp_path / "out.rgba").read_bytes() == b"".join(grey_frames(3))


def test_a_failing_feed_stops_ffmpeg_and_raises_its_error(tmp_path):
    def broken():
        yield from grey_frames(3)
        raise ValueError("caption frame 3 could not be drawn")

    feed = Feed(tmp_path / "feed.rgba", broken)
    with pytest.raises(ValueError, match="caption frame 3"):
        asyncio.run(asyncio.wait_for(run_ffmpeg(feed_argv(feed, tmp_path / "out.rgba"), 1.0, feeds=[feed]), 20))
    assert subprocess.run(["pgrep", "-f", str(feed.path)], capture_output=True).returncode == 1


def test_a_feed_ffmpeg_never_opens_does_not_wait_for_it(tmp_path):
    """ffmpeg fails on an input before the feed's: the feed's thread gives up instead of waiting."""
    feed = Feed(tmp_path / "feed.rgba", grey_frames)
    argv = feed_argv(feed, tmp_path / "out.rgba", before=("-i", str(tmp_path / "missing.mp4")))
    started = time.monotonic()
    with pytest.raises(FfmpegError):
        asyncio.run(asyncio.wait_for(run_ffmpeg(argv, 1.0, feeds=[feed]), 20))
    assert time.monotonic() - started < 5


def test_cancel_stops_ffmpeg_reading_an_endless_feed(tmp_path):
    feed = Feed(tmp_path / "feed.rgba", grey_frames)

    async def scenario():
        cancel = asyncio.Event()
        task = asyncio.create_task(run_ffmpeg(feed_argv(feed, tmp_path / "out.rgba"), 600.0, None, cancel, [feed]))
        await asyncio.sleep(0.5)
        started = time.monotonic()
        cancel.set()
        with pytest.raises(RenderCancelled):
            await asyncio.wait_for(task, 20)
        return time.monotonic() - started

    assert asyncio.run(scenario()) < 2.0
    assert (tmp_path / "out.rgba").stat().st_size > 0


def test_preview_renders_the_frame_at_a_time(tmp_path, sources):
    spec = validate(spec_with({"type": "video", "source_url": url("steps")}, duration=4)).normalized
    plan = build_plan(spec, sources)
    path = asyncio.run(render_preview(plan, 3.2, tmp_path / "preview.png", tmp_path / "work"))
    assert close(pixel(frames(path)[0], 80, 45), step_grey(3), 8)
    assert "-frames:v" in preview_command(plan, 0, tmp_path / "x.png", tmp_path / "w2").argv


def test_render_job_and_poster(tmp_path, sources):
    spec = validate(spec_with({"type": "video", "source_url": url("steps")}, duration=3)).normalized
    output = tmp_path / "job.mp4"
    progress = []
    poster = tmp_path / "poster.jpg"
    plan = asyncio.run(render_job(spec, sources, output, lambda p, s: progress.append(p), poster_path=poster))
    assert output.exists() and progress[-1] == 100.0
    assert not (tmp_path / ".job.mp4.work").exists()
    assert poster_time(plan.canvas.duration) == 1.0
    assert close(pixel(frames(poster, W, H)[0], 80, 45), step_grey(1), 10)
    assert close(pixel(frames(output, W, H)[round(plan.canvas.fps)], 80, 45), step_grey(1), 10)
