"""Caption frames are a feed: cropped to a region computed without drawing, drawn while ffmpeg runs."""

from __future__ import annotations

import pytest
from engine_media import FPS, H, W, spec_with

from PIL import Image

from framelane_renderer.engine import build_plan, compile_ffmpeg, text, validate
from framelane_renderer.engine.catalog import WORD_ANIMATION_STYLES
from framelane_renderer.engine.compile import caption_region

WORDS = [{"text": "Ship", "start": 0.0, "end": 0.4}, {"text": "videos", "start": 0.4, "end": 0.9},
         {"text": "from", "start": 0.9, "end": 1.3}, {"text": "JSON", "start": 1.3, "end": 2.0}]
LOOKS = {"plain": {}, "stroke": {"stroke": True, "stroke_width": 3},
         "shadow": {"shadow": True, "shadow_x": 6, "shadow_y": -4, "shadow_blur": 3},
         "plate": {"background": True, "background_color": "#102030", "x_padding": 12, "y_padding": 6}}


def caption(style: str, **fields) -> dict:
    return {"type": "text", "duration": 2, "font_size": 24, "width": "90%", "height": "60%",
            "word_animation": {"style": style, "words": WORDS}, **fields}


@pytest.mark.parametrize("look", LOOKS)
@pytest.mark.parametrize("style", WORD_ANIMATION_STYLES)
def test_the_caption_region_holds_every_pixel_drawn(style, look):
    element = validate(spec_with(caption(style, **LOOKS[look]))).normalized["elements"][0]
    spec = text.text_spec(element, W * 4, H * 4)
    placed = text.layout(spec)
    changes = [looks for _, looks in text.caption_looks(spec, 0.0, 2 * FPS * 3, FPS * 3)]
    assert len(changes) >= len(WORDS)
    left, top, right, bottom = text.caption_bounds(spec, placed, changes)
    for looks in changes:
        ink = text.render(spec, placed, looks).getbbox()
        if ink:
            assert left <= ink[0] and top <= ink[1] and ink[2] <= right and ink[3] <= bottom, (looks, ink)


def test_captions_compile_to_a_feed_of_raw_frames(tmp_path, sources):
    plan = build_plan(validate(spec_with(caption("scale_pop"))).normalized, sources)
    command = compile_ffmpeg(plan, tmp_path / "out.mp4", workdir=tmp_path / "work")
    (feed,) = command.feeds
    position = command.argv.index(str(feed.path))
    size = command.argv[command.argv.index("-video_size", position - 9) + 1]
    width, height = map(int, size.split("x"))
    assert command.argv[position - 9:position - 7] == ["-f", "rawvideo"]
    assert not feed.path.exists() and not list((tmp_path / "work").glob("*.tga"))  # nothing drawn yet
    assert 0 < width <= W and 0 < height <= H
    drawn = list(feed.frames())
    assert len(drawn) == 2 * FPS and {len(frame) for frame in drawn} == {width * height * 4}
    assert len(set(drawn)) > 3  # the look changes as the words are spoken


@pytest.mark.parametrize("scale", [("150%", "120%"), ("40%", "70%")])
def test_the_region_of_a_scaled_caption_box_holds_its_resampled_pixels(sources, scale):
    spec = validate(spec_with(caption("fly_in", stroke=True, x_scale=scale[0], y_scale=scale[1]))).normalized
    (visual,) = build_plan(spec, sources).layers
    placed = text.layout(visual.text)
    changes = [looks for _, looks in text.caption_looks(visual.text, 0.0, visual.frame_count, FPS)]
    box = visual.box
    assert (placed.width, placed.height) != (box.width, box.height)
    left, top, right, bottom = caption_region(visual, placed, changes)
    for looks in changes:
        ink = text.render(visual.text, placed, looks).resize((box.width, box.height), Image.Resampling.LANCZOS).getbbox()
        if ink:
            assert left <= ink[0] and top <= ink[1] and ink[2] <= right and ink[3] <= bottom, (looks, ink)
