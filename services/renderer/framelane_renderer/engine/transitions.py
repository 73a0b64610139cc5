"""Transitions: FFmpeg's own `xfade` transitions, and masks drawn in Python that weigh the outgoing
and incoming frames pixel by pixel (`maskedmerge`).

An xfade custom expression is evaluated per pixel by FFmpeg's expression interpreter: about half a
CPU-second per 1080p frame. A mask transition instead gives, for each frame of the transition, the
incoming frame's weight at every pixel, computed with numpy over the whole frame at once (a few ms)
and sent to ffmpeg as a feed; `maskedmerge` mixes the two frames with it. The shapes follow
gl-transitions (https://gl-transitions.com), whose coordinates have y pointing up: `u, v` below.

A displacement transition (`swirl`, `water_drop`, `dreamy`) moves pixels too: for each frame,
numpy computes where every pixel of the outgoing (or incoming) frame is read from, and FFmpeg's
`remap` moves them (nearest pixel, positions clamped to the frame) before the two are mixed.

A mask's progress runs from 0 (first frame of the transition: all outgoing) towards 1; frame `n` of
the transition has progress `n / (duration * fps)`, as in xfade.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

BAND_COUNT = 8
PINWHEEL_BLADES = 4
WINDOW_SLICES = 10
SQUARES = 10

XFADE_TRANSITIONS = {
    "cross_dissolve": "fade",
    "dip_to_black": "fadeblack",
    "dip_to_white": "fadewhite",
    "wipe_left": "wipeleft",
    "wipe_right": "wiperight",
    "wipe_up": "wipeup",
    "wipe_down": "wipedown",
    "diagonal_wipe": "diagtl",
    "barn_doors_horizontal": "horzopen",
    "barn_doors_vertical": "vertopen",
    "iris": "circlecrop",
    "circle_open": "circleopen",
    "cross_zoom": "zoomin",
    "angular": "radial",
}


def xfade_filter(transition_type: str, duration: float, offset: float) -> str:
    """The xfade filter text for one transition starting `offset` seconds into the first input."""
    return f"xfade=transition={XFADE_TRANSITIONS[transition_type]}:duration={duration:.6f}:offset={offset:.6f}"


@dataclass(frozen=True)
class Grid:
    """Pixel centres of a frame: `x`, `y` in 0..1 from the top left (shapes (1, w) and (h, 1)), `u`, `v`
    the same with y pointing up, and the frame's size in pixels."""

    x: np.ndarray
    y: np.ndarray
    width: int
    height: int

    @property
    def u(self) -> np.ndarray:
        return self.x

    @property
    def v(self) -> np.ndarray:
        return 1 - self.y


def grid(width: int, height: int) -> Grid:
    x = ((np.arange(width, dtype=np.float32) + 0.5) / width)[None, :]
    y = ((np.arange(height, dtype=np.float32) + 0.5) / height)[:, None]
    return Grid(x, y, width, height)


def smoothstep(edge0: float, edge1: float, value):
    t = np.clip((value - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _fract(value):
    return value - np.floor(value)


def _box_wipe(g: Grid, p: float):
    """A rectangle of the incoming clip grows from the centre to the frame's edges."""
    return np.maximum(np.abs(g.x - 0.5), np.abs(g.y - 0.5)) * 2 <= p


def _band_wipe(g: Grid, p: float):
    """Horizontal bands wiped in alternate directions: even bands from the left, odd from the right."""
    odd = np.floor(g.y * BAND_COUNT) % 2 == 1
    return np.where(odd, g.x >= 1 - p, g.x <= p)


def _pinwheel(g: Grid, p: float):
    """Blades sweeping round the centre (angles in pixels, so the blades keep their shape)."""
    angle = np.arctan2((g.y - 0.5) * g.height, (g.x - 0.5) * g.width)
    return _fract((angle + np.pi) * PINWHEEL_BLADES / (2 * np.pi)) <= p


def _heart(g: Grid, p: float):
    """gl-transitions `heart`: a heart centred at (0.5, 0.4) grows until it holds the whole frame."""
    if p <= 0:
        return np.zeros((g.height, g.width), bool)
    ox, oy = (g.u - 0.5) / (1.6 * p), (g.v - 0.4) / (1.6 * p)
    a = ox * ox + oy * oy - 0.3
    return ox * ox * oy * oy * oy >= a * a * a


def _window_slice(g: Grid, p: float):
    """gl-transitions `windowslice` (count 10, smoothness 0.5): blinds opening from left to right."""
    opened = smoothstep(-0.5, 0.0, g.u - p * 1.5)
    return _fract(WINDOW_SLICES * g.u) >= opened


def _squares_wire(g: Grid, p: float):
    """gl-transitions `squareswire` (10x10 squares, direction (1, -0.5), smoothness 1.6): squares of
    the incoming clip grow from their centres in a wave from the top left."""
    if p <= 0:
        return np.zeros((g.height, g.width), bool)
    dx, dy = 1.0 / 1.5, -0.5 / 1.5  # the direction normalised, then divided by |x| + |y|
    d = dx * 0.5 + dy * 0.5
    size = smoothstep(-1.6, 0.0, dx * g.u + dy * g.v - (d - 0.5 + p * 2.6)) / 2
    sx, sy = _fract(g.u * SQUARES), _fract(g.v * SQUARES)
    return (sx >= size) & (sy >= size) & (sx <= 1 - size) & (sy <= 1 - size)


def _gl_random(a, b):
    return _fract(np.sin(a * 12.9898 + b * 78.233) * 43758.5453)


def _crosshatch(g: Grid, p: float):
    """gl-transitions `crosshatch` (centre 0.5, threshold 3, fade edge 0.1): random horizontal and
    vertical lines of the incoming clip spread out from the centre, fading in at the start and
    filling the frame at the end."""
    dist = np.hypot(g.u - 0.5, g.v - 0.5) / 3
    rows = _gl_random(g.v.astype(np.float64), 0.0).astype(np.float32)  # the hash needs double precision
    columns = _gl_random(0.0, g.u.astype(np.float64)).astype(np.float32)
    reach = p - np.minimum(rows, columns)
    shown = (dist <= reach).astype(np.float32)
    end = smoothstep(0.9, 1.0, p)
    return (shown * (1 - end) + end) * smoothstep(0.0, 0.1, p)


_PHASE_FROM = (0.0, 0.2, 0.4, 0.0)  # red, green, blue, alpha
_PHASE_TO = (0.6, 0.8, 1.0, 1.0)


def _color_phase(p: float) -> tuple[float, float, float, float]:
    """gl-transitions `ColorPhase`: each colour channel cross-fades in its own part of the transition
    (red first, blue last); weights (red, green, blue, alpha)."""
    return tuple(float(smoothstep(lo, hi, p)) for lo, hi in zip(_PHASE_FROM, _PHASE_TO))


_BURN = (0.9, 0.4, 0.2)


def _burn_tint(p: float) -> tuple[float, float, float]:
    """gl-transitions `burn` (colour (0.9, 0.4, 0.2)): mix(A + p·c, B + (1-p)·c, p) is the dissolve
    plus 2p(1-p)·c, a glow that peaks half way; the colour added to each RGB channel."""
    glow = 2 * p * (1 - p)
    return tuple(glow * c for c in _BURN)


def _dissolve(p: float) -> tuple[float, float, float, float]:
    return (p, p, p, p)


SWIRL_TURNS = 4  # gl-transitions' 8π at the peak
WATER_DROP_AMPLITUDE = 30.0
WATER_DROP_SPEED = 30.0


def _swirl(g: Grid, p: float):
    """gl-transitions `Swirl` (radius 1): both frames turned about the centre, most at the centre and
    half way through, while they dissolve."""
    du, dv = g.u - 0.5, g.v - 0.5
    strength = 2 * p if p <= 0.5 else 2 - 2 * p
    theta = np.clip(1 - np.hypot(du, dv), 0, None) ** 2 * strength * SWIRL_TURNS * 2 * np.pi
    sin, cos = np.sin(theta), np.cos(theta)
    return du * cos - dv * sin + 0.5, du * sin + dv * cos + 0.5


def _water_drop(g: Grid, p: float):
    """gl-transitions `WaterDrop` (amplitude 30, speed 30): ripples inside a circle growing from the
    centre move the outgoing frame's pixels along the radius while the incoming one fades in."""
    du, dv = g.u - 0.5, g.v - 0.5
    dist = np.hypot(du, dv)
    ripple = np.where(dist <= p, np.sin(dist * WATER_DROP_AMPLITUDE - p * WATER_DROP_SPEED), 0)
    return g.u + du * ripple, g.v + dv * ripple


def _dreamy_wave(g: Grid, p: float):
    """gl-transitions `Dreamy`: columns shifted up and down on a wave of amplitude 0.03 p."""
    return g.u, g.v + 0.03 * p * np.cos(10 * (p + g.u))


def _dreamy_in(g: Grid, p: float):
    return _dreamy_wave(g, 1 - p)


@dataclass(frozen=True)
class MaskTransition:
    """A transition whose frames are `maskedmerge(outgoing, incoming, mask)`.

    `shape(grid, progress)` gives the incoming frame's weight (0..1, or bool) per pixel; a
    `channels(progress)` transition instead weighs each RGB(A) channel uniformly and is mixed in
    planar RGB, and its `tint(progress)`, when given, is then added to each RGB channel (a second
    feed, `tint_frames`, added with `blend=all_mode=addition`). `warp_out(grid, progress)` and
    `warp_in` give, for each pixel, the point (u, v) of the outgoing or incoming frame shown there
    (`warp_frames`, for `remap`); warped frames are mixed in planar RGB.
    """

    shape: Callable[[Grid, float], np.ndarray] | None = None
    channels: Callable[[float], tuple[float, float, float, float]] | None = None
    tint: Callable[[float], tuple[float, float, float]] | None = None
    warp_out: Callable[[Grid, float], tuple[np.ndarray, np.ndarray]] | None = None
    warp_in: Callable[[Grid, float], tuple[np.ndarray, np.ndarray]] | None = None

    def __post_init__(self):
        if (self.warp_out or self.warp_in) and self.channels is None:  # remap takes no 4:2:0 frames
            raise ValueError("a warped transition is mixed in planar RGB: give it `channels`")

    def pixel_format(self, alpha: bool) -> str:
        """The format the two streams are mixed in (the mask feed's too)."""
        if self.channels is not None:
            return "gbrap" if alpha else "gbrp"
        return "yuva420p" if alpha else "yuv420p"

    def frames(self, width: int, height: int, count: int, frames_per_transition: float,
               alpha: bool) -> Iterator[bytes]:
        """The mask of each of the transition's `count` frames, in `pixel_format(alpha)`."""
        g = grid(width, height) if self.shape is not None else None
        for n in range(count):
            p = n / frames_per_transition
            if self.channels is not None:
                yield _uniform_rgb(self.channels(p), width, height, alpha)
                continue
            weight = np.broadcast_to(np.asarray(self.shape(g, p), np.float32), (height, width))
            luma = _bytes(weight)
            yield luma + _bytes(_half(weight)) * 2 + (luma if alpha else b"")

    def warp_frames(self, warp: Callable, width: int, height: int, count: int, frames_per_transition: float,
                    alpha: bool) -> Iterator[bytes]:
        """`remap`'s maps for each of the transition's frames: the source column of every pixel, then
        its source row, stacked in one gray16le frame of twice the height."""
        g = grid(width, height)
        for n in range(count):
            u, v = warp(g, n / frames_per_transition)
            columns = np.clip(np.floor(np.asarray(u) * width), 0, width - 1)  # pixel centres map to themselves
            rows = np.clip(np.floor((1 - np.asarray(v)) * height), 0, height - 1)
            yield b"".join(np.broadcast_to(m, (height, width)).astype("<u2").tobytes() for m in (columns, rows))

    def tint_frames(self, width: int, height: int, count: int, frames_per_transition: float,
                    alpha: bool) -> Iterator[bytes]:
        """What `tint` adds to each of the transition's frames, in `pixel_format(alpha)` (alpha 0)."""
        for n in range(count):
            yield _uniform_rgb((*self.tint(n / frames_per_transition), 0.0), width, height, alpha)


def _uniform_rgb(values: tuple[float, float, float, float], width: int, height: int, alpha: bool) -> bytes:
    """A planar RGB(A) frame (gbrp / gbrap plane order) of one value (0..1) per channel."""
    red, green, blue, opacity = (round(v * 255) for v in values)
    planes = (green, blue, red, opacity) if alpha else (green, blue, red)
    return b"".join(bytes((value,)) * (width * height) for value in planes)


def _bytes(weight: np.ndarray) -> bytes:
    return (weight * 255 + 0.5).astype(np.uint8).tobytes()


def _half(weight: np.ndarray) -> np.ndarray:
    """The weight at 4:2:0 chroma resolution: the mean of each 2x2 block (edge pixels repeated)."""
    height, width = weight.shape
    if height % 2 or width % 2:
        weight = np.pad(weight, ((0, height % 2), (0, width % 2)), mode="edge")
    return (weight[0::2, 0::2] + weight[1::2, 0::2] + weight[0::2, 1::2] + weight[1::2, 1::2]) * 0.25


MASK_TRANSITIONS = {
    "box_wipe": MaskTransition(shape=_box_wipe),
    "band_wipe": MaskTransition(shape=_band_wipe),
    "pinwheel": MaskTransition(shape=_pinwheel),
    "heart": MaskTransition(shape=_heart),
    "window_slice": MaskTransition(shape=_window_slice),
    "squares_wire": MaskTransition(shape=_squares_wire),
    "crosshatch": MaskTransition(shape=_crosshatch),
    "color_phase": MaskTransition(channels=_color_phase),
    "burn": MaskTransition(channels=_dissolve, tint=_burn_tint),
    "swirl": MaskTransition(channels=_dissolve, warp_out=_swirl, warp_in=_swirl),
    "water_drop": MaskTransition(channels=_dissolve, warp_out=_water_drop),
    "dreamy": MaskTransition(channels=_dissolve, warp_out=_dreamy_wave, warp_in=_dreamy_in),
}
