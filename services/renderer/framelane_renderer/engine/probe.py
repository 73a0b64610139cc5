"""Media facts about a local source file, read with ffprobe."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from fractions import Fraction

from .catalog import LIMITS


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
    pix_fmt: str | None = None


def _rate(text: str | None) -> float | None:
    try:
        value = Fraction(text) if text else None
    except (ValueError, ZeroDivisionError):
        return None
    return float(value) if value else None


def probe(path: str, timeout: float = 30.0) -> SourceInfo:
    """Run ffprobe on `path` and summarise its first video and audio streams. Frames over
    LIMITS["source_max_pixels"] are refused before anything decodes them (a few bytes can declare
    huge ones). Messages never name the local path."""
    command = [
        "ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path,
    ]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ProbeError("ffprobe timed out on the source") from exc
    if completed.returncode != 0:
        raise ProbeError(completed.stderr.strip().replace(path, "the source") or "ffprobe failed on the source")
    data = json.loads(completed.stdout or "{}")
    streams = data.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    if video is not None and not (video.get("width") and video.get("height")):
        video = None  # no frame size FFmpeg accepts (e.g. 100k x 100k declared): nothing to decode
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    if video is None and audio is None:
        raise ProbeError("no decodable audio or video stream in the source")
    if video is not None and video["width"] * video["height"] > LIMITS["source_max_pixels"]:
        raise ProbeError(f"frames of {video['width']}x{video['height']} are over the limit of "
                         f"{LIMITS['source_max_pixels']} pixels")
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
        pix_fmt=video.get("pix_fmt") if video else None,
    )
