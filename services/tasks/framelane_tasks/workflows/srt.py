"""SRT subtitles to word timings for caption tracks.

An SRT cue has one time span for a whole line, while a caption track highlights word by word, so
each cue's span is shared among its words in proportion to their length in characters: a rough
but steady stand-in for real word alignment. Files in the wild carry a BOM, CRLF line ends, dots
instead of commas before the milliseconds and missing cue numbers; all of these are accepted.
"""

from __future__ import annotations

import re

_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[,.](\d{1,3}))?"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}(?:\s.*)?$")
_MARKUP = re.compile(r"<[^>]*>|\{\\[^}]*\}")
EXAMPLE = "00:00:01,000 --> 00:00:02,500"


def _seconds(hours: str | None, minutes: str, seconds: str, fraction: str | None) -> float:
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + float(f"0.{fraction or 0}")


def _spread(text: str, start: float, end: float) -> list[dict]:
    """The cue's words with the cue's span shared by character count."""
    words = text.split()
    total = sum(len(word) for word in words)
    timed = []
    at = start
    for word in words:
        step = (end - start) * len(word) / total
        timed.append({"text": word, "start": round(at, 3), "end": round(at + step, 3)})
        at += step
    if timed:
        timed[-1]["end"] = round(end, 3)
    return timed


def _cues(text: str) -> list[tuple[float, float, str]]:
    """(start, end, text) of every cue; text after a blank line inside a cue stays with that cue."""
    lines = [line.strip() for line in text.splitlines()]
    cues: list[tuple[float, float, list[str]]] = []
    for number, line in enumerate(lines, start=1):
        if "-->" in line:
            match = _TIMING.match(line)
            if match is None:
                raise ValueError(f"SRT line {number}: malformed cue timing {line[:60]!r}; expected like {EXAMPLE!r}")
            groups = match.groups()
            start, end = _seconds(*groups[:4]), _seconds(*groups[4:])
            if end <= start:
                raise ValueError(f"SRT line {number}: the cue ends ({end:.3f} s) before it starts ({start:.3f} s)")
            cues.append((start, end, []))
            continue
        following = next((lines[j] for j in range(number, len(lines)) if lines[j]), "")
        if not line or (line.isdigit() and "-->" in following):
            continue  # blank, or the cue number of the next timing line
        if not cues:
            raise ValueError(f"SRT line {number}: text {line[:60]!r} before any cue timing like {EXAMPLE!r}")
        cues[-1][2].append(line)
    return [(start, end, " ".join(content)) for start, end, content in cues]


def parse_srt(text: str) -> list[dict]:
    """Word timings `[{"text", "start", "end"}]` (seconds, ascending) of an SRT document.

    Raises ValueError naming the line when the text is not SRT.
    """
    if not isinstance(text, str):
        raise ValueError("SRT input must be text")
    cues = _cues(text.lstrip("\ufeff"))
    if not cues:
        raise ValueError(f"not an SRT document: no cue timing line like {EXAMPLE!r} was found")
    words = []
    for start, end, content in sorted(cues, key=lambda cue: cue[0]):
        words.extend(_spread(_MARKUP.sub("", content), start, end))
    if not words:
        raise ValueError("the SRT document has cue timings but no subtitle text")
    return words
