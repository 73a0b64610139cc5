"""Every supported catalog row rendered and checked for its effect on pixels.

The parameter lists are read from the catalog, so a row marked `supported: true` without a test
cannot exist.
"""

from __future__ import annotations

import numpy as np
import pytest
from engine_media import Renderer, close, frames, pixel, spec_with, url

from framelane_renderer.engine import catalog


def supported(table: dict) -> list[str]:
    return [name for name, row in table.items() if row.supported]


def mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a[..., :3].astype(int) - b[..., :3].astype(int)).mean())


def pattern(**fields) -> dict:
    return {"type": "image", "id": "pattern", "source_url": url("pattern"), "duration": 2, **fields}


@pytest.fixture(scope="module")
def pattern_frame(tmp_path_factory, sources):
    return frames(Renderer(tmp_path_factory.mktemp("baseline"), sources)(spec_with(pattern())))[5]


def clip(name: str, element_id: str, time: float) -> dict:
    return {"type": "video", "id": element_id, "source_url": url(name), "time": time, "in_point": 0, "out_point": 1}


def still(name: str, element_id: str, time: float) -> dict:
    return {"type": "image", "id": element_id, "source_url": url(name), "time": time, "duration": 1}


@pytest.mark.parametrize("transition", supported(catalog.TRANSITIONS))
def test_transition_blends_between_the_cuts(render, transition):
    spec = spec_with(still("quadrants", "a", 0), still("pattern", "b", 1),
                     transitions=[{"type": transition, "duration": 0.8, "from_id": "a", "to_id": "b"}])
    shown = frames(render(spec))
    assert len(shown) == 20
    outgoing, incoming, middle = shown[5], shown[19], shown[14]
    assert mean_difference(shown[9], outgoing) < 2
    assert mean_difference(middle, outgoing) > 10 and mean_difference(middle, incoming) > 10


def test_transition_chain_of_three(render):
    spec = spec_with(clip("red", "a", 0), clip("blue", "b", 1), {**clip("green", "c", 2)}, duration=3,
                     transitions=[{"type": "wipe_left", "duration": 0.4, "from_id": "a", "to_id": "b"},
                                  {"type": "cross_dissolve", "duration": 0.4, "from_id": "b", "to_id": "c"}])
    shown = frames(render(spec))
    assert close(pixel(shown[15], 80, 45), (0, 0, 255))
    assert close(pixel(shown[27], 80, 45), (0, 255, 0))
    assert not close(pixel(shown[22], 80, 45), (0, 0, 255)) and not close(pixel(shown[22], 80, 45), (0, 255, 0))


MOTION_ELEMENT = {"type": "image", "id": "q", "source_url": url("pattern"), "duration": 3, "width": "50%", "height": "50%"}


@pytest.mark.parametrize("motion", supported(catalog.MOTIONS))
def test_motion_changes_frames_while_it_runs(render, motion):
    spec = spec_with({**MOTION_ELEMENT, "motion": [{"type": motion, "time": 0.5, "duration": 1}]}, duration=3)
    shown = frames(render(spec))
    middle, rest = shown[10], shown[25]
    assert mean_difference(middle, rest) > 2
    if motion not in catalog.EXIT_ONLY_MOTIONS and not motion.startswith("ken_burns"):
        assert mean_difference(shown[17], rest) < 2  # an entrance ends at the element's resting state


def test_entrance_slide_starts_off_canvas_and_exit_leaves(render):
    spec = spec_with({**MOTION_ELEMENT, "source_url": url("quadrants"), "motion": [{"type": "slide_up", "time": 0, "duration": 1},
                                                    {"type": "slide_left", "time": 2, "duration": 1}]}, duration=3)
    shown = frames(render(spec))
    assert shown[0][..., :3].max() < 30
    assert close(pixel(shown[15], 60, 30), (255, 0, 0))
    assert close(pixel(shown[20], 60, 30), (255, 0, 0))
    assert shown[29][:, 20:, :3].max() < 30


@pytest.mark.parametrize("easing", supported(catalog.EASINGS))
def test_easing_shapes_a_fade(render, easing):
    spec = spec_with({**MOTION_ELEMENT, "source_url": url("gray"), "width": "100%", "height": "100%",
                      "motion": [{"type": "fade", "time": 0, "duration": 2, "easing": easing}]})
    level = int(pixel(frames(render(spec))[5], 80, 45)[0]) / 128  # a quarter of the way through
    expected = {"linear": 0.25, "ease_in": 0.0625, "ease_out": 0.4375, "ease_in_out": 0.15625}[easing]
    assert abs(level - expected) < 0.05


@pytest.mark.parametrize("effect", [name for name in supported(catalog.EFFECTS) if name != "chroma_key"])
def test_effect_changes_pixels(render, pattern_frame, effect):
    shown = frames(render(spec_with(pattern(effects=[{"type": effect}]))))[5]
    assert mean_difference(shown, pattern_frame) > 4


@pytest.mark.parametrize("effect", ["sepia", "invert", "posterize", "mosaic"])
def test_effect_intensity_scales_the_change(render, pattern_frame, effect):
    half = frames(render(spec_with(pattern(effects=[{"type": effect, "intensity": 40}]))))[5]
    full = frames(render(spec_with(pattern(effects=[{"type": effect}]))))[5]
    assert mean_difference(half, pattern_frame) < mean_difference(full, pattern_frame)


def test_specific_effect_colours(render):
    orange = {"type": "image", "id": "o", "source_url": url("orange"), "duration": 2}
    inverted = frames(render(spec_with({**orange, "effects": [{"type": "invert"}]})))[5]
    assert close(pixel(inverted, 80, 45), (0, 127, 255), 12)
    sepia = frames(render(spec_with({**orange, "source_url": url("gray"), "effects": [{"type": "sepia"}]})))[5]
    r, g, b = pixel(sepia, 80, 45)
    assert r > g > b


def test_chroma_key_reveals_what_is_behind(render):
    spec = spec_with({"type": "video", "source_url": url("green"), "effects": [{"type": "chroma_key"}]},
                     background_color="#ff0000")
    assert close(pixel(frames(render(spec))[5], 80, 45), (255, 0, 0), 30)


@pytest.mark.parametrize("name", supported(catalog.COLOR_FIELDS))
def test_colour_field_changes_pixels(render, pattern_frame, name):
    value = {"brightness": 0.4, "contrast": 0.6, "saturation": -1, "exposure": 0.5, "hue_rotate": 120,
             "blur": 40, "noise": 60, "vignette": 100, "sharpness": 100}[name]
    shown = frames(render(spec_with(pattern(**{name: value}))))[5]
    assert mean_difference(shown, pattern_frame) > 3


BLEND_EXPECTED = {
    # orange (255,128,0) over grey (128,128,128)
    "none": (255, 128, 0), "multiply": (128, 64, 0), "screen": (255, 192, 128), "darken": (128, 128, 0),
    "lighten": (255, 128, 128), "overlay": (255, 128, 0), "hard_light": (255, 128, 0),
    "color_dodge": (255, 255, 128), "color_burn": (128, 0, 0), "soft_light": (255, 128, 0),
}


@pytest.mark.parametrize("mode", supported(catalog.BLEND_MODES))
def test_blend_mode_composites(render, mode):
    gray = {"type": "image", "id": "g", "source_url": url("gray"), "duration": 2}
    orange = {"type": "image", "id": "o", "source_url": url("orange"), "duration": 2, "z_index": 1,
              "width": "50%", "blend_mode": mode}
    shown = frames(render(spec_with(orange, gray)))[5]
    assert close(pixel(shown, 10, 45), (128, 128, 128), 8)  # outside the layer the base is untouched
    if mode in ("none", "multiply", "screen", "darken", "lighten"):
        assert close(pixel(shown, 80, 45), BLEND_EXPECTED[mode], 14)
    else:
        assert not close(pixel(shown, 80, 45), (128, 128, 128), 8)


WORDS = [{"text": "one", "start": 0.0, "end": 0.5}, {"text": "two", "start": 0.5, "end": 1.0},
         {"text": "three", "start": 1.0, "end": 1.5}, {"text": "four", "start": 1.5, "end": 2.0}]


@pytest.mark.parametrize("style", supported(catalog.WORD_ANIMATION_STYLES))
def test_word_animation_follows_the_words(render, style):
    caption = {"type": "text", "text": "one two three four", "duration": 2, "font_size": 22,
               "word_animation": {"style": style, "words": WORDS}}
    if style == "box":
        caption["background_color"] = "#ff0000"
    shown = frames(render(spec_with(caption)))
    static = frames(render(spec_with({**caption, "word_animation": None})))[12]
    first, third = shown[2], shown[12]
    assert mean_difference(first, third) > 0.3
    assert mean_difference(third, static) > 0.3
    assert third[..., :3].max() > 200
