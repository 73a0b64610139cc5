"""Running ffmpeg: progress from `-progress pipe:1`, cancellation, and errors with stderr."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from typing import Awaitable, Callable

STDERR_LINES = 20
KILL_GRACE_SECONDS = 1.0

ProgressCallback = Callable[[float, str], Awaitable[None] | None]


class FfmpegError(Exception):
    """ffmpeg exited with an error; `stderr_tail` holds its last stderr lines."""

    def __init__(self, returncode: int, stderr_tail: list[str]):
        super().__init__(f"ffmpeg exited with {returncode}: " + " | ".join(stderr_tail[-5:]))
        self.returncode = returncode
        self.stderr_tail = stderr_tail


class RenderCancelled(Exception):
    """The render was cancelled and ffmpeg was stopped."""


def _with_progress(argv: list[str]) -> list[str]:
    if "-progress" in argv:
        return argv
    return [argv[0], "-progress", "pipe:1", "-nostats", *argv[1:]]


async def _notify(callback: ProgressCallback | None, percent: float, stage: str) -> None:
    if callback is None:
        return
    result = callback(percent, stage)
    if asyncio.iscoroutine(result):
        await result


async def _read_progress(stream: asyncio.StreamReader, duration: float, callback: ProgressCallback | None) -> None:
    last = -1.0
    while line := await stream.readline():
        key, _, value = line.decode(errors="replace").strip().partition("=")
        if key == "out_time_us" and value.lstrip("-").isdigit() and duration > 0:
            percent = min(99.0, max(0.0, int(value) / 1e6 / duration * 100))
            if percent - last >= 1 or last < 0:
                last = percent
                await _notify(callback, round(percent, 1), "encoding")
        elif key == "progress" and value == "end":
            await _notify(callback, 100.0, "encoding")


async def _read_stderr(stream: asyncio.StreamReader, tail: collections.deque) -> None:
    while line := await stream.readline():
        tail.append(line.decode(errors="replace").rstrip())


async def run_ffmpeg(
    argv: list[str],
    duration: float,
    on_progress: ProgressCallback | None = None,
    cancel: asyncio.Event | None = None,
) -> None:
    """Run ffmpeg to completion, reporting (percent, stage) as output time advances.

    Setting `cancel` stops ffmpeg (terminate, then kill within 2 s) and raises RenderCancelled;
    a non-zero exit raises FfmpegError with the last stderr lines.
    """
    process = await asyncio.create_subprocess_exec(
        *_with_progress(argv), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    tail: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
    readers = asyncio.gather(_read_progress(process.stdout, duration, on_progress), _read_stderr(process.stderr, tail))
    waiter = asyncio.ensure_future(process.wait())
    cancelled = asyncio.ensure_future(cancel.wait()) if cancel is not None else None
    try:
        pending = {waiter} | ({cancelled} if cancelled else set())
        done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        if cancelled is not None and cancelled in done and waiter not in done:
            await _stop(process)
            raise RenderCancelled("render cancelled")
    finally:
        if cancelled is not None:
            cancelled.cancel()
        if process.returncode is None:
            await _stop(process)
        with contextlib.suppress(Exception):
            await readers
    if process.returncode != 0:
        raise FfmpegError(process.returncode, list(tail))


async def _stop(process: asyncio.subprocess.Process) -> None:
    """Terminate ffmpeg, and kill it if it has not exited within the grace period."""
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), KILL_GRACE_SECONDS)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
