"""The e-commerce video workflow compiler: product shots, title and price, and an end card with a CTA.

Input is the normalized request of seed-apis §B5 plus what the worker prepared (image sizes, the
synthesized music bed, the copy taken from the brief); output is a render spec for
`POST /v1/renders`. Pure: no I/O.

Each product shot is two layers in step: a blurred, darkened cover copy of the image filling the
canvas, and the image itself contained (never cropped: a product must be seen whole). Both layers
form their own transition chain with the same cut frames and transition types, so they change as one.
"""

from __future__ import annotations

from . import layout, timeline
from .inputs import AudioInput, ImageInput
from .prompt import Copy

DEFAULT_ASPECT_RATIO = "9:16"
SHORT_SIDE = 1080
END_CARD_SECONDS = 2.5
TRANSITION_SECONDS = 0.5
SHOT_TRANSITIONS = ("cross_dissolve", "wipe_left")
END_CARD_TRANSITION = "cross_dissolve"
BRAND_COLOR = "#ff5a36"
CANVAS_COLOR = "#111114"
MUSIC_VOLUME = 60
MUSIC_FADE_IN = 0.3
MUSIC_FADE_OUT = 1.5
PRODUCT_ENTRANCE_SECONDS = 0.6
TEXT_FADE_SECONDS = 0.4
END_CARD_LINE_SPACING = 0.14  # of the canvas height, between the end card's lines
# Font sizes as shares of the canvas' short side.
TITLE_SIZE = 0.065
PRICE_SIZE = 0.075
CTA_SIZE = 0.06
BACKDROP = {"blur": 60, "brightness": -0.25}
END_CARD_BACKDROP = {"blur": 80, "brightness": -0.45}
Z_BACKDROP, Z_PRODUCT, Z_TEXT = 0, 1, 2


def _product_box(image: ImageInput, width: int, height: int, area: layout.SafeArea) -> dict:
    """The image contained in the product band of the safe area: its box has the image's aspect."""
    box_w, box_h = layout.contain(image.width, image.height, width * area.width,
                                  height * (area.product_bottom - area.product_top))
    centre = (area.product_top + area.product_bottom) / 2
    return {"x": "50%", "y": f"{centre * 100:g}%", "width": box_w, "height": box_h}


def _fades(time: float, duration: float, entrance: bool = True, exit: bool = True) -> list[dict]:
    """Fade motions at an element's start and end (the engine tells entrance from exit by position)."""
    fade = min(TEXT_FADE_SECONDS, duration / 3)
    motions = []
    if entrance:
        motions.append({"type": "fade", "time": time, "duration": fade, "easing": "ease_out"})
    if exit:
        motions.append({"type": "fade", "time": round(time + duration - fade, 6), "duration": fade,
                        "easing": "ease_in"})
    return motions


def _text(element_id: str, text: str, time: float, duration: float, y: float, size: int, font: str,
          area: layout.SafeArea, plate: str | None = None, motions: list[dict] | None = None) -> dict:
    """A line of copy centred at `y` (share of the height), inside the safe width."""
    element = {
        "type": "text", "id": element_id, "text": text, "time": round(time, 6), "duration": round(duration, 6),
        "x": "50%", "y": f"{y * 100:g}%", "width": f"{area.width * 100:g}%", "height": round(size * 3),
        "font_family": font, "font_size": size, "font_weight": 800, "text_color": "#ffffff",
        "z_index": Z_TEXT, "motion": motions if motions is not None else _fades(time, duration),
    }
    if plate:
        element |= {"background": True, "background_color": plate, "x_padding": round(size * 0.6),
                    "y_padding": round(size * 0.3), "border_radius": round(size * 0.35)}
    else:
        # No plate: a soft shadow keeps white copy readable over a bright product.
        element |= {"shadow": True, "shadow_color": "#000000b0", "shadow_x": 0,
                    "shadow_y": max(1, size // 20), "shadow_blur": max(2, size // 10)}
    return element


def _backdrops(images: list[ImageInput], shots: list[timeline.Shot], duration: float) -> list[dict]:
    """Blurred, darkened cover copies of each image, then of the first one behind the end card."""
    elements = []
    for index, shot in enumerate(shots):
        card = index == len(images)
        elements.append({
            "type": "image", "id": "endcard_backdrop" if card else f"backdrop_{index:02d}",
            "source_url": images[0 if card else index].url, **timeline.timing(shot, duration),
            "z_index": Z_BACKDROP, **(END_CARD_BACKDROP if card else BACKDROP),
            # The slow push is the shot's gentle motion; on the backdrop it crops nothing that matters.
            "motion": [{"type": "ken_burns_in", **timeline.timing(shot, duration, extend=True), "easing": "linear"}],
        })
    return elements


def _products(images: list[ImageInput], shots: list[timeline.Shot], duration: float, width: int, height: int,
              area: layout.SafeArea) -> list[dict]:
    """Each image whole in the product band, popping in; the last fades out into the end card."""
    elements = []
    for index, (shot, image) in enumerate(zip(shots, images)):
        last = index == len(images) - 1
        # The last product has no successor in its chain: it stays through the end-card transition, fading.
        placed = timeline.timing(shot, duration, extend=last)
        motions = [{"type": "zoom_in", "time": placed["time"], "easing": "ease_out",
                    "duration": round(min(PRODUCT_ENTRANCE_SECONDS, placed["duration"] / 3), 6)}]
        if last and shot.tail:
            fade = timeline.seconds(shot.tail)
            motions.append({"type": "fade", "time": round(placed["time"] + placed["duration"] - fade, 6),
                            "duration": fade, "easing": "linear"})
        elements.append({
            "type": "image", "id": f"product_{index:02d}", "source_url": image.url, **placed,
            **_product_box(image, width, height, area), "z_index": Z_PRODUCT, "motion": motions,
        })
    return elements


def _copy_lines(copy: Copy, duration: float, card_time: float, short: int, area: layout.SafeArea,
                font: str) -> list[dict]:
    """The title over the first third, the price badge from then to the end card, and the end card's copy."""
    elements = []
    price_time = timeline.seconds(round(duration / 3 * timeline.FPS))
    title_size, price_size = round(TITLE_SIZE * short), round(PRICE_SIZE * short)
    if copy.title:
        until = price_time if copy.price else card_time
        elements.append(_text("title", copy.title, 0.0, until, area.title_y, title_size, font, area))
    if copy.price and card_time > price_time:
        shown = card_time - price_time
        motions = [{"type": "zoom_in", "time": price_time, "duration": 0.35, "easing": "ease_out"},
                   *_fades(price_time, shown, entrance=False)]
        elements.append(_text("price", copy.price, price_time, shown, area.badge_y, price_size, font, area,
                              plate=BRAND_COLOR, motions=motions))
    card_length = duration - card_time
    lines = [(name, text, size) for name, text, size in (
        ("endcard_title", copy.title, title_size), ("endcard_price", copy.price, price_size),
        ("endcard_cta", copy.cta, round(CTA_SIZE * short)),
    ) if text]
    for position, (name, text, size) in enumerate(lines):
        y = 0.5 + (position - (len(lines) - 1) / 2) * END_CARD_LINE_SPACING
        elements.append(_text(name, text, card_time, card_length, y, size, font, area,
                              plate=BRAND_COLOR if name == "endcard_cta" else None,
                              motions=_fades(card_time, card_length, exit=False)))
    return elements


def compile(params: dict, images: list[ImageInput], music: AudioInput, copy: Copy, *,
            short_side: int = SHORT_SIDE) -> dict:
    """The render spec of a product video: shots sharing the time before a 2.5 s end card.

    `short_side` is 1080 for the product (its price is per 1080p second); tests pass a smaller
    one to render quickly.
    """
    if not images:
        raise ValueError("an e-commerce video needs at least one image")
    aspect = params.get("aspect_ratio") or DEFAULT_ASPECT_RATIO
    width, height = layout.canvas(aspect, short_side)
    area = layout.SAFE_AREAS[aspect]
    duration = float(params["duration"])
    card_change = round((duration - END_CARD_SECONDS) * timeline.FPS)
    changes = [round(k * card_change / len(images)) for k in range(len(images))] + [card_change]
    shots = timeline.place(changes, timeline.frame_count(duration),
                           [round(TRANSITION_SECONDS * timeline.FPS)] * len(images))
    backdrops = _backdrops(images, shots, duration)
    products = _products(images, shots[:-1], duration, width, height, area)
    card_time = timeline.seconds(changes[-1])
    font = layout.font_family(params.get("language") or "en")
    # No voice-over exists in this pipeline, so the music needs no ducking: a steady bed under the copy.
    music_element = {
        "type": "audio", "id": "music", "source_url": music.url, "time": 0, "volume": MUSIC_VOLUME,
        "fade_in_duration": MUSIC_FADE_IN, "fade_out_duration": MUSIC_FADE_OUT,
    }
    # One transition type per cut, shared by the backdrop and product chains so both change as one.
    kinds = (*(SHOT_TRANSITIONS[k % len(SHOT_TRANSITIONS)] for k in range(len(images) - 1)), END_CARD_TRANSITION)
    transitions = (timeline.transitions([e["id"] for e in backdrops], shots, kinds)
                   + timeline.transitions([e["id"] for e in products], shots[:-1], kinds[:-1]))
    return {
        "width": width, "height": height, "frame_rate": timeline.FPS, "duration": duration,
        "output_format": "mp4", "background_color": CANVAS_COLOR,
        "elements": [*backdrops, *products, *_copy_lines(copy, duration, card_time, min(width, height), area,
                                                           font), music_element],
        "transitions": transitions,
        "metadata": {"workflow": "ecommerce-video", "title": copy.title or "", "price": copy.price or "",
                     "cta": copy.cta or ""},
    }
