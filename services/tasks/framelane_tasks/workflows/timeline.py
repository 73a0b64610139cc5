"""Shots on a frame grid, placed so that each visual change lands on a chosen frame.

The engine (renderer `engine/plan.py`) starts a transition when its incoming element starts and
runs it for its duration, lengthening the outgoing element to cover it. The change a viewer sees
is the transition's midpoint, so an incoming shot starts half a transition before its change
frame; transitions have an even number of frames to put that midpoint exactly on the frame. A
hard cut (no transition) changes on the incoming shot's first frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

FPS = 30


@dataclass(frozen=True)
class Shot:
    """One shot in frames: its element starts at `start`, the next one at `end`.

    `lead` is the length of the transition into the shot (0 for a cut or the first shot), `tail`
    of the one out of it: the engine keeps the shot visible until `end + tail`.
    """

    start: int
    end: int
    lead: int
    tail: int


def seconds(frame: int, fps: int = FPS) -> float:
    """A frame number as timeline seconds (rounded to the microsecond the compiler prints)."""
    return round(frame / fps, 6)


def frame_count(duration: float, fps: int = FPS) -> int:
    """Frames the engine renders for a timeline of `duration` seconds."""
    return max(1, math.ceil(duration * fps - 1e-6))


def place(changes: list[int], total: int, wanted: list[int]) -> list[Shot]:
    """Shots changing at `changes` (ascending frames, the first 0) on a timeline of `total` frames.

    `wanted[i]` is the transition length asked for at `changes[i + 1]` (0 = a cut). Each is cut to
    an even number of frames below half of both shots it joins, which also keeps consecutive
    transitions from overlapping; one that would be under 2 frames becomes a cut.
    """
    lengths = [b - a for a, b in zip(changes, [*changes[1:], total])]
    leads = [0]
    for index, asked in enumerate(wanted, start=1):
        room = (min(lengths[index - 1], lengths[index]) - 1) // 2
        frames = min(asked, room)
        frames -= frames % 2
        leads.append(frames if frames >= 2 else 0)
    starts = [change - lead // 2 for change, lead in zip(changes, leads)]
    ends = [*starts[1:], total]
    tails = [*leads[1:], 0]
    return [Shot(s, e, lead, tail) for s, e, lead, tail in zip(starts, ends, leads, tails)]


def timing(shot: Shot, duration: float, extend: bool = False, fps: int = FPS) -> dict:
    """The element's `time` and `duration` for a shot; `extend` includes its outgoing transition."""
    time = seconds(shot.start, fps)
    end = shot.end + (shot.tail if extend else 0)
    length = seconds(end - shot.start, fps) if seconds(end, fps) <= duration else round(duration - time, 6)
    return {"time": time, "duration": length}


def transitions(ids: list[str], shots: list[Shot], types: tuple[str, ...], fps: int = FPS) -> list[dict]:
    """Transitions joining consecutive shots, cycling `types` over the cuts (none where a shot cuts)."""
    joined = []
    for index in range(1, len(shots)):
        if shots[index].lead and types:
            joined.append({
                "type": types[(index - 1) % len(types)], "duration": seconds(shots[index].lead, fps),
                "from_id": ids[index - 1], "to_id": ids[index],
            })
    return joined
