"""Media facts about a local source file, read with ffprobe."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from fractions import Fraction


class ProbeError(Exception):
    """ffprobe could not read the file as media."""


@dataclass(frozen=True)
class SourceInfo:
    """What the planner needs to know about one fetched source."""

    path: str
    duration: float | None
    width: int | None
    height: int | None
    fps: float | None
    has_video: bool
    has_audio: bool
    video_codec: str | None
    audio_codec: str | None
    format_name: str


def _rate(text: str | None) -> float | None:
    try:
        value = Fraction(text) if text else None
    except (ValueError, ZeroDivisionError):
        return None
    return float(value) if value else None


def probe(path: str, timeout: float = 30.0) -> SourceInfo:
    """Run ffprobe on `path` and summarise its first video and audio streams."""
    command = [
        "ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path,
    ]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ProbeError(f"ffprobe timed out on {path}") from exc
    if completed.returncode != 0:
        raise ProbeError(completed.stderr.strip() or f"ffprobe failed on {path}")
    data = json.loads(completed.stdout or "{}")
    streams = data.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    if video is None and audio is None:
        raise ProbeError(f"no audio or video stream in {path}")
    fmt = data.get("format", {})
    duration_text = fmt.get("duration") or (video or audio or {}).get("duration")
    return SourceInfo(
        path=path,
        duration=float(duration_text) if duration_text not in (None, "N/A") else None,
        width=int(video["width"]) if video and video.get("width") else None,
        height=int(video["height"]) if video and video.get("height") else None,
        fps=_rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate")) if video else None,
        has_video=video is not None,
        has_audio=audio is not None,
        video_codec=video.get("codec_name") if video else None,
        audio_codec=audio.get("codec_name") if audio else None,
        format_name=fmt.get("format_name", ""),
    )
