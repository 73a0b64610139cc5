"""Canvas sizes, brand-safe areas and fonts shared by the workflow compilers.

Resolution names give the SHORT side ("720p" 9:16 is 720x1280), as phones and players read them;
both sides are even because H.264 with 4:2:0 chroma needs even dimensions.
"""

from __future__ import annotations

from dataclasses import dataclass

RESOLUTIONS = {"540p": 540, "720p": 720, "1080p": 1080}
ASPECT_RATIOS = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1), "4:3": (4, 3), "3:4": (3, 4)}
DEFAULT_FONT = "Inter"
# Families with CJK glyphs, in order of preference, used for Chinese copy when the renderer has one.
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei")


def canvas(aspect_ratio: str, short_side: int | str) -> tuple[int, int]:
    """(width, height) in pixels for an aspect ratio and a short side (pixels or a name like "720p")."""
    short = RESOLUTIONS[short_side] if isinstance(short_side, str) else int(short_side)
    across, down = ASPECT_RATIOS[aspect_ratio]
    long = 2 * round(short * max(across, down) / min(across, down) / 2)
    short = 2 * round(short / 2)
    return (long, short) if across >= down else (short, long)


def contain(width: int, height: int, box_width: float, box_height: float) -> tuple[int, int]:
    """The largest even size with the image's aspect ratio that fits in the box: nothing is cropped."""
    scale = min(box_width / width, box_height / height)
    return max(2, 2 * int(width * scale / 2)), max(2, 2 * int(height * scale / 2))


@dataclass(frozen=True)
class SafeArea:
    """Where copy goes on a canvas, as fractions of its height (centres) and width.

    Vertical video is overlaid by platform UI (status bar on top, captions and buttons at the
    bottom), so on 9:16 text stays below the top 10 % and above the bottom 15 %.
    """

    width: float  # share of the canvas width text may use, centred
    title_y: float
    product_top: float
    product_bottom: float
    badge_y: float
    caption_y: float


SAFE_AREAS = {
    "9:16": SafeArea(width=0.9, title_y=0.18, product_top=0.25, product_bottom=0.69, badge_y=0.765, caption_y=0.74),
    "3:4": SafeArea(width=0.9, title_y=0.13, product_top=0.21, product_bottom=0.74, badge_y=0.82, caption_y=0.8),
    "1:1": SafeArea(width=0.9, title_y=0.11, product_top=0.19, product_bottom=0.77, badge_y=0.86, caption_y=0.82),
    "4:3": SafeArea(width=0.9, title_y=0.11, product_top=0.2, product_bottom=0.77, badge_y=0.87, caption_y=0.83),
    "16:9": SafeArea(width=0.9, title_y=0.11, product_top=0.2, product_bottom=0.77, badge_y=0.87, caption_y=0.83),
}


def font_family(language: str) -> str:
    """A font family with glyphs for the language that the renderer has installed.

    The tasks and renderer images install the same font packages, so this host's fonts are the
    renderer's. When no CJK family is installed the default is kept (Chinese glyphs then render
    as boxes); installing one of CJK_FAMILIES fixes Chinese copy without a code change.
    """
    if language != "zh":
        return DEFAULT_FONT
    from framelane_renderer.engine.fonts import installed_faces  # noqa: PLC0415 - scans font dirs

    faces = installed_faces()
    return next((name for name in CJK_FAMILIES if name.lower() in faces), DEFAULT_FONT)
