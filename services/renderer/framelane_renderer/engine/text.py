"""Text elements and word-animation captions, laid out and drawn with Pillow (FreeType + raqm).

A text element becomes RGBA images the compiler overlays: one image for static text, or one image
per frame for a caption track whose words change look as they are spoken (drawn as ffmpeg reads
them; `caption_bounds` tells the region they can paint beforehand, without drawing).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from .fonts import select_face
from .values import parse_color, resolve_dimension

DEFAULT_HIGHLIGHT = "#ffd400"
DIMMED_OPACITY = 0.4
POP_SECONDS = 0.2
ENTER_SECONDS = 0.25
RUN_CACHE_SIZE = 256  # word layers kept between caption frames


@dataclass(frozen=True)
class TextStyle:
    """Resolved typography of one text element, in pixels."""

    font_path: str
    size: int
    color: tuple[int, int, int, int]
    align: str
    leading: float
    wrap: bool
    decoration: str
    stroke: tuple[int, tuple[int, int, int, int]] | None
    plate: tuple[tuple[int, int, int, int], int, int, int] | None  # colour, radius, pad x, pad y
    shadow: tuple[tuple[int, int, int, int], float, float, float] | None  # colour, dx, dy, blur
    highlight: tuple[int, int, int, int]


@dataclass(frozen=True)
class Word:
    """A laid-out word: its text, index, line and left x within the text box."""

    text: str
    index: int
    line: int
    x: float
    width: float


@dataclass(frozen=True)
class Layout:
    """Lines and words of a text element placed in a box of `width` x `height` pixels."""

    width: int
    height: int
    lines: tuple[tuple[str, float, float], ...]  # text, x, width
    words: tuple[Word, ...]
    top: float
    line_height: float
    ascent: float

    def baseline(self, line: int) -> float:
        """The y of line number `line`'s baseline in the box."""
        return self.top + self.ascent + line * self.line_height


@dataclass(frozen=True)
class WordLook:
    """How one caption word is drawn at one instant."""

    opacity: float = 1.0
    scale: float = 1.0
    dx: float = 0.0
    dy: float = 0.0
    highlight: bool = False
    box: bool = False
    glow: bool = False


@dataclass(frozen=True)
class CaptionWord:
    """A caption word with its absolute timeline times."""

    text: str
    start: float
    end: float


@dataclass
class TextSpec:
    """Everything needed to draw a text element, resolved from its normalized spec."""

    style: TextStyle
    content: str
    box_width: int
    box_height: int
    captions: list[CaptionWord] = field(default_factory=list)
    caption_style: str | None = None


@functools.cache
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, max(1, size))


def text_spec(element: dict, canvas_width: int, canvas_height: int) -> TextSpec:
    """Resolve a normalized text element into a TextSpec (font file, pixels, colours)."""
    font_style = element["font_style"]
    weight = element["font_weight"]
    if font_style in ("bold", "bolditalic"):
        weight = max(weight, 700)
    italic = font_style in ("italic", "bolditalic")
    font_path = select_face(element["font_family"], weight, italic)
    size = max(1, round(element["font_size"]))
    plate = None
    if element["background"]:
        color = parse_color(element["background_color"] or "#000000")
        color = (*color[:3], round(color[3] * element["background_opacity"] / 100))
        plate = (
            color,
            round(resolve_dimension(element["border_radius"], canvas_height)),
            round(resolve_dimension(element["x_padding"], canvas_width)),
            round(resolve_dimension(element["y_padding"], canvas_height)),
        )
    stroke = None
    if element["stroke"] and element["stroke_width"] > 0:
        stroke = (round(element["stroke_width"]), parse_color(element["stroke_color"] or "#000000"))
    shadow = None
    if element["shadow"]:
        shadow = (
            parse_color(element["shadow_color"] or "#000000b0"),
            resolve_dimension(element["shadow_x"], canvas_width),
            resolve_dimension(element["shadow_y"], canvas_height),
            resolve_dimension(element["shadow_blur"], canvas_height),
        )
    style = TextStyle(
        font_path=font_path or "",
        size=size,
        color=parse_color(element["text_color"]),
        align=element["text_align"],
        leading=element["leading"],
        wrap=element["text_wrap"] == "wrap",
        decoration=element["text_decoration"],
        stroke=stroke,
        plate=plate,
        shadow=shadow,
        highlight=parse_color(element["background_color"] or DEFAULT_HIGHLIGHT),
    )
    animation = element.get("word_animation")
    captions = []
    if animation:
        captions = [CaptionWord(w["text"], w["start"], w["end"]) for w in animation["words"]]
    return TextSpec(
        style=style,
        content=" ".join(w.text for w in captions) if captions else element["text"],
        box_width=max(1, round(resolve_dimension(element["width"], canvas_width))),
        box_height=max(1, round(resolve_dimension(element["height"], canvas_height))),
        captions=captions,
        caption_style=animation["style"] if animation else None,
    )


def _margin(style: TextStyle) -> int:
    """Horizontal room kept on each side of the text for plate padding, stroke, shadow and pops."""
    pad_x = style.plate[2] if style.plate else 0
    extra = style.stroke[0] if style.stroke else 0
    if style.shadow:
        extra += math.ceil(max(abs(style.shadow[1]), abs(style.shadow[2])) + 2 * style.shadow[3])
    # Captions pop and glow beyond the word boxes.
    extra += style.size // 4
    return pad_x + extra


def layout(spec: TextSpec) -> Layout:
    """Wrap and align the text inside its box, centred vertically."""
    style = spec.style
    font = _font(style.font_path, style.size)
    margin_x = _margin(style)
    available = max(1, spec.box_width - 2 * margin_x)
    space = font.getlength(" ")
    lines: list[list[tuple[str, float]]] = []
    for paragraph in spec.content.split("\n"):
        current: list[tuple[str, float]] = []
        used = 0.0
        for token in paragraph.split():
            width = font.getlength(token)
            if current and style.wrap and used + space + width > available:
                lines.append(current)
                current, used = [], 0.0
            used += (space if current else 0) + width
            current.append((token, width))
        lines.append(current)
    ascent, descent = font.getmetrics()
    line_height = style.size * style.leading
    text_height = line_height * (len(lines) - 1) + ascent + descent
    height = spec.box_height
    top = (height - text_height) / 2
    placed_lines = []
    words = []
    index = 0
    align = {"left": 0.0, "center": 0.5, "right": 1.0}[style.align]
    for number, line in enumerate(lines):
        line_width = sum(w for _, w in line) + space * max(0, len(line) - 1)
        x = margin_x + (available - line_width) * align
        placed_lines.append((" ".join(t for t, _ in line), x, line_width))
        for token, width in line:
            words.append(Word(token, index, number, x, width))
            index += 1
            x += width + space
    return Layout(spec.box_width, height, tuple(placed_lines), tuple(words), top, line_height, ascent)


def _run_region(
    canvas_size: tuple[int, int], text: str, x: float, baseline: float, style: TextStyle, look: WordLook,
    font: ImageFont.FreeTypeFont, size: int,
) -> tuple[int, int, int, int]:
    """A canvas region (left, top, right, bottom) holding everything `_draw_run` paints for the run.

    Generous on purpose: blurs need transparent room around the ink to fall off as on a full canvas.
    """
    stroke_width = style.stroke[0] if style.stroke else 0
    left, top, right, bottom = font.getbbox(text, anchor="ls", stroke_width=stroke_width)
    left, right = min(left, 0), max(right, font.getlength(text))
    ascent, descent = font.getmetrics()
    top, bottom = min(top, -ascent), max(bottom, descent)
    margin = 2 + stroke_width + size // 15 + size * 0.2
    grow = [0.0, 0.0, 0.0, 0.0]  # left, top, right, bottom
    if style.shadow:
        _, dx, dy, radius = style.shadow
        spread = 4 * radius + 4
        grow = [max(0.0, -dx) + spread, max(0.0, -dy) + spread, max(0.0, dx) + spread, max(0.0, dy) + spread]
    if look.glow:
        spread = max(1, size // 12) + 4 * (size / 5) + 4
        grow = [max(g, spread) for g in grow]
    x0 = math.floor(x + left - margin - grow[0])
    y0 = math.floor(baseline + top - margin - grow[1])
    x1 = math.ceil(x + right + margin + grow[2])
    y1 = math.ceil(baseline + bottom + margin + grow[3])
    width, height = canvas_size
    # Even corners: Pillow rounds some coordinates half-to-even, which an even shift leaves alone.
    return max(0, x0 - x0 % 2), max(0, y0 - y0 % 2), min(width, x1), min(height, y1)


def _draw_run(
    canvas: Image.Image, text: str, x: float, baseline: float, style: TextStyle,
    look: WordLook, width: float, cache: dict | None = None,
) -> None:
    """Draw one run of text (a line or a word) with its plate-less decorations onto `canvas`.

    The run is drawn on a layer only as big as the run (and its shadow, glow and box) and
    composited at its place, which draws the same pixels as a canvas-sized layer. Layers are
    reused through `cache`: caption frames redraw mostly the same words with the same looks.
    """
    key = (canvas.size, text, x, baseline, style, look, width)
    if cache is not None and key in cache:
        drawn = cache[key]
    else:
        drawn = _run_layer(*key)
        if cache is not None:
            if len(cache) >= RUN_CACHE_SIZE:
                cache.clear()
            cache[key] = drawn
    if drawn is not None:
        layer, ox, oy = drawn
        canvas.alpha_composite(layer, dest=(ox, oy))


@functools.lru_cache(maxsize=4096)
def _run_geometry(
    canvas_size: tuple[int, int], text: str, x: float, baseline: float, style: TextStyle,
    look: WordLook, width: float,
) -> tuple[ImageFont.FreeTypeFont, int, float, float, tuple[int, int, int, int]]:
    """Where a run with `look` is drawn: its font, size, pen position and canvas region."""
    size = max(1, round(style.size * look.scale))
    font = _font(style.font_path, size)
    # Scaled words grow about their own centre.
    x = x + width / 2 - font.getlength(text) / 2 + look.dx
    baseline = baseline + (size - style.size) * 0.35 + look.dy
    return font, size, x, baseline, _run_region(canvas_size, text, x, baseline, style, look, font, size)


def _run_layer(
    canvas_size: tuple[int, int], text: str, x: float, baseline: float, style: TextStyle,
    look: WordLook, width: float,
) -> tuple[Image.Image, int, int] | None:
    """The run's layer and where its corner goes on the canvas (None when nothing is visible)."""
    font, size, x, baseline, (ox, oy, ox1, oy1) = _run_geometry(canvas_size, text, x, baseline, style, look, width)
    if ox1 <= ox or oy1 <= oy:
        return None

    def at(*points: float) -> tuple[float, ...]:
        """Canvas coordinates (x, y, x, y, ...) made local to the layer, after all arithmetic on them
        is done: an integer shift is then exact and keeps how Pillow rounds every coordinate."""
        return tuple(value - (ox if position % 2 == 0 else oy) for position, value in enumerate(points))

    layer_size = (ox1 - ox, oy1 - oy)
    layer = Image.new("RGBA", layer_size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    if look.box:
        pad = style.size * 0.15
        ascent, descent = font.getmetrics()
        draw.rounded_rectangle(
            at(x - pad, baseline - ascent - pad / 2, x + font.getlength(text) + pad, baseline + descent + pad / 2),
            radius=round(pad), fill=style.highlight,
        )
    color = style.highlight if look.highlight else style.color
    if style.shadow:
        shadow_layer = Image.new("RGBA", layer_size, (0, 0, 0, 0))
        shadow_color, dx, dy, radius = style.shadow
        ImageDraw.Draw(shadow_layer).text(at(x + dx, baseline + dy), text, font=font, fill=shadow_color, anchor="ls")
        if radius > 0:
            shadow_layer = shadow_layer.filter(ImageFilter.GaussianBlur(radius))
        layer = Image.alpha_composite(layer, shadow_layer)
        draw = ImageDraw.Draw(layer)
    if look.glow:
        glow_layer = Image.new("RGBA", layer_size, (0, 0, 0, 0))
        ImageDraw.Draw(glow_layer).text(at(x, baseline), text, font=font, fill=color, anchor="ls",
                                        stroke_width=max(1, size // 12), stroke_fill=color)
        layer = Image.alpha_composite(layer, glow_layer.filter(ImageFilter.GaussianBlur(size / 5)))
        draw = ImageDraw.Draw(layer)
    stroke_width, stroke_color = style.stroke if style.stroke else (0, None)
    draw.text(at(x, baseline), text, font=font, fill=color, anchor="ls",
              stroke_width=stroke_width, stroke_fill=stroke_color)
    if style.decoration != "none":
        thickness = max(1, size // 15)
        run_width = font.getlength(text)
        y = baseline + size * 0.1 if style.decoration == "underline" else baseline - font.getmetrics()[0] * 0.3
        draw.rectangle(at(x, y, x + run_width, y + thickness), fill=color)
    if look.opacity < 1:
        alpha = layer.getchannel("A").point(lambda v: round(v * look.opacity))
        layer.putalpha(alpha)
    return layer, ox, oy


def _plate_rect(style: TextStyle, placed: Layout) -> tuple[float, float, float, float]:
    """The background plate behind the lines: (left, top, right, bottom) in the text box."""
    _, _, pad_x, pad_y = style.plate
    left = min(x for _, x, _ in placed.lines) - pad_x
    right = max(x + w for _, x, w in placed.lines) + pad_x
    ascent, descent = _font(style.font_path, style.size).getmetrics()
    bottom = placed.top + placed.line_height * (len(placed.lines) - 1) + ascent + descent + pad_y
    return left, placed.top - pad_y, right, bottom


def render(spec: TextSpec, placed: Layout, looks: list[WordLook] | None = None,
           cache: dict | None = None) -> Image.Image:
    """Draw the text box: plate, then lines (static text) or words with their looks (captions)."""
    style = spec.style
    canvas = Image.new("RGBA", (placed.width, placed.height), (0, 0, 0, 0))
    if style.plate:
        color, radius, _, _ = style.plate
        ImageDraw.Draw(canvas).rounded_rectangle(_plate_rect(style, placed), radius=radius, fill=color)
    if looks is None:
        for number, (text, x, width) in enumerate(placed.lines):
            _draw_run(canvas, text, x, placed.baseline(number), style, WordLook(), width)
        return canvas
    for word, look in zip(placed.words, looks, strict=True):
        if look.opacity <= 0:
            continue
        _draw_run(canvas, word.text, word.x, placed.baseline(word.line), style, look, word.width, cache)
    return canvas


def _entering(t: float, word: CaptionWord) -> float:
    return min(1.0, max(0.0, (t - word.start) / ENTER_SECONDS))


def word_looks(style_name: str, words: list[CaptionWord], t: float, size: int) -> list[WordLook]:
    """The look of every caption word at absolute time `t` for one word-animation style."""
    looks = []
    for word in words:
        active = word.start <= t < word.end
        spoken = t >= word.start
        look = WordLook()
        if style_name == "glow":
            look = WordLook(opacity=1.0 if active else DIMMED_OPACITY, glow=active)
        elif style_name == "box":
            look = WordLook(box=active)
        elif style_name == "color":
            look = WordLook(highlight=active)
        elif style_name == "scale_pop" and active:
            pop = min(1.0, (t - word.start) / POP_SECONDS)
            look = WordLook(scale=1 + 0.3 * math.sin(math.pi * pop) + 0.1 * pop)
        elif style_name == "slide_up":
            enter = _entering(t, word)
            look = WordLook(opacity=enter if spoken else 0.0, dy=(1 - enter) * size * 0.8)
        elif style_name == "fly_in":
            enter = _entering(t, word)
            look = WordLook(opacity=enter if spoken else 0.0, dx=-(1 - enter) * size * 4, scale=1 + 0.5 * (1 - enter))
        looks.append(look)
    return looks


WORD_ANIMATION_STYLES = ("glow", "box", "scale_pop", "slide_up", "fly_in", "color")


def caption_looks(spec: TextSpec, element_start: float, frame_count: int, fps: int):
    """Yield (frame index, word looks) for each frame whose caption look differs from the previous one."""
    previous = None
    for index in range(frame_count):
        looks = word_looks(spec.caption_style or "", spec.captions, element_start + index / fps, spec.style.size)
        if looks != previous:
            yield index, looks
            previous = looks


def caption_bounds(spec: TextSpec, placed: Layout, changes: list[list[WordLook]]) -> tuple[int, int, int, int] | None:
    """A region (left, top, right, bottom) of the text box holding every pixel that drawing each of
    `changes` can paint (the plate and each visible word's run region), found without drawing;
    None when nothing is visible."""
    style = spec.style
    regions = []
    if style.plate:
        left, top, right, bottom = _plate_rect(style, placed)
        regions.append((math.floor(left) - 1, math.floor(top) - 1, math.ceil(right) + 1, math.ceil(bottom) + 1))
    visible = {(word, look) for looks in changes for word, look in zip(placed.words, looks, strict=True)
               if look.opacity > 0}
    for word, look in visible:
        regions.append(_run_geometry((placed.width, placed.height), word.text, word.x, placed.baseline(word.line),
                                     style, look, word.width)[-1])
    regions = [(max(0, x0), max(0, y0), min(placed.width, x1), min(placed.height, y1))
               for x0, y0, x1, y1 in regions]
    regions = [r for r in regions if r[2] > r[0] and r[3] > r[1]]
    if not regions:
        return None
    return (min(r[0] for r in regions), min(r[1] for r in regions),
            max(r[2] for r in regions), max(r[3] for r in regions))
