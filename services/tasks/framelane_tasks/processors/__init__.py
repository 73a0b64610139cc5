"""Task processors: one module per supported task type. Each takes the fetched source, the
normalized params, a work folder, a progress callback and a cancel event, and returns the files
to store with the facts of the output."""

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

LOG_TAIL_BYTES = 2000


class TaskFailed(Exception):
    """The task cannot be done with this source: (code, message) become the job's error."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Result:
    """Files to store: `main` is the output (`key`), `renditions` extra ones (`<name>_key`)."""

    main: Path
    format: str
    facts: dict = field(default_factory=dict)
    renditions: dict[str, Path] = field(default_factory=dict)


class ModelRunnerError(Exception):
    """A model's child process failed or is not installed (not the source's fault)."""


async def run_child(argv: list[str], log: Path, cancel: asyncio.Event, env: dict | None = None,
                    stdout=asyncio.subprocess.DEVNULL) -> None:
    """Runs a model's child process to completion (its stderr into `log`); a cancel kills it at
    once, since inference cannot be interrupted from outside and its output is thrown away then.
    ModelRunnerError with the log's tail when it fails."""
    from framelane_renderer.engine import RenderCancelled  # noqa: PLC0415 - the engine's cancel, shared by workers

    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL, stdout=stdout,
                                                       stderr=stderr, env=env)
    waiter, cancelled = asyncio.ensure_future(process.wait()), asyncio.ensure_future(cancel.wait())
    try:
        done, _ = await asyncio.wait({waiter, cancelled}, return_when=asyncio.FIRST_COMPLETED)
        if waiter not in done:
            raise RenderCancelled("task cancelled")
    finally:
        cancelled.cancel()
        if process.returncode is None:
            process.kill()
            await process.wait()
    if process.returncode != 0:
        tail = log.read_bytes()[-LOG_TAIL_BYTES:].decode(errors="replace")
        raise ModelRunnerError(f"{Path(argv[0]).name} {' '.join(argv[1:3])} exited with {process.returncode}: {tail}")
