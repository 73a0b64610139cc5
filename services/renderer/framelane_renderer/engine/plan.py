"""The render plan: a normalized spec resolved against its probed sources into timed, sized layers.

The plan holds numbers only (seconds, pixels, frame counts, local file paths); `compile.py` turns
it into one FFmpeg command.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from . import catalog
from .motions import Box, MotionWindow
from .probe import SourceInfo
from .text import TextSpec, text_spec
from .values import parse_angle, parse_color, parse_scale, resolve_dimension

# Two motion ends closer than this are taken to coincide with the element's start or end.
EDGE_TOLERANCE = 0.05


class PlanError(Exception):
    """The spec is valid but cannot be rendered with these sources."""

    def __init__(self, path: str, code: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Canvas:
    """The output frame and timeline."""

    width: int
    height: int
    fps: int
    duration: float
    frame_count: int
    background: tuple[int, int, int, int]
    background_image: str | None
    alpha: bool


@dataclass(frozen=True)
class Visual:
    """A visual element placed on the timeline: its source, timing, box and animation."""

    index: int
    kind: str
    element: dict
    start: float
    length: float
    frame_count: int
    box: Box
    source: str | None = None
    source_pix_fmt: str = ""  # as ffprobe names the decoded frames' format ("" when unknown or text)
    seek: float = 0.0
    read: float | None = None
    speed: float = 1.0
    rotation: float = 0.0
    opacity: float = 1.0
    fade_in: float = 0.0
    fade_out: float = 0.0
    motions: tuple[MotionWindow, ...] = ()
    text: TextSpec | None = None


@dataclass(frozen=True)
class AudioTrack:
    """One audio contribution (an audio element or a video element's sound)."""

    index: int
    source: str
    seek: float
    read: float | None
    start: float
    length: float
    speed: float
    volume: float
    fade_in: float
    fade_out: float


@dataclass(frozen=True)
class Chain:
    """Visual elements joined by transitions, composited as one layer."""

    members: tuple[Visual, ...]
    transitions: tuple[tuple[str, float], ...]  # (type, duration) between consecutive members
    z_index: int


@dataclass(frozen=True)
class Plan:
    """Everything the compiler needs; layers are listed bottom to top."""

    canvas: Canvas
    output_format: str
    layers: tuple[Visual | Chain, ...]
    audio: tuple[AudioTrack, ...]


def _source(sources: dict[str, SourceInfo], url: str, path: str) -> SourceInfo:
    info = sources.get(url)
    if info is None:
        raise PlanError(path, "source_not_found", f"no fetched source for {url}")
    return info


def _media_timing(element: dict, info: SourceInfo, path: str) -> tuple[float, float, float]:
    """(seek, source seconds read, timeline length) of a video or audio element."""
    in_point = float(element["in_point"])
    source_end = info.duration if info.duration is not None else None
    out_point = element["out_point"]
    if out_point is None:
        if source_end is None:
            raise PlanError(f"{path}.out_point", "invalid_source", "source duration unknown; give out_point")
        out_point = source_end
    if source_end is not None and in_point >= source_end:
        raise PlanError(f"{path}.in_point", "out_of_range", f"in_point is past the end of the source ({source_end:.3f} s)")
    read = float(out_point) - in_point
    length = element["duration"] if element.get("duration") is not None else read / element["speed"]
    return in_point, read, float(length)


def _box(element: dict, width: int, height: int) -> Box:
    base_w = resolve_dimension(element["width"], width)
    base_h = resolve_dimension(element["height"], height)
    if element.get("aspect_ratio"):
        base_h = base_w / element["aspect_ratio"]
    w = max(1.0, abs(base_w * parse_scale(element["x_scale"])))
    h = max(1.0, abs(base_h * parse_scale(element["y_scale"])))
    x = resolve_dimension(element["x"], width)
    y = resolve_dimension(element["y"], height)
    left = x - resolve_dimension(element["x_anchor"], w)
    top = y - resolve_dimension(element["y_anchor"], h)
    return Box(width, height, round(left), round(top), max(1, round(w)), max(1, round(h)))


def _motion_windows(element: dict, start: float, length: float) -> tuple[MotionWindow, ...]:
    windows = []
    for motion in element.get("motion", []):
        local = motion["time"] + motion["delay"] - start
        end = local + motion["duration"]
        at_start = abs(local) <= EDGE_TOLERANCE
        at_end = abs(end - length) <= EDGE_TOLERANCE
        exit = motion["type"] in catalog.EXIT_ONLY_MOTIONS or (at_end and not at_start)
        windows.append(MotionWindow(motion["type"], local, motion["duration"], motion["easing"], exit, motion["reversed"]))
    return tuple(windows)


def _visual(index: int, element: dict, canvas: Canvas, sources: dict[str, SourceInfo]) -> Visual | None:
    path = f"$.elements[{index}]"
    kind = element["type"]
    start = float(element["time"])
    fields: dict = {}
    if kind == "video":
        info = _source(sources, element["source_url"], f"{path}.source_url")
        if not info.has_video:
            raise PlanError(f"{path}.source_url", "invalid_source", "the source has no video stream")
        seek, read, length = _media_timing(element, info, path)
        fields = {"source": info.path, "source_pix_fmt": info.pix_fmt or "", "seek": seek, "read": read,
                  "speed": float(element["speed"]), "fade_in": float(element["fade_in_duration"]),
                  "fade_out": float(element["fade_out_duration"])}
    elif kind == "image":
        info = _source(sources, element["source_url"], f"{path}.source_url")
        if not info.has_video:
            raise PlanError(f"{path}.source_url", "invalid_source", "the source is not an image")
        length = float(element["duration"])
        fields = {"source": info.path, "source_pix_fmt": info.pix_fmt or ""}
    else:
        length = float(element["duration"])
        spec = text_spec(element, canvas.width, canvas.height)
        if not spec.style.font_path:
            raise PlanError(f"{path}.font_family", "invalid_request", "no font is installed on this renderer")
        fields = {"text": spec}
    length = min(length, canvas.duration - start)
    if length <= 0:
        return None
    return Visual(
        index=index, kind=kind, element=element, start=start, length=length,
        frame_count=max(1, round(length * canvas.fps)), box=_box(element, canvas.width, canvas.height),
        rotation=parse_angle(element["z_rotation"]) or 0.0, opacity=element["opacity"] / 100,
        motions=_motion_windows(element, start, length), **fields,
    )


def _audio_tracks(elements: list[dict], canvas: Canvas, sources: dict[str, SourceInfo]) -> list[AudioTrack]:
    tracks = []
    for index, element in enumerate(elements):
        if element["type"] not in ("audio", "video") or not element["visible"] or element["volume"] <= 0:
            continue
        path = f"$.elements[{index}]"
        info = _source(sources, element["source_url"], f"{path}.source_url")
        if not info.has_audio:
            if element["type"] == "audio":
                raise PlanError(f"{path}.source_url", "invalid_source", "the source has no audio stream")
            continue
        seek, read, length = _media_timing(element, info, path)
        start = float(element["time"])
        length = min(length, canvas.duration - start)
        if length <= 0:
            continue
        tracks.append(AudioTrack(
            index=index, source=info.path, seek=seek, read=read, start=start, length=length,
            speed=float(element["speed"]), volume=element["volume"] / 100,
            fade_in=float(element["fade_in_duration"]), fade_out=float(element["fade_out_duration"]),
        ))
    return tracks


def _infer_duration(spec: dict, sources: dict[str, SourceInfo]) -> float:
    end = 0.0
    for index, element in enumerate(spec["elements"]):
        if not element["visible"]:
            continue
        if element["type"] in ("video", "audio"):
            info = _source(sources, element["source_url"], f"$.elements[{index}].source_url")
            length = _media_timing(element, info, f"$.elements[{index}]")[2]
        else:
            length = element["duration"]
        end = max(end, element["time"] + length)
    if end <= 0:
        raise PlanError("$.duration", "required", "the duration cannot be inferred from an empty timeline")
    return end


def _extend(visual: Visual, length: float, fps: int, source_duration: float | None) -> Visual:
    """The visual lengthened to cover a transition; video reads further into its source if it can."""
    if length <= visual.length:
        return visual
    read = visual.read
    if visual.kind == "video" and read is not None and source_duration is not None:
        read = max(read, min(source_duration - visual.seek, length * visual.speed))
    return replace(visual, length=length, read=read, frame_count=max(1, round(length * fps)))


def _chains(spec: dict, visuals: dict[int, Visual], sources: dict[str, SourceInfo], fps: int) -> list[Chain]:
    by_id = {v.element["id"]: v for v in visuals.values() if v.element.get("id") is not None}
    following: dict[int, tuple[Visual, dict]] = {}
    has_incoming: set[int] = set()
    for transition in spec["transitions"]:
        source, target = by_id.get(transition["from_id"]), by_id.get(transition["to_id"])
        if source is None or target is None:
            continue
        following[source.index] = (target, transition)
        has_incoming.add(target.index)
    chains = []
    for head in sorted(set(following) - has_incoming):
        members = [visuals[head]]
        steps = []
        z_indexes = []
        while members[-1].index in following:
            target, transition = following[members[-1].index]
            steps.append((transition["type"], float(transition["duration"])))
            if transition["z_index"] is not None:
                z_indexes.append(transition["z_index"])
            members.append(target)
        z_index = max(z_indexes) if z_indexes else max(m.element["z_index"] for m in members)
        chains.append(_fit_chain(members, steps, z_index, sources, fps))
    return chains


def _fit_chain(
    members: list[Visual], steps: list[tuple[str, float]], z_index: int, sources: dict[str, SourceInfo], fps: int
) -> Chain:
    fitted = []
    for position, visual in enumerate(members):
        if position < len(steps):
            incoming = members[position + 1]
            duration = steps[position][1]
            if duration > incoming.length:
                raise PlanError(f"$.elements[{incoming.index}]", "invalid_transition",
                                "a transition is longer than its incoming element")
            if position + 1 < len(steps) and incoming.start + duration > members[position + 2].start:
                raise PlanError(f"$.elements[{members[position + 2].index}]", "invalid_transition",
                                "two transitions of one element overlap")
            needed = incoming.start + duration - visual.start
            info = sources.get(visual.element.get("source_url", ""))
            visual = _extend(visual, needed, fps, info.duration if info else None)
        fitted.append(visual)
    return Chain(tuple(fitted), tuple(steps), z_index)


def build_plan(spec: dict, sources: dict[str, SourceInfo]) -> Plan:
    """Resolve a normalized spec (from `validate`) and its probed sources into a Plan.

    `sources` maps every `source_url` (and `background_image_url`) to its local SourceInfo.
    """
    duration = spec["duration"] if spec["duration"] is not None else _infer_duration(spec, sources)
    if duration > catalog.LIMITS["duration"]["max"]:
        raise PlanError("$.duration", "limit_exceeded", f"the video would last {duration:.1f} s, over the limit")
    background_image = None
    if spec["background_image_url"]:
        background_image = _source(sources, spec["background_image_url"], "$.background_image_url").path
    fps = int(spec["frame_rate"])
    canvas = Canvas(
        width=int(spec["width"]), height=int(spec["height"]), fps=fps, duration=float(duration),
        frame_count=max(1, math.ceil(duration * fps - 1e-6)), background=parse_color(spec["background_color"]),
        background_image=background_image, alpha=bool(spec["alpha"]),
    )
    visuals: dict[int, Visual] = {}
    for index, element in enumerate(spec["elements"]):
        if element["type"] != "audio" and element["visible"]:
            visual = _visual(index, element, canvas, sources)
            if visual is not None:
                visuals[index] = visual
    chains = _chains(spec, visuals, sources, fps)
    in_chain = {member.index for chain in chains for member in chain.members}
    layers: list[tuple[tuple[int, int], Visual | Chain]] = []
    for index, visual in visuals.items():
        if index not in in_chain:
            layers.append(((visual.element["z_index"], -index), visual))
    for chain in chains:
        layers.append(((chain.z_index, -min(member.index for member in chain.members)), chain))
    layers.sort(key=lambda item: item[0])
    return Plan(
        canvas=canvas,
        output_format=spec["output_format"],
        layers=tuple(layer for _, layer in layers),
        audio=tuple(_audio_tracks(spec["elements"], canvas, sources)),
    )
