"""Compile a Plan into one FFmpeg command with one filter graph.

Every layer is decoded once, processed at its own size and overlaid onto the canvas; transitions
join canvas-sized layers with `xfade`, or `maskedmerge` with masks from a feed, over the frames
they blend; per-frame animation values are sent to filters with `sendcmd`, or given as expressions
to filters that take them (`zoompan`, `perspective`).
Text is drawn by `text.py`: static text into a TGA file in the work directory, caption frames into
a feed ffmpeg reads while it runs.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from . import catalog, text, transitions
from .effects import EffectContext
from .motions import Expr, MotionState, state_at
from .plan import Chain, Plan, Visual
from .run import Feed
from .values import ffmpeg_color

TRANSPARENT = "black@0"
MAX_STILL_OVERSCALE = 2.0  # a zooming still is fitted at up to twice its box (its largest zoom)
AUDIO_RATE = 48000
_OPAQUE_PIX = re.compile(r"^(yuvj?\d{3}p|nv\d\d|p0\d\d|p2\d\d|p4\d\d|gray|rgb24|bgr24|gbrp|rgb48|bgr48|0rgb|rgb0|bgr0|0bgr"
                         r"|x2rgb|x2bgr|yuyv|uyvy|rgb565|bgr565|rgb555|bgr555|monow|monob|y210|xv3)")


@dataclass(frozen=True)
class Command:
    """An ffmpeg argv and the feeds it reads."""

    argv: list[str]
    feeds: tuple[Feed, ...] = ()


@dataclass
class _Placed:
    """An element stream ready to overlay: its label and where its frame's corner sits."""

    label: str
    x: int
    y: int
    moves: bool


class _Graph:
    """Accumulates inputs and filter statements with unique labels."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.inputs: list[list[str]] = []
        self.statements: list[str] = []
        self.feeds: list[Feed] = []
        self._count = 0

    def input(self, args: list[str]) -> int:
        self.inputs.append(args)
        return len(self.inputs) - 1

    def label(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}{self._count}"

    def add(self, source: str, chain: str, prefix: str = "s") -> str:
        """Add `[source]chain[out]` and return the new label."""
        out = self.label(prefix)
        self.statements.append(f"[{source}]{chain}[{out}]")
        return out

    def feed(self, name: str, frames, pixel_format: str, size: tuple[int, int], fps: int,
             queue: int | None = None) -> str:
        """An input of raw frames drawn while ffmpeg runs (a Feed named `name` in the work
        directory), timed from 0 at the canvas rate; returns its label. `queue` caps the frames
        ffmpeg's input thread holds (8 by default)."""
        path = self.workdir / name
        self.feeds.append(Feed(path, frames))
        queued = ["-thread_queue_size", str(queue)] if queue else []
        source = self.input([*queued, "-f", "rawvideo", "-pixel_format", pixel_format,
                             "-video_size", f"{size[0]}x{size[1]}", "-framerate", str(fps), "-i", str(path)])
        return self.add(f"{source}:v", f"setpts=N/({fps}*TB)", "feed")

    def commands(self, name: str, lines: list[str]) -> str:
        """Write a sendcmd file and return the filter that plays it."""
        path = self.workdir / f"{name}.cmd"
        path.write_text("\n".join(lines) + "\n")
        return f"sendcmd=f='{_escape_path(path)}'"


def _escape_path(path: Path) -> str:
    return str(path).replace("\\", "\\\\").replace("'", "\\'").replace(":", "\\:")


def _base_format(plan: Plan) -> tuple[str, str]:
    """(pixel format of the canvas, overlay `format` option) for the output."""
    if plan.canvas.alpha:
        return "yuva444p", "yuv444"
    return "yuv420p", "yuv420"


def _covers(visual: Visual, plan: Plan) -> bool:
    box = visual.box
    return (box.left <= 0 and box.top <= 0 and box.left + box.width >= plan.canvas.width
            and box.top + box.height >= plan.canvas.height)


def _opaque_full(visual: Visual, plan: Plan, allow_fades: bool = False) -> bool:
    """Whether every frame of the element covers the whole canvas with opaque pixels.

    Such a layer needs no alpha: it is decoded in YUV and composited without blending.
    With `allow_fades`, fade in/out (the only transparency allowed) is left to the caller.
    """
    element = visual.element
    if visual.kind not in ("video", "image") or element["blend_mode"] != "none":
        return False
    if visual.opacity < 1 or abs(visual.rotation) > 1e-9:
        return False
    if not allow_fades and (visual.fade_in > 0 or visual.fade_out > 0):
        return False
    if any(catalog.EFFECTS[e["type"]].info["produces_alpha"] for e in element["effects"]):
        return False
    if not _covers(visual, plan):
        return False
    motions = list(visual.motions)
    if isinstance(state_at(motions, Expr(f"((in-1)/{plan.canvas.fps})"), visual.box).scale, Expr):
        return False
    for n in range(visual.frame_count):
        state = state_at(motions, n / plan.canvas.fps, visual.box)
        if (float(state.opacity) < 1 or abs(float(state.dx)) > 1e-6 or abs(float(state.dy)) > 1e-6
                or abs(float(state.angle)) > 1e-6 or float(state.scale) != 1):
            return False
    # Pixel formats without an alpha channel: a source decoded to one of these is opaque.
    return bool(_OPAQUE_PIX.match(visual.source_pix_fmt))


def _source_chain(graph: _Graph, visual: Visual, fps: int, pix: str = "rgba") -> tuple[str, int, int]:
    """Decode the element's source into local-time RGBA frames; returns (label, x offset, y offset)."""
    box = visual.box
    element = visual.element
    if visual.kind == "text":
        return _text_source(graph, visual, fps)
    args = ["-ss", f"{visual.seek:.6f}"] if visual.kind == "video" and visual.seek > 0 else []
    if visual.kind == "video" and visual.read is not None:
        args += ["-t", f"{visual.read:.6f}"]
    # Video and audio of one source are separate inputs so that neither forces the other to be
    # decoded ahead of time and queued (an element's sound is needed long before a late picture).
    if visual.kind == "image" and pix != "rgba":
        # A canvas-rate still, so that its layer can meet a video's in `xfade` without `fps`.
        args += ["-r", str(fps)]
    index = graph.input(args + ["-an", "-i", visual.source])
    crop = ""
    if any(element[k] for k in ("crop_left", "crop_right", "crop_top", "crop_bottom")):
        keep_w = 1 - element["crop_left"] - element["crop_right"]
        keep_h = 1 - element["crop_top"] - element["crop_bottom"]
        crop = f"crop=iw*{keep_w:.6f}:ih*{keep_h:.6f}:iw*{element['crop_left']:.6f}:ih*{element['crop_top']:.6f},"
    width, height = box.width, box.height
    if visual.kind == "image":
        # A still that zooms (Ken Burns) is fitted at its largest zoom, so zoompan crops real pixels and
        # scales them down instead of enlarging a canvas-sized copy (it is scaled once, before the loop).
        peak = min(MAX_STILL_OVERSCALE, max(float(state_at(list(visual.motions), n / fps, box).zoom)
                                            for n in range(visual.frame_count)))
        if peak > 1:
            width, height = _even(box.width * peak), _even(box.height * peak)
    fit = f"scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height},setsar=1"
    flips = ("hflip," if element["flip_horizontal"] else "") + ("vflip," if element["flip_vertical"] else "")
    if visual.kind == "image":
        chain = (f"{crop}{fit},{flips}format={pix},loop=loop={visual.frame_count - 1}:size=1:start=0,"
                 f"setpts=N/({fps}*TB)")
    else:
        speed = f"setpts=PTS/{visual.speed:.6f}," if visual.speed != 1 else ""
        # Padding and other generators stay finite: an endless one can stall ffmpeg's input scheduling.
        chain = (f"setpts=PTS-STARTPTS,{speed}fps={fps},tpad=stop_duration={visual.length:.6f}:stop_mode=clone,"
                 f"trim=end_frame={visual.frame_count},{crop}{fit},{flips}format={pix}")
    return graph.add(f"{index}:v", chain, "src"), 0, 0


def _even(value: float) -> int:
    return max(2, 2 * round(value / 2))


def _text_source(graph: _Graph, visual: Visual, fps: int) -> tuple[str, int, int]:
    """Draw static text to one image cropped to the ink; captions become a feed of frames."""
    spec = visual.text
    box = visual.box
    placed = text.layout(spec)
    if spec.captions:
        return _caption_source(graph, visual, placed, fps)
    image = text.render(spec, placed)
    if (placed.width, placed.height) != (box.width, box.height):
        image = image.resize((box.width, box.height), Image.Resampling.LANCZOS)
    bbox = image.getbbox() or (0, 0, 1, 1)
    # Uncompressed TGA (RGBA): about ten times cheaper to write than a PNG and nothing to inflate.
    path = graph.workdir / f"text{visual.index}.tga"
    image.crop(bbox).save(path)
    source = graph.input(["-i", str(path)])
    chain = f"format=rgba,loop=loop={visual.frame_count - 1}:size=1:start=0,setpts=N/({fps}*TB)"
    return graph.add(f"{source}:v", chain, "src"), bbox[0], bbox[1]


def caption_region(visual: Visual, placed: text.Layout, changes: list[list[text.WordLook]]) -> tuple[int, int, int, int]:
    """The part of the element's box that caption frames with these looks can paint (left, top,
    right, bottom), computed without drawing them."""
    box = visual.box
    region = text.caption_bounds(visual.text, placed, changes) or (0, 0, 1, 1)
    if (placed.width, placed.height) == (box.width, box.height):
        return region
    # A scaled box: the region in box pixels, grown by the reach of the resampling filter.
    sx, sy = box.width / placed.width, box.height / placed.height
    reach = 3 * math.ceil(max(1.0, 1 / sx, 1 / sy))
    return (max(0, math.floor(region[0] * sx) - reach), max(0, math.floor(region[1] * sy) - reach),
            min(box.width, math.ceil(region[2] * sx) + reach), min(box.height, math.ceil(region[3] * sy) + reach))


def _caption_source(graph: _Graph, visual: Visual, placed: text.Layout, fps: int) -> tuple[str, int, int]:
    """Caption frames as a feed: drawn while ffmpeg runs, cropped to the region the words can reach.

    Only frames whose look changes are drawn; each is sent for every frame it lasts.
    """
    spec, box = visual.text, visual.box
    changes = list(text.caption_looks(spec, visual.start, visual.frame_count, fps))
    region = caption_region(visual, placed, [looks for _, looks in changes])
    resize = (placed.width, placed.height) != (box.width, box.height)
    ends = [index for index, _ in changes[1:]] + [visual.frame_count]

    def frames() -> Iterator[bytes]:
        cache: dict = {}
        for (start, looks), end in zip(changes, ends):
            image = text.render(spec, placed, looks, cache)
            if resize:
                image = image.resize((box.width, box.height), Image.Resampling.LANCZOS)
            frame = image.crop(region).tobytes()
            for _ in range(end - start):
                yield frame

    size = (region[2] - region[0], region[3] - region[1])
    return graph.feed(f"captions{visual.index}.rgba", frames, "rgba", size, fps), region[0], region[1]


def _effect_chain(graph: _Graph, label: str, visual: Visual, pix: str = "rgba") -> str:
    """Colour fields and effects, with the alpha channel kept aside and merged back."""
    element = visual.element
    if visual.kind == "text":
        return label
    ctx = EffectContext(visual.box.width, visual.box.height)
    keyers = [e for e in element["effects"] if catalog.EFFECTS[e["type"]].info["produces_alpha"]]
    for effect in keyers:
        label = graph.add(label, catalog.EFFECTS[effect["type"]].impl(effect["intensity"] / 100, effect, ctx), "key")
    steps = [row.impl(element[name], ctx) for name, row in catalog.COLOR_FIELDS.items() if element[name]]
    pending = []
    for effect in element["effects"]:
        row = catalog.EFFECTS[effect["type"]]
        strength = effect["intensity"] / 100
        if row.info["produces_alpha"] or strength <= 0:
            continue
        pending.append((row, strength, effect))
    if not steps and not pending:
        return label
    opaque = pix != "rgba"
    if opaque:
        color_in = label
    else:
        color_in, alpha = graph.label("c"), graph.label("a")
        graph.statements.append(f"[{label}]split[{color_in}][{alpha}]")
        mask = graph.add(alpha, "alphaextract", "m")
    current = graph.add(color_in, ",".join(steps), "col") if steps else color_in
    for row, strength, effect in pending:
        chain = row.impl(strength, effect, ctx)
        if row.info["mix"] and strength < 1:
            original, processed = graph.label("o"), graph.label("p")
            graph.statements.append(f"[{current}]split[{original}][{processed}]")
            done = graph.add(processed, f"{chain},format=gbrp", "fx")
            flat = graph.add(original, "format=gbrp", "og")
            current = graph.label("mix")
            graph.statements.append(f"[{done}][{flat}]blend=all_mode=normal:all_opacity={strength:.4f}[{current}]")
        else:
            current = graph.add(current, chain, "fx")
    if opaque:
        return graph.add(current, f"format={pix}", "rgb")
    current = graph.add(current, "format=rgba", "rgb")
    merged = graph.label("merged")
    graph.statements.append(f"[{current}][{mask}]alphamerge[{merged}]")
    return merged


def _opacity(visual: Visual, t: float, state: MotionState) -> float:
    factor = visual.opacity * float(state.opacity)
    if visual.fade_in > 0:
        factor *= min(1.0, t / visual.fade_in)
    if visual.fade_out > 0:
        factor *= min(1.0, max(0.0, (visual.length - t) / visual.fade_out))
    return min(1.0, max(0.0, factor))


def _animated(graph: _Graph, label: str, visual: Visual, fps: int,
              fade_color: str | None = None) -> tuple[str, int, int, list[tuple[float, float]]]:
    """Apply zoom, blur, opacity, scale and rotation; returns the per-frame (dx, dy) offsets too."""
    box = visual.box
    states = [state_at(list(visual.motions), n / fps, box) for n in range(visual.frame_count)]
    name = f"e{visual.index}"
    commands: list[str] = []
    filters: list[str] = []
    offset_x = offset_y = 0

    def track(target: str, command: str, values: list[float]) -> float:
        previous = values[0]
        for n, value in enumerate(values[1:], start=1):
            if abs(value - previous) > 1e-4:
                commands.append(f"{max(0.0, (n - 0.5) / fps):.6f} {target} {command} {value:.6f};")
                previous = value
        return values[0]

    motions = list(visual.motions)
    zoom = state_at(motions, Expr("it"), box).zoom
    if isinstance(zoom, Expr):
        filters.append(
            f"zoompan=z='{zoom.text}':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2':d=1:s={box.width}x{box.height}:fps={fps},"
            f"setpts=N/({fps}*TB)"
        )
    blurs = [min(1.0, float(s.blur)) * max(1.0, min(box.width, box.height) / 15) for s in states]
    if any(b > 0 for b in blurs):
        filters.append(f"gblur@b{name}=sigma={track(f'gblur@b{name}', 'sigma', blurs):.6f}")
    # An opaque layer over a plain background fades to the background colour (`_faded`, below).
    alphas = [] if fade_color is not None else [_opacity(visual, n / fps, s) for n, s in enumerate(states)]
    if any(a < 1 for a in alphas):
        filters.append(f"colorchannelmixer@o{name}=aa={track(f'colorchannelmixer@o{name}', 'aa', alphas):.6f}")
    scale = state_at(motions, Expr(f"((in-1)/{fps})"), box).scale
    if isinstance(scale, Expr):
        s = f"max({scale.text},0.001)"
        corners = {
            "x0": f"W/2-(W/2)*{s}", "y0": f"H/2-(H/2)*{s}", "x1": f"W/2+(W/2)*{s}", "y1": f"H/2-(H/2)*{s}",
            "x2": f"W/2-(W/2)*{s}", "y2": f"H/2+(H/2)*{s}", "x3": f"W/2+(W/2)*{s}", "y3": f"H/2+(H/2)*{s}",
        }
        filters.append("pad=iw+2:ih+2:1:1:color=" + TRANSPARENT + ",perspective="
                       + ":".join(f"{k}='{v}'" for k, v in corners.items()) + ":sense=destination:eval=frame")
        offset_x -= 1
        offset_y -= 1
    angles = [math.radians(visual.rotation + float(s.angle)) for s in states]
    if any(abs(a) > 1e-6 for a in angles):
        side = math.ceil(math.hypot(box.width, box.height)) + 2
        first = track(f"rotate@r{name}", "angle", angles)
        filters.append(f"rotate@r{name}=a={first:.6f}:ow={side}:oh={side}:c=none")
        offset_x -= (side - box.width) // 2
        offset_y -= (side - box.height) // 2
    if commands:
        filters.insert(0, graph.commands(name, commands))
    if filters:
        label = graph.add(label, ",".join(filters), "anim")
    if fade_color is not None:
        label = _faded(graph, label, visual, fps, fade_color)
    offsets = [(float(s.dx), float(s.dy)) for s in states]
    return label, offset_x, offset_y, offsets


def _element_stream(graph: _Graph, visual: Visual, fps: int, pix: str = "rgba",
                    fade_color: str | None = None) -> tuple[_Placed, list[tuple[float, float]]]:
    """The element's frames in local time, and where to overlay them frame by frame."""
    label, ink_x, ink_y = _source_chain(graph, visual, fps, pix)
    label = _effect_chain(graph, label, visual, pix)
    label, offset_x, offset_y, moves = _animated(graph, label, visual, fps, fade_color)
    x = visual.box.left + ink_x + offset_x
    y = visual.box.top + ink_y + offset_y
    moving = any(abs(dx) > 1e-6 or abs(dy) > 1e-6 for dx, dy in moves)
    return _Placed(label, x, y, moving), moves


def _overlay(graph: _Graph, base: str, placed: _Placed, moves: list[tuple[float, float]], name: str,
             start: float, fps: int, fmt: str) -> str:
    """Overlay an element stream (already shifted to the base's clock) onto `base`."""
    target = f"overlay@{name}"
    if placed.moves:
        lines = []
        previous = None
        for n, (dx, dy) in enumerate(moves):
            position = (round(placed.x + dx), round(placed.y + dy))
            if position != previous:
                when = max(0.0, start + (n - 0.5) / fps)
                lines.append(f"{when:.6f} {target} x {position[0]}, {target} y {position[1]};")
                previous = position
        base = graph.add(base, graph.commands(name, lines), "cmd")
        x, y = round(placed.x + moves[0][0]), round(placed.y + moves[0][1])
    else:
        x, y = placed.x, placed.y
    out = graph.label("ov")
    graph.statements.append(f"[{base}][{placed.label}]{target}=x={x}:y={y}:eof_action=pass:format={fmt}[{out}]")
    return out


def _transparent_canvas(plan: Plan, duration: float, pixel_format: str) -> str:
    canvas = plan.canvas
    return f"color=c={TRANSPARENT}:s={canvas.width}x{canvas.height}:r={canvas.fps}:d={duration:.6f},format={pixel_format}"


def _blend(graph: _Graph, plan: Plan, base: str, placed: _Placed, moves, visual: Visual, fmt: str) -> str:
    """Composite with a blend mode: blend the whole canvas, then keep it only where the layer is."""
    canvas = plan.canvas
    empty = graph.label("empty")
    graph.statements.append(f"{_transparent_canvas(plan, canvas.duration + 1, 'rgba')}[{empty}]")
    layer = _overlay(graph, empty, placed, moves, f"p{visual.index}", visual.start, canvas.fps, "rgb")
    base_a, base_b, layer_a, layer_b = (graph.label(p) for p in ("ba", "bb", "la", "lb"))
    graph.statements.append(f"[{base}]split[{base_a}][{base_b}]")
    graph.statements.append(f"[{layer}]split[{layer_a}][{layer_b}]")
    top = graph.add(layer_a, "format=gbrp", "top")
    bottom = graph.add(base_a, "format=gbrp", "bot")
    blended = graph.label("bl")
    mode = catalog.BLEND_MODES[visual.element["blend_mode"]].impl()
    graph.statements.append(f"[{top}][{bottom}]{mode},format=gbrap[{blended}]")
    mask = graph.add(layer_b, "alphaextract", "m")
    masked = graph.label("bm")
    graph.statements.append(f"[{blended}][{mask}]alphamerge[{masked}]")
    out = graph.label("ov")
    graph.statements.append(f"[{base_b}][{masked}]overlay=0:0:format={fmt}[{out}]")
    return out


def _canvas_sized(graph: _Graph, plan: Plan, placed: _Placed, visual: Visual) -> str:
    """An opaque element stream that covers the canvas, cropped to exactly the canvas."""
    canvas = plan.canvas
    x, y = round(placed.x), round(placed.y)
    if (x, y, visual.box.width, visual.box.height) == (0, 0, canvas.width, canvas.height):
        return placed.label
    return graph.add(placed.label, f"crop={canvas.width}:{canvas.height}:{-x}:{-y}", "fit")


def _visual_layer(graph: _Graph, plan: Plan, base: str, visual: Visual, fmt: str, bottom: bool = False) -> str:
    fps = plan.canvas.fps
    canvas = plan.canvas
    fade_color = None
    opaque = _opaque_full(visual, plan)
    if (not opaque and bottom and (visual.fade_in > 0 or visual.fade_out > 0) and not canvas.background_image
            and not canvas.alpha and canvas.background[3] == 255 and _opaque_full(visual, plan, allow_fades=True)):
        opaque = True
        fade_color = ffmpeg_color(canvas.background)
    if opaque:
        placed, moves = _element_stream(graph, visual, fps, "yuv420p", fade_color)
        placed = _Placed(_canvas_sized(graph, plan, placed, visual), 0, 0, False)
        moves = [(0.0, 0.0)] * len(moves)
    else:
        placed, moves = _element_stream(graph, visual, fps)
    placed.label = graph.add(placed.label, f"setpts=PTS+{visual.start:.6f}/TB", "at")
    if visual.element["blend_mode"] != "none":
        return _blend(graph, plan, base, placed, moves, visual, fmt)
    return _windowed(graph, plan, base, visual.start, visual.length,
                     lambda window: _overlay(graph, window, placed, moves, f"p{visual.index}", visual.start, fps, fmt))


def _windowed(graph: _Graph, plan: Plan, base: str, start: float, length: float, draw) -> str:
    """`draw(base) -> label` applied only to the base frames a layer can touch.

    `overlay` makes every main frame writable (a copy of the whole canvas) even where its layer has
    no frame, so a 5 s title on a 60 s timeline would copy all 60 s. The base is cut around the
    layer's frames (a spare frame on each side) and the parts are joined again with `concat`.
    """
    fps = plan.canvas.fps
    first = max(0, math.floor(start * fps) - 1)
    last = math.ceil((start + length) * fps) + 1
    return _in_window(graph, base, plan.canvas.frame_count, first, last, fps, draw)


def _faded(graph: _Graph, label: str, visual: Visual, fps: int, color: str) -> str:
    """An opaque layer over a plain background faded in and out to the background colour.

    `fade` makes each frame it receives writable (a copy of a 4K frame is 12 MB) even outside its
    fade, so it is given only the frames of the fade (a spare one on each side).
    """
    total = visual.frame_count
    fade_out_start = max(0.0, visual.length - visual.fade_out)
    if visual.fade_in > 0:
        label = _in_window(graph, label, total, 0, math.ceil(visual.fade_in * fps) + 1, fps, lambda window: graph.add(
            window, f"fade=t=in:st=0:d={visual.fade_in:.6f}:color={color}", "fade"))
    if visual.fade_out > 0:
        first = max(0, math.floor(fade_out_start * fps) - 1)
        label = _in_window(graph, label, total, first, total, fps, lambda window: graph.add(
            window, f"fade=t=out:st={fade_out_start:.6f}:d={visual.fade_out:.6f}:color={color}", "fade"))
    return label


def _in_window(graph: _Graph, base: str, total: int, first: int, last: int, fps: int, draw) -> str:
    """`draw(window) -> label` applied to frames [first, last) of the `total` frames of `base` (the
    window keeps its timestamps), the other frames passed on untouched."""
    if first == 0 and last >= total:
        return draw(base)
    parts, branches = [], iter(_split(graph, base, 1 + (first > 0) + (last < total)))
    if first > 0:
        parts.append(graph.add(next(branches), f"trim=end_frame={first}", "pre"))
    window = f"trim=start_frame={first}" + (f":end_frame={last}" if last < total else "")
    parts.append(graph.add(draw(graph.add(next(branches), window, "win")), "setpts=PTS-STARTPTS", "mid"))
    if last < total:
        parts.append(graph.add(next(branches), f"trim=start_frame={last},setpts=PTS-STARTPTS", "post"))
    return _concat(graph, parts, fps, "cat")


def _split(graph: _Graph, label: str, count: int = 2) -> list[str]:
    """`count` references to the frames of `label`."""
    outs = [graph.label("sp") for _ in range(count)]
    graph.statements.append(f"[{label}]split={count}" + "".join(f"[{out}]" for out in outs))
    return outs


def _concat(graph: _Graph, parts: list[str], fps: int, prefix: str) -> str:
    """Canvas-rate streams played one after another, renumbered frame by frame from 0."""
    out = graph.label(prefix)
    graph.statements.append("".join(f"[{part}]" for part in parts)
                            + f"concat=n={len(parts)}:v=1:a=0,settb=1/{fps},setpts=N[{out}]")
    return out


def _chain_layer(graph: _Graph, plan: Plan, base: str, chain: Chain, fmt: str) -> str:
    """Members drawn on transparent canvas layers, joined by xfade, overlaid as one layer."""
    head, tail = chain.members[0], chain.members[-1]
    joined = graph.add(_chain_stream(graph, plan, chain), f"setpts=PTS+{head.start:.6f}/TB", "at")

    def draw(window: str) -> str:
        out = graph.label("ov")
        graph.statements.append(f"[{window}][{joined}]overlay=0:0:eof_action=pass:format={fmt}[{out}]")
        return out

    return _windowed(graph, plan, base, head.start, tail.start + tail.length - head.start, draw)


def _chain_stream(graph: _Graph, plan: Plan, chain: Chain) -> str:
    """The chain's members joined by xfade, in the chain's own time (frame 0 = its first member's start)."""
    fps = plan.canvas.fps
    head = chain.members[0]
    layers = []
    opaque = [_opaque_full(member, plan) for member in chain.members]
    for member, member_opaque in zip(chain.members, opaque):
        if member_opaque:
            # Covers the canvas with opaque pixels: no transparent canvas and no alpha to carry.
            placed, _ = _element_stream(graph, member, fps, "yuv420p")
            layer = _canvas_sized(graph, plan, placed, member)
            pix = "" if all(opaque) else ",format=yuva420p"
            layers.append(graph.add(layer, f"settb=1/{fps},setpts=N{pix},trim=end_frame={member.frame_count}", "lay"))
            continue
        placed, moves = _element_stream(graph, member, fps)
        empty = graph.label("empty")
        # 4:2:0 with alpha keeps canvas-sized layers at 2.5 bytes per pixel.
        graph.statements.append(f"{_transparent_canvas(plan, member.frame_count / fps, 'yuva420p')}[{empty}]")
        layer = _overlay(graph, empty, placed, moves, f"p{member.index}", 0.0, fps, "yuv420")
        layers.append(graph.add(layer, f"trim=end_frame={member.frame_count}", "lay"))
    joined = layers[0]
    for position, (kind, duration) in enumerate(chain.transitions):
        incoming = chain.members[position + 1]
        joined = _transition(graph, joined, layers[position + 1], incoming.frame_count, kind, duration,
                             incoming.start - head.start, plan, not all(opaque))
    return joined


def _transition(graph: _Graph, outgoing: str, incoming: str, incoming_frames: int, kind: str, duration: float,
                offset: float, plan: Plan, alpha: bool) -> str:
    """`outgoing` then `incoming` (which starts `offset` s into it), blended by the transition only
    over the frames the transition covers.

    FFmpeg 5's xfade takes 4:4:4 and RGB formats only, so each frame that merely passes through it
    would be converted from 4:2:0 and back: about 5 CPU-s per transition on a minute of 1080p, and a
    chroma round trip on every frame. Instead the outgoing stream is cut where the transition starts
    and the incoming one where it has surely ended, and the three parts are joined with `concat`.
    The cut follows xfade's own frame arithmetic: its offset rounded to the nearest frame, and blends
    up to the frame `duration` + 1 frame after it (each blend takes one frame of each input).
    A mask transition (transitions.py) blends exactly the frames before `duration`.
    """
    fps = plan.canvas.fps
    impl = catalog.TRANSITIONS[kind].impl
    masked = isinstance(impl, transitions.MaskTransition)
    start = _xfade_frames(offset, fps)
    frames = math.ceil(duration * fps - 1e-6) if masked else _xfade_frames(duration, fps) + 2
    blended = min(incoming_frames, frames)
    parts, post = [], None
    if start > 0:
        pre, outgoing = _split(graph, outgoing)
        parts.append(graph.add(pre, f"trim=end_frame={start}", "pre"))
    if incoming_frames > blended:
        incoming, post = _split(graph, incoming)
    tail = graph.add(outgoing, f"trim=start_frame={start},setpts=PTS-STARTPTS", "tail")
    head = graph.add(incoming, f"trim=end_frame={blended}", "head")
    if masked:
        parts.append(_masked(graph, tail, head, impl, duration, blended, plan, alpha))
    else:
        parts.append(graph.label("xf"))
        graph.statements.append(f"[{tail}][{head}]{impl(duration, 0.0)}[{parts[-1]}]")
    if post is not None:
        parts.append(graph.add(post, f"trim=start_frame={blended},setpts=PTS-STARTPTS", "post"))
    return _concat(graph, parts, fps, "xc")


def _masked(graph: _Graph, tail: str, head: str, transition: transitions.MaskTransition, duration: float,
            frames: int, plan: Plan, alpha: bool) -> str:
    """`frames` frames of `tail` and `head` mixed by the transition's masks, read from a feed.

    The outgoing stream is held on its last frame should it end before the transition does.
    """
    canvas = plan.canvas
    fps = canvas.fps
    stream_fmt = "yuva420p" if alpha else "yuv420p"
    fmt = transition.pixel_format(alpha)
    in_rgb = fmt != stream_fmt
    tail = graph.add(tail, f"tpad=stop_mode=clone:stop={frames},trim=end_frame={frames}"
                     + (f",format={fmt}" if in_rgb else ""), "mt")
    if in_rgb:
        head = graph.add(head, f"format={fmt}", "mh")

    def feed(frames_of, prefix: str, pixel_format: str = fmt, rows: int = 1) -> str:
        # A frame of it is the size of a canvas frame (or `rows` of them): ffmpeg's input thread holds two at most.
        draw = functools.partial(frames_of, canvas.width, canvas.height, frames, duration * fps, alpha)
        return graph.feed(f"{graph.label(prefix)}.{pixel_format}", draw, pixel_format,
                          (canvas.width, canvas.height * rows), fps, queue=2)

    streams = {"tail": tail, "head": head}
    warps = {"tail": transition.warp_out, "head": transition.warp_in}
    for warp in dict.fromkeys(w for w in warps.values() if w is not None):  # one feed of maps per warp
        moved = [name for name, its in warps.items() if its is warp]
        maps = feed(functools.partial(transition.warp_frames, warp), "warp", "gray16le", rows=2)
        for name, copy in zip(moved, _split(graph, maps, len(moved)) if len(moved) > 1 else [maps]):
            streams[name] = _remap(graph, streams[name], copy, canvas.width, canvas.height)
    tail, head = streams["tail"], streams["head"]
    out = graph.label("mm")
    graph.statements.append(f"[{tail}][{head}][{feed(transition.frames, 'mask')}]maskedmerge[{out}]")
    if transition.tint is not None:
        tinted = graph.label("tint")
        graph.statements.append(f"[{out}][{feed(transition.tint_frames, 'glow')}]blend=all_mode=addition[{tinted}]")
        out = tinted
    return graph.add(out, f"format={stream_fmt}", "mf") if in_rgb else out


def _remap(graph: _Graph, stream: str, maps: str, width: int, height: int) -> str:
    """`stream` moved by `remap`, its x and y maps the top and bottom halves of the frames of `maps`."""
    top, bottom = _split(graph, maps)
    columns = graph.add(top, f"crop={width}:{height}:0:0", "mx")
    rows = graph.add(bottom, f"crop={width}:{height}:0:{height}", "my")
    out = graph.label("warped")
    graph.statements.append(f"[{stream}][{columns}][{rows}]remap[{out}]")
    return out


def _xfade_frames(seconds: float, fps: int) -> int:
    """A time given to xfade as frames the way it counts them: whole microseconds rescaled to the
    frame rate, rounded half up."""
    return (round(seconds * 1_000_000) * fps + 500_000) // 1_000_000


def _start_frame(start: float, fps: int) -> int | None:
    """The canvas frame a layer starting at `start` begins on, when that is exactly a frame."""
    frame = round(start * fps)
    return frame if abs(start * fps - frame) < 1e-6 else None


def _sequence_base(graph: _Graph, plan: Plan) -> tuple[str, int] | None:
    """The bottom layers as one stream when they are opaque, cover the canvas and never overlap in
    time (a slideshow, clips joined by transitions): joined with `concat` and gaps of background
    colour instead of each being overlaid onto a background (an RGBA conversion and a blend of
    every canvas pixel per frame). Returns (label, number of layers it holds) or None.

    Only a prefix of the stacking order qualifies (a layer above a non-qualifying one must be
    drawn over it), on a plain opaque background, and with every layer starting on a frame.
    """
    canvas = plan.canvas
    fps = canvas.fps
    if canvas.background_image or canvas.alpha or canvas.background[3] != 255:
        return None
    spans: list[tuple[int, int, Visual | Chain]] = []
    for layer in plan.layers:
        members = layer.members if isinstance(layer, Chain) else (layer,)
        if isinstance(layer, Chain):
            if not all(_opaque_full(member, plan) for member in members):
                break
        elif not _opaque_full(layer, plan, allow_fades=True):  # on the background, a fade is a fade to it
            break
        starts = [_start_frame(member.start, fps) for member in members]
        if None in starts:
            break
        first, count = starts[0], starts[-1] + members[-1].frame_count - starts[0]
        if any(first < other + other_count and other < first + count for other, other_count, _ in spans):
            break
        spans.append((first, count, layer))
    if not spans:
        return None
    color = ffmpeg_color(canvas.background)
    segments, position = [], 0

    def gap(frames: int) -> None:
        label = graph.label("gap")
        graph.statements.append(f"color=c={color}:s={canvas.width}x{canvas.height}:r={fps}:d={frames / fps:.6f},"
                                f"format=yuv420p,setsar=1,trim=end_frame={frames}[{label}]")
        segments.append(label)

    for first, count, layer in sorted(spans, key=lambda span: span[0]):
        if first > position:
            gap(first - position)
        if isinstance(layer, Chain):
            label = _chain_stream(graph, plan, layer)
        else:
            placed, _ = _element_stream(graph, layer, fps, "yuv420p", color)
            label = _canvas_sized(graph, plan, placed, layer)
        segments.append(graph.add(label, f"settb=1/{fps},setpts=N,trim=end_frame={count}", "seg"))
        position = first + count
    if position < canvas.frame_count:
        gap(canvas.frame_count - position)
    return _concat(graph, segments, fps, "seq"), len(spans)


def _atempo(speed: float) -> list[str]:
    """atempo steps within the filter's 0.5–2 range whose product is `speed`."""
    steps = []
    while speed > 2:
        steps.append("atempo=2")
        speed /= 2
    while speed < 0.5:
        steps.append("atempo=0.5")
        speed /= 0.5
    if abs(speed - 1) > 1e-9:
        steps.append(f"atempo={speed:.6f}")
    return steps


def _audio(graph: _Graph, plan: Plan) -> str:
    duration = plan.canvas.duration
    labels = []
    for track in plan.audio:
        args = ["-ss", f"{track.seek:.6f}"] if track.seek > 0 else []
        if track.read is not None:
            args += ["-t", f"{track.read:.6f}"]
        index = graph.input(args + ["-vn", "-i", track.source])
        steps = ["asetpts=PTS-STARTPTS", f"aresample={AUDIO_RATE}",
                 "aformat=sample_fmts=fltp:channel_layouts=stereo", *_atempo(track.speed),
                 f"volume={track.volume:.6f}"]
        if track.fade_in > 0:
            steps.append(f"afade=t=in:d={track.fade_in:.6f}")
        if track.fade_out > 0:
            steps.append(f"afade=t=out:st={max(0.0, track.length - track.fade_out):.6f}:d={track.fade_out:.6f}")
        steps += [f"apad=whole_dur={track.length:.6f}", f"atrim=end={track.length:.6f}",
                  f"adelay={round(track.start * 1000)}:all=1"]
        labels.append(graph.add(f"{index}:a", ",".join(steps), "aud"))
    out = graph.label("aout")
    if not labels:
        graph.statements.append(f"anullsrc=r={AUDIO_RATE}:cl=stereo:d={duration:.6f}[{out}]")
    else:
        mixed = "".join(f"[{label}]" for label in labels)
        graph.statements.append(
            f"{mixed}amix=inputs={len(labels)}:normalize=0:duration=longest,"
            f"apad=whole_dur={duration:.6f},atrim=end={duration:.6f}[{out}]"
        )
    return out


def _encoder_args(plan: Plan) -> list[str]:
    fmt = plan.output_format
    alpha = plan.canvas.alpha
    if fmt == "mp4":
        return ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
                "-c:a", "aac", "-b:a", "192k", "-movflags", "+faststart"]
    if fmt == "webm":
        return ["-c:v", "libvpx-vp9", "-crf", "32", "-b:v", "0", "-deadline", "realtime", "-cpu-used", "8",
                "-row-mt", "1", "-pix_fmt", "yuva420p" if alpha else "yuv420p", "-c:a", "libopus", "-b:a", "128k"]
    if fmt == "mov":
        return ["-c:v", "prores_ks", "-profile:v", "4", "-pix_fmt", "yuva444p10le" if alpha else "yuv444p10le",
                "-c:a", "pcm_s16le"]
    if fmt == "gif":
        return ["-f", "gif"]
    if fmt == "png":
        return ["-frames:v", "1", "-update", "1", "-c:v", "png", "-pix_fmt", "rgba" if alpha else "rgb24"]
    return ["-frames:v", "1", "-update", "1", "-c:v", "mjpeg", "-q:v", "2", "-pix_fmt", "yuvj420p"]


def compile_ffmpeg(plan: Plan, output_path: str | os.PathLike, workdir: str | os.PathLike | None = None,
                   still_at: float = 0.0, poster_path: str | os.PathLike | None = None) -> Command:
    """The ffmpeg command rendering `plan` to `output_path`, with the feeds of frames it reads.

    Text images, sendcmd files and the filter script are written to `workdir` (default: a
    directory next to the output), which must stay until ffmpeg has finished; the feeds' paths
    are in it too, not yet created (see Feed). `still_at` is the
    time of the frame written for png/jpg outputs. With `poster_path`, a video's frame at
    `poster_time` is written there as a JPEG by the same run (no second decode of the output).
    """
    output = Path(output_path)
    work = Path(workdir) if workdir is not None else output.parent / f".{output.name}.work"
    work.mkdir(parents=True, exist_ok=True)
    graph = _Graph(work)
    canvas = plan.canvas
    base_fmt, overlay_fmt = _base_format(plan)
    sequence = _sequence_base(graph, plan)
    if sequence is not None:
        base, consumed = sequence
    else:
        base, consumed = graph.label("base"), 0
        graph.statements.append(
            f"color=c={ffmpeg_color(canvas.background)}:s={canvas.width}x{canvas.height}:r={canvas.fps}"
            f":d={canvas.duration + 1:.6f},format={base_fmt}[{base}]"
        )
    if canvas.background_image:
        index = graph.input(["-i", canvas.background_image])
        image = graph.add(
            f"{index}:v",
            f"scale={canvas.width}:{canvas.height}:force_original_aspect_ratio=increase,crop={canvas.width}:{canvas.height},"
            f"setsar=1,format=rgba,loop=loop={canvas.frame_count}:size=1:start=0,setpts=N/({canvas.fps}*TB)",
            "bg",
        )
        base = _overlay(graph, base, _Placed(image, 0, 0, False), [], "bgimage", 0.0, canvas.fps, overlay_fmt)
    for position, layer in enumerate(plan.layers[consumed:], start=consumed):
        if isinstance(layer, Chain):
            base = _chain_layer(graph, plan, base, layer, overlay_fmt)
        else:
            base = _visual_layer(graph, plan, base, layer, overlay_fmt, bottom=position == 0)
    still = catalog.OUTPUT_FORMATS[plan.output_format].still
    if still:
        frame = min(canvas.frame_count - 1, max(0, round(still_at * canvas.fps)))
        video = graph.add(base, f"trim=start_frame={frame}:end_frame={frame + 1},setpts=PTS-STARTPTS", "v")
    else:
        video = graph.add(base, f"trim=end_frame={canvas.frame_count}", "v")
    poster = None
    if poster_path is not None and not still:
        frame = min(canvas.frame_count - 1, round(poster_time(canvas.duration) * canvas.fps))
        shot = graph.label("ps")
        main = graph.label("v")
        graph.statements.append(f"[{video}]split[{main}][{shot}]")
        poster = graph.add(shot, f"trim=start_frame={frame}:end_frame={frame + 1},setpts=PTS-STARTPTS", "poster")
        video = main
    if plan.output_format == "gif":
        palette_in, frames = graph.label("pi"), graph.label("fr")
        graph.statements.append(f"[{video}]split[{palette_in}][{frames}]")
        palette = graph.add(palette_in, "palettegen=stats_mode=diff", "pal")
        video = graph.label("gif")
        graph.statements.append(f"[{frames}][{palette}]paletteuse=dither=bayer:bayer_scale=3[{video}]")
    maps = ["-map", f"[{video}]"]
    if not still and plan.output_format != "gif":
        maps += ["-map", f"[{_audio(graph, plan)}]"]
    script = work / "filter_complex.txt"
    script.write_text(";\n".join(graph.statements) + "\n")
    argv = ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-loglevel", "error"]
    for args in graph.inputs:
        argv += args
    argv += ["-filter_complex_script", str(script), *maps, "-r", str(canvas.fps), *_encoder_args(plan)]
    if not still:
        argv += ["-t", f"{canvas.duration:.6f}"]
    argv.append(str(output))
    if poster is not None:
        argv += ["-map", f"[{poster}]", "-frames:v", "1", "-update", "1", "-c:v", "mjpeg", "-q:v", "2",
                 "-pix_fmt", "yuvj420p", str(poster_path)]
    return Command(argv, tuple(graph.feeds))


def poster_time(duration: float) -> float:
    """Where a poster frame is taken: one second in, or the middle of shorter videos."""
    return min(1.0, duration / 2)

