"""Running ffmpeg: progress from `-progress pipe:1`, cancellation, errors with stderr, and feeds
of frames drawn in Python while it runs."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import fcntl
import os
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

STDERR_LINES = 20
KILL_GRACE_SECONDS = 1.0
FIFO_OPEN_POLL_SECONDS = 0.01
FIFO_BYTES = 1 << 20  # Linux's default ceiling for an unprivileged pipe

ProgressCallback = Callable[[float, str], Awaitable[None] | None]


@dataclass(frozen=True)
class Feed:
    """Frames drawn in Python that ffmpeg reads from `path` (an input of its argv).

    run_ffmpeg makes `path` a FIFO and writes the frames while ffmpeg runs; `write_file` draws
    them all into a regular file instead, to run the command by hand.
    """

    path: Path
    frames: Callable[[], Iterator[bytes]]

    def write_file(self) -> None:
        with open(self.path, "wb") as out:
            for frame in self.frames():
                out.write(frame)


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
    feeds: Sequence[Feed] = (),
) -> None:
    """Run ffmpeg to completion, reporting (percent, stage) as output time advances.

    Each of `feeds` becomes a FIFO that a thread fills with its frames while ffmpeg reads it.
    Setting `cancel` stops ffmpeg (terminate, then kill within 2 s) and raises RenderCancelled;
    a non-zero exit raises FfmpegError with the last stderr lines; a feed that fails stops
    ffmpeg and raises its error.
    """
    for feed in feeds:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(feed.path)  # what an earlier run in the same work directory left
        os.mkfifo(feed.path)
    process = await asyncio.create_subprocess_exec(
        *_with_progress(argv), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    tail: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
    readers = asyncio.gather(_read_progress(process.stdout, duration, on_progress), _read_stderr(process.stderr, tail))
    exited = threading.Event()
    feeders = [asyncio.ensure_future(asyncio.to_thread(_fill, feed, exited)) for feed in feeds]
    waiter = asyncio.ensure_future(process.wait())
    cancelled = asyncio.ensure_future(cancel.wait()) if cancel is not None else None
    try:
        pending = {waiter, *feeders} | ({cancelled} if cancelled else set())
        while waiter in pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            if waiter in done:
                break
            if cancelled in done:
                await _stop(process)
                raise RenderCancelled("render cancelled")
            for feeder in done:
                if feeder.exception() is not None:
                    raise feeder.exception()
    finally:
        if cancelled is not None:
            cancelled.cancel()
        if process.returncode is None:
            await _stop(process)
        exited.set()
        with contextlib.suppress(Exception):
            await readers
        await asyncio.gather(*feeders, return_exceptions=True)
    for feeder in feeders:  # a feed that broke off ends its input early: the output is wrong
        if feeder.exception() is not None:
            raise feeder.exception()
    if process.returncode != 0:
        raise FfmpegError(process.returncode, list(tail))


def _fill(feed: Feed, exited: threading.Event) -> None:
    """Write `feed`'s frames into its FIFO as ffmpeg reads them, until they end or ffmpeg exits.

    The FIFO is opened without blocking, retried until ffmpeg opens its end, so that the thread
    of an ffmpeg that exits before reading the feed is not left waiting for a reader.
    """
    while True:
        try:
            fd = os.open(feed.path, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError as err:
            if err.errno != errno.ENXIO:
                raise
        if exited.wait(FIFO_OPEN_POLL_SECONDS):
            return
    os.set_blocking(fd, True)
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, FIFO_BYTES)
    with contextlib.suppress(BrokenPipeError), open(fd, "wb") as out:  # broken: ffmpeg has exited
        for frame in feed.frames():
            out.write(frame)


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
