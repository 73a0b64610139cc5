"""Parsing of the spec's scalar value types: dimensions, angles and colours."""

from __future__ import annotations

import math
import re

_DIMENSION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(%|px)?\s*$")
_ANGLE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(°|deg|rad)?\s*$")
COLOR_PATTERN = re.compile(r"^#([0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")


def is_number(value: object) -> bool:
    """True for JSON numbers (ints and finite floats), false for booleans."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value)


def parse_dimension(value: object) -> tuple[float, str] | None:
    """Parse a Dimension into (number, unit) with unit `%` or `px`; None when invalid."""
    if is_number(value):
        return float(value), "px"
    if isinstance(value, str):
        match = _DIMENSION.match(value)
        if match:
            return float(match.group(1)), match.group(2) or "px"
    return None


def resolve_dimension(value: object, reference: float) -> float:
    """Pixels for a valid Dimension, with `%` taken of `reference`."""
    number, unit = parse_dimension(value) or (0.0, "px")
    return number * reference / 100.0 if unit == "%" else number


def parse_angle(value: object) -> float | None:
    """Degrees for a rotation value (number = degrees, or `°`/`deg`/`rad` strings); None when invalid."""
    if is_number(value):
        return float(value)
    if isinstance(value, str):
        match = _ANGLE.match(value)
        if match:
            number = float(match.group(1))
            return math.degrees(number) if match.group(2) == "rad" else number
    return None


def parse_scale(value: object) -> float | None:
    """Scale factor from `"100%"` (1.0) or a bare number in percent; None when invalid."""
    parsed = parse_dimension(value)
    if parsed is None:
        return None
    return parsed[0] / 100.0


def parse_color(value: str) -> tuple[int, int, int, int]:
    """RGBA tuple for a `#rrggbb` or `#rrggbbaa` colour already checked against COLOR_PATTERN."""
    digits = value[1:]
    if len(digits) == 6:
        digits += "ff"
    return tuple(int(digits[i : i + 2], 16) for i in range(0, 8, 2))  # type: ignore[return-value]


def ffmpeg_color(rgba: tuple[int, int, int, int]) -> str:
    """FFmpeg colour syntax (`0xRRGGBB@alpha`) for an RGBA tuple."""
    r, g, b, a = rgba
    return f"0x{r:02x}{g:02x}{b:02x}@{a / 255:.4f}"
