"""Raw frames in and out of the runner, and the facts line the worker reads."""

import json
import sys
from collections.abc import Iterator

import numpy as np


def read_frames(stream, width: int, height: int) -> Iterator[np.ndarray]:
    """rgb24 frames (H×W×3 uint8) from `stream` until EOF; a partial last frame is an error."""
    size = width * height * 3
    while True:
        data = stream.read(size)
        if not data:
            return
        while len(data) < size:  # a pipe may hand a frame over in pieces
            more = stream.read(size - len(data))
            if not more:
                raise EOFError(f"the input ended inside a frame ({len(data)} of {size} bytes)")
            data += more
        yield np.frombuffer(data, np.uint8).reshape(height, width, 3)


class Reporter:
    """Writes processed frames to `out` and, at the end, one `@facts {json}` line to stderr."""

    def __init__(self, out):
        self.out = out
        self.frames = 0

    def frame(self, pixels: np.ndarray) -> None:
        self.out.write(np.ascontiguousarray(pixels).data)
        self.frames += 1

    def facts(self, facts: dict) -> None:
        self.out.flush()
        sys.stderr.write(f"@facts {json.dumps(facts)}\n")
        sys.stderr.flush()
