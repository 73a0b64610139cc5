"""Motions and easings as functions of progress that work on numbers and on FFmpeg expressions.

A motion changes an element's animation state (opacity, offset, scale, rotation, blur, content
zoom) as its progress runs from 0 to 1. The same function is evaluated per frame in Python for
values sent to filters with `sendcmd`, and once on an `Expr` to get the per-frame expression used
by filters that only take expressions (`perspective` for scale, `zoompan` for content zoom).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

KEN_BURNS_ZOOM = 0.25


class Expr:
    """An FFmpeg expression built with Python arithmetic operators."""

    def __init__(self, text: str):
        self.text = text

    @staticmethod
    def of(value: Union["Expr", float]) -> "Expr":
        """Wrap a number as an expression (expressions pass through)."""
        return value if isinstance(value, Expr) else Expr(f"{float(value):.6f}")

    def _op(self, other: Union["Expr", float], op: str, swap: bool = False) -> "Expr":
        left, right = (Expr.of(other), self) if swap else (self, Expr.of(other))
        return Expr(f"({left.text}{op}{right.text})")

    def __add__(self, other):
        return self._op(other, "+")

    def __radd__(self, other):
        return self._op(other, "+", swap=True)

    def __sub__(self, other):
        return self._op(other, "-")

    def __rsub__(self, other):
        return self._op(other, "-", swap=True)

    def __mul__(self, other):
        return self._op(other, "*")

    def __rmul__(self, other):
        return self._op(other, "*", swap=True)

    def __neg__(self):
        return Expr(f"(-{self.text})")

    def __abs__(self):
        return Expr(f"abs({self.text})")


Value = Union[float, Expr]

EASINGS: dict[str, Callable[[Value], Value]] = {
    "linear": lambda p: p,
    "ease_in": lambda p: p * p,
    "ease_out": lambda p: p * (2 - p),
    "ease_in_out": lambda p: p * p * (3 - 2 * p),
}


@dataclass
class MotionState:
    """Animation state of an element at one instant; the identity state changes nothing."""

    opacity: Value = 1.0
    dx: Value = 0.0
    dy: Value = 0.0
    scale: Value = 1.0
    angle: Value = 0.0
    blur: Value = 0.0
    zoom: Value = 1.0


@dataclass(frozen=True)
class Box:
    """The element's resting box on the canvas, in pixels."""

    canvas_width: int
    canvas_height: int
    left: float
    top: float
    width: float
    height: float


MotionFn = Callable[[MotionState, Value, bool, Box], None]


def fade(state: MotionState, p: Value, exit: bool, box: Box) -> None:
    """Opacity from 0 to 1 (entrance) or 1 to 0 (exit)."""
    state.opacity = state.opacity * ((1 - p) if exit else p)


def _slide(direction: str) -> MotionFn:
    def slide(state: MotionState, p: Value, exit: bool, box: Box) -> None:
        exit_distance = {"up": box.top + box.height, "down": box.canvas_height - box.top,
                  "left": box.left + box.width, "right": box.canvas_width - box.left}
        entrance_distance = {"up": box.canvas_height - box.top, "down": box.top + box.height,
                 "left": box.canvas_width - box.left, "right": box.left + box.width}
        sign = -1 if direction in ("up", "left") else 1
        # An entrance arrives from the far side of its travel; an exit leaves towards it.
        if exit:
            offset = sign * exit_distance[direction] * p
        else:
            offset = -sign * entrance_distance[direction] * (1 - p)
        if direction in ("up", "down"):
            state.dy = state.dy + offset
        else:
            state.dx = state.dx + offset

    slide.__doc__ = f"Slide moving {direction}: in from off-canvas, or out of the canvas."
    return slide


def zoom_in(state: MotionState, p: Value, exit: bool, box: Box) -> None:
    """Scale about the centre from 0 to full size (entrance) or back to 0 (exit)."""
    state.scale = state.scale * ((1 - p) if exit else p)


def zoom_out(state: MotionState, p: Value, exit: bool, box: Box) -> None:
    """Exit: scale about the centre from full size down to 0."""
    state.scale = state.scale * (1 - p)


def _rotate(sign: int) -> MotionFn:
    def rotate(state: MotionState, p: Value, exit: bool, box: Box) -> None:
        turn = p * 360 if exit else (p - 1) * 360
        state.angle = state.angle + sign * turn

    rotate.__doc__ = "One full turn " + ("clockwise." if sign > 0 else "counter-clockwise.")
    return rotate


def blur(state: MotionState, p: Value, exit: bool, box: Box) -> None:
    """From fully blurred to sharp (entrance) or sharp to blurred (exit)."""
    state.blur = state.blur + (p if exit else 1 - p)


def ken_burns_in(state: MotionState, p: Value, exit: bool, box: Box) -> None:
    """Content zoom from 100 % to 125 % inside the element's box."""
    state.zoom = state.zoom * (1 + KEN_BURNS_ZOOM * p)


def ken_burns_out(state: MotionState, p: Value, exit: bool, box: Box) -> None:
    """Content zoom from 125 % back to 100 %."""
    state.zoom = state.zoom * (1 + KEN_BURNS_ZOOM * (1 - p))


def ken_burns_in_out(state: MotionState, p: Value, exit: bool, box: Box) -> None:
    """Content zoom to 125 % at mid-motion and back to 100 %."""
    state.zoom = state.zoom * (1 + KEN_BURNS_ZOOM * (1 - abs(2 * p - 1)))


IMPLEMENTATIONS: dict[str, MotionFn] = {
    "fade": fade,
    "slide_up": _slide("up"),
    "slide_down": _slide("down"),
    "slide_left": _slide("left"),
    "slide_right": _slide("right"),
    "zoom_in": zoom_in,
    "zoom_out": zoom_out,
    "rotate_cw": _rotate(1),
    "rotate_ccw": _rotate(-1),
    "blur": blur,
    "ken_burns_in": ken_burns_in,
    "ken_burns_out": ken_burns_out,
    "ken_burns_in_out": ken_burns_in_out,
}


@dataclass(frozen=True)
class MotionWindow:
    """One motion placed on an element's local timeline (seconds from the element's start)."""

    type: str
    start: float
    duration: float
    easing: str
    exit: bool
    reversed: bool


def progress(window: MotionWindow, t: Value) -> Value:
    """Eased progress of the window at local time `t` (clamped to 0–1 outside it)."""
    if isinstance(t, Expr):
        raw: Value = Expr(f"clip(({t.text}-{window.start:.6f})/{window.duration:.6f},0,1)")
    else:
        raw = min(1.0, max(0.0, (t - window.start) / window.duration))
    eased = EASINGS[window.easing](raw)
    return 1 - eased if window.reversed else eased


def state_at(windows: list[MotionWindow], t: Value, box: Box) -> MotionState:
    """Combined state of all windows at local time `t` (a number, or an Expr of time)."""
    state = MotionState()
    for window in windows:
        IMPLEMENTATIONS[window.type](state, progress(window, t), window.exit, box)
    return state
