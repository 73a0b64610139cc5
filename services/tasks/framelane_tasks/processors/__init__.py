"""Task processors: one module per supported task type. Each takes the fetched source, the
normalized params, a work folder, a progress callback and a cancel event, and returns the files
to store with the facts of the output."""

from dataclasses import dataclass, field
from pathlib import Path


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
