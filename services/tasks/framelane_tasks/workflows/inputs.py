"""The fetched and probed inputs a workflow compiler works from (URLs as the render will use them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageInput:
    """An image the video shows, with its pixel size (needed to fit it without cropping)."""

    url: str
    width: int
    height: int


@dataclass(frozen=True)
class AudioInput:
    """A soundtrack and its length in seconds."""

    url: str
    duration: float
