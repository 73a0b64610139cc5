"""Mask transitions (transitions.MaskTransition): shapes at known progress, the merge against the
mask frame by frame, transparent layers, and the command (a raw feed into maskedmerge, no xfade
expression).

Clips: red then blue (or white then blue), 160x90 at 10 fps; the transition starts at frame 10 and
lasts 0.8 s, so frame 10 + n has progress n / 8 and frame 18 is the incoming clip's alone.
"""

from __future__ import annotations

import numpy as np
import pytest
from engine_media import FPS, H, W, close, frames, pixel, spec_with, url

from framelane_renderer.engine import catalog, transitions

RED, BLUE, WHITE, GREEN = (255, 0, 0), (0, 0, 255), (255, 255, 255), (0, 255, 0)


def clip(name: str, element_id: str, time: float, **fields) -> dict:
    return {"type": "video", "id": element_id, "source_url": url(name), "time": time, "in_point": 0, "out_point": 1,
            **fields}


def joined(kind: str, first: str = "red", second: str = "blue", **fields) -> dict:
    return spec_with(clip(first, "a", 0, **fields), clip(second, "b", 1, **fields),
                     transitions=[{"type": kind, "duration": 0.8, "from_id": "a", "to_id": "b"}])


def rendered(render, kind: str, first: str = "red", second: str = "blue", **fields) -> np.ndarray:
    shown = frames(render(joined(kind, first, second, **fields)))
    assert len(shown) == 20
    return shown


def at(frame: np.ndarray, x: float, y: float) -> np.ndarray:
    """The pixel at fractions of the frame's width and height from the top left."""
    return pixel(frame, int(x * W), int(y * H))


def mask_weights(kind: str, progress: float) -> np.ndarray:
    transition = transitions.MASK_TRANSITIONS[kind]
    return np.broadcast_to(np.asarray(transition.shape(transitions.grid(W, H), progress), np.float32), (H, W))


def near_an_edge(weight: np.ndarray, reach: int = 2) -> np.ndarray:
    """Pixels within `reach` pixels of one whose weight differs from theirs."""
    near = np.zeros(weight.shape, bool)
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            near |= np.abs(np.roll(weight, (dy, dx), axis=(0, 1)) - weight) > 0.1
    return near


@pytest.mark.parametrize("kind", [name for name, row in transitions.MASK_TRANSITIONS.items() if row.shape])
def test_each_frame_is_the_mask_mix_of_the_two_clips(render, kind):
    shown = rendered(render, kind)
    assert close(pixel(shown[9], 80, 45), RED) and close(pixel(shown[18], 80, 45), BLUE)
    for n in range(8):
        weight = mask_weights(kind, n / 8)[..., None]
        expected = np.asarray(RED) * (1 - weight) + np.asarray(BLUE) * weight
        error = np.abs(shown[10 + n][..., :3].astype(float) - expected).max(axis=2)
        inside = ~near_an_edge(weight[..., 0])  # 4:2:0 chroma blurs the mask's edges
        assert error[inside].max() < 60 and error[inside].mean() < 8, (kind, n, error[inside].mean())


def test_shapes_at_half_way(render):
    """Probes worked out by hand from each definition, at progress 0.5 (frame 14)."""
    box = rendered(render, "box_wipe")[14]  # the incoming rectangle spans the middle half each way
    assert close(at(box, 0.5, 0.5), BLUE) and close(at(box, 0.3, 0.3), BLUE)
    assert close(at(box, 0.2, 0.5), RED) and close(at(box, 0.5, 0.1), RED)
    bands = rendered(render, "band_wipe")[14]  # 8 bands: the top one from the left, the next from the right
    assert close(at(bands, 0.25, 0.05), BLUE) and close(at(bands, 0.75, 0.05), RED)
    assert close(at(bands, 0.25, 0.19), RED) and close(at(bands, 0.75, 0.19), BLUE)
    wheel = rendered(render, "pinwheel")[14]  # just above the left axis the first blade has swept, below not yet
    assert close(pixel(wheel, 20, 42), BLUE) and close(pixel(wheel, 20, 48), RED)
    heart = rendered(render, "heart")[14]  # centred 40 % up, 1.6 x 0.5 = 0.8 of the frame across
    assert close(at(heart, 0.5, 0.6), BLUE) and close(at(heart, 0.35, 0.45), BLUE)
    assert close(at(heart, 0.02, 0.02), RED) and close(at(heart, 0.02, 0.95), RED)
    assert close(at(heart, 0.5, 0.12), RED)  # the notch between the lobes, at the top
    blinds = rendered(render, "window_slice")[14]  # left of 0.25 fully open, the last slats shut
    assert close(pixel(blinds, 19, 45), BLUE) and close(pixel(blinds, 157, 45), RED)
    squares = rendered(render, "squares_wire")[14]  # near the top left the squares are nearly whole
    assert close(pixel(squares, 3, 4), BLUE) and close(pixel(squares, 145, 85), RED)


def test_heart_grows_from_its_centre(render):
    shown = rendered(render, "heart")
    assert close(at(shown[11], 0.5, 0.6), BLUE) and close(at(shown[11], 0.3, 0.6), RED)
    assert close(at(shown[16], 0.3, 0.6), BLUE) and close(at(shown[16], 0.02, 0.98), RED)


def test_crosshatch_spreads_then_fills(render):
    shown = rendered(render, "crosshatch")
    incoming = [float((shown[n][..., 2].astype(int) > 128).mean()) for n in range(10, 19)]
    assert incoming[0] < 0.01 and incoming[-1] > 0.99
    assert all(later >= earlier - 0.01 for earlier, later in zip(incoming, incoming[1:])), incoming
    assert 0.05 < incoming[4] < 0.95  # half way: lines of both clips


def test_color_phase_fades_red_first_and_blue_last(render):
    """White to blue at progress 0.5: red is 93 % through its fade, green half, blue at its end."""
    shown = rendered(render, "color_phase", first="white")
    assert close(pixel(shown[14], 80, 45), (19, 128, 255), 10)
    assert close(pixel(shown[12], 80, 45), (159, 250, 255), 10)  # progress 0.25: red 0.38, green 0.02
    assert close(pixel(shown[9], 80, 45), WHITE) and close(pixel(shown[18], 80, 45), BLUE)


def test_burn_is_a_dissolve_with_a_glow_at_its_middle(render):
    """Red to blue: half way the dissolve's (128, 0, 128) plus 2·0.5·0.5 of the glow (0.9, 0.4, 0.2)."""
    shown = rendered(render, "burn")
    assert close(pixel(shown[14], 80, 45), (242, 51, 153), 10)
    assert close(pixel(shown[12], 80, 45), (255, 38, 83), 10)  # a quarter: (191, 0, 64) + 0.375 of the glow
    assert close(pixel(shown[9], 80, 45), RED) and close(pixel(shown[18], 80, 45), BLUE)


@pytest.mark.parametrize("kind, frame, probes", [
    ("heart", 12, [((80, 45), BLUE), ((44, 26), RED)]),  # the heart (canvas-sized) at progress 0.25
    ("color_phase", 14, [((80, 45), (19, 0, 19))]),
    ("burn", 14, [((80, 45), (242, 51, 153))]),
])
def test_transparent_layers_mix_their_alpha_too(render, kind, frame, probes):
    """Half-size clips (80x45 in the middle) over a green background: outside them the background
    stays all along, inside them the mix."""
    spec = joined(kind, width="50%", height="50%")
    spec["background_color"] = "#00ff00"
    shown = frames(render(spec))
    for n in (9, 12, 14, 16, 18):
        assert close(pixel(shown[n], 5, 5), GREEN) and close(pixel(shown[n], 150, 80), GREEN)
    assert close(pixel(shown[9], 80, 45), RED) and close(pixel(shown[18], 80, 45), BLUE)
    for (x, y), color in probes:
        assert close(pixel(shown[frame], x, y), color), (x, y, pixel(shown[frame], x, y))


def test_the_command_reads_masks_from_a_feed(tmp_path, sources):
    from framelane_renderer.engine import build_plan, compile_ffmpeg, validate

    plan = build_plan(validate(joined("pinwheel")).normalized, sources)
    command = compile_ffmpeg(plan, tmp_path / "out.mp4", workdir=tmp_path / "work")
    script = (tmp_path / "work" / "filter_complex.txt").read_text()
    assert "maskedmerge" in script and "xfade" not in script
    assert len(command.feeds) == 1 and not command.feeds[0].path.exists()  # drawn while ffmpeg runs
    path = command.argv.index(str(command.feeds[0].path))
    feed = command.argv[path - 11:path + 1]
    assert feed[:8] == ["-thread_queue_size", "2", "-f", "rawvideo", "-pixel_format", "yuv420p",
                        "-video_size", f"{W}x{H}"]
    masks = list(command.feeds[0].frames())
    assert len(masks) == 8 and all(len(mask) == W * H * 3 // 2 for mask in masks)
    assert set(masks[0]) == {0}  # progress 0: all outgoing


def test_every_mask_transition_is_in_the_catalog():
    for name in transitions.MASK_TRANSITIONS:
        assert catalog.TRANSITIONS[name].supported
        assert catalog.TRANSITIONS[name].impl is transitions.MASK_TRANSITIONS[name]
    assert FPS == 10


def test_a_preview_in_the_middle_of_a_mask_transition(tmp_path, sources):
    """POST /v1/preview's `at`: the same engine, one frame, its mask read from the feed."""
    import asyncio

    from PIL import Image

    from framelane_renderer.engine import build_plan, render_preview, validate

    plan = build_plan(validate(joined("heart")).normalized, sources)
    path = asyncio.run(render_preview(plan, 1.4, tmp_path / "preview.png", tmp_path / "work"))
    frame = np.asarray(Image.open(path).convert("RGBA"))
    assert close(at(frame, 0.5, 0.6), BLUE) and close(at(frame, 0.02, 0.02), RED)
