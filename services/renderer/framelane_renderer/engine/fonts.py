"""Installed font families: discovery, and the choice of a font file for a text element."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

from PIL import ImageFont

FONT_DIRS_ENV = "FRAMELANE_FONT_DIRS"
SYSTEM_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts")
FONT_SUFFIXES = {".ttf", ".otf", ".ttc"}

# Families used when the requested one is not installed, chosen by the requested name's generic class.
FALLBACK_FAMILIES = {
    "sans": ("Inter", "DejaVu Sans", "Liberation Sans"),
    "serif": ("DejaVu Serif", "Liberation Serif"),
    "mono": ("DejaVu Sans Mono", "Liberation Mono"),
}

_WEIGHT_WORDS = (
    ("extralight", 200), ("ultralight", 200), ("semibold", 600), ("demibold", 600),
    ("extrabold", 800), ("ultrabold", 800), ("thin", 100), ("light", 300), ("book", 400),
    ("regular", 400), ("medium", 500), ("bold", 700), ("black", 900), ("heavy", 900),
)


@dataclass(frozen=True)
class FontFace:
    """One font file of a family."""

    family: str
    weight: int
    italic: bool
    path: str


def _style_weight(style: str) -> tuple[int, bool]:
    compact = style.lower().replace(" ", "").replace("-", "")
    italic = "italic" in compact or "oblique" in compact
    for word, weight in _WEIGHT_WORDS:
        if word in compact:
            return weight, italic
    return 400, italic


def _font_dirs() -> list[Path]:
    extra = [d for d in os.environ.get(FONT_DIRS_ENV, "").split(os.pathsep) if d]
    return [Path(d) for d in (*extra, *SYSTEM_FONT_DIRS)]


@functools.cache
def installed_faces() -> dict[str, tuple[FontFace, ...]]:
    """All usable faces by lower-cased family name (condensed widths are left out)."""
    families: dict[str, list[FontFace]] = {}
    for directory in _font_dirs():
        if not directory.is_dir():
            continue
        for path in sorted(directory.rglob("*")):
            if path.suffix.lower() not in FONT_SUFFIXES:
                continue
            try:
                family, style = ImageFont.truetype(str(path), 12).getname()
            except OSError:
                continue
            if not family or "condensed" in (style or "").lower():
                continue
            weight, italic = _style_weight(style or "")
            families.setdefault(family.lower(), []).append(FontFace(family, weight, italic, str(path)))
    return {key: tuple(faces) for key, faces in families.items()}


def family_names() -> list[str]:
    """Display names of every installed family, sorted."""
    return sorted(faces[0].family for faces in installed_faces().values())


def _generic_class(family: str) -> str:
    name = family.lower()
    if "mono" in name or "code" in name:
        return "mono"
    if "serif" in name and "sans" not in name:
        return "serif"
    return "sans"


def substitute_family(family: str) -> str | None:
    """The installed family used for `family`: itself when installed, else a generic fallback."""
    faces = installed_faces()
    if family.lower() in faces:
        return faces[family.lower()][0].family
    for candidate in FALLBACK_FAMILIES[_generic_class(family)]:
        if candidate.lower() in faces:
            return faces[candidate.lower()][0].family
    return None


def select_face(family: str, weight: int, italic: bool) -> str | None:
    """Path of the installed face closest to (weight, italic) in the family or its substitute."""
    chosen = substitute_family(family)
    if chosen is None:
        return None
    faces = installed_faces()[chosen.lower()]
    best = min(faces, key=lambda f: (f.italic != italic, abs(f.weight - weight)))
    return best.path
