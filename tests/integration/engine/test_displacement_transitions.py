"""Displacement transitions (transitions.MaskTransition with warps: swirl, water_drop, dreamy): the
warps' geometry, each rendered frame against the warped mix worked out from the maps, and the
command (maps read from a feed into `remap`).

Two stills of steep sawtooth ramps, so that a pixel moved by one changes colour: `waves` then
`waves_turned`, 160x90 at 10 fps, rendered to ProRes 4444 (near-lossless, unlike x264) and compared in
luma, since the stills themselves are composited in 4:2:0; the transition starts at frame 10 and
lasts 0.8 s (frame 10 + n has progress n / 8).
"""

from __future__ import annotations

import numpy as np
import pytest
from engine_media import FPS, H, W, frames, spec_with, url
from PIL import Image

from framelane_renderer.engine import catalog, transitions

DISPLACEMENTS = [name for name, row in transitions.MASK_TRANSITIONS.items() if row.warp_out or row.warp_in]


def still(name: str, element_id: str, time: float) -> dict:
    return {"type": "image", "id": element_id, "source_url": url(name), "time": time, "duration": 1}


def joined(kind: str) -> dict:
    return spec_with(still("waves", "a", 0), still("waves_turned", "b", 1), output_format="mov", alpha=True,
                     transitions=[{"type": kind, "duration": 0.8, "from_id": "a", "to_id": "b"}])


def read_at(image: np.ndarray, transition, warp, n: int) -> np.ndarray:
    """`image` as remap shows it at frame n of the transition: each pixel read from the maps' point."""
    if warp is None:
        return image
    maps = list(transition.warp_frames(warp, W, H, n + 1, 8, False))[n]
    columns, rows = np.frombuffer(maps, "<u2").reshape(2, H, W)
    return image[rows, columns]


def test_warps_are_still_at_the_ends_and_move_pixels_as_defined():
    g = transitions.grid(W, H)
    du, dv = g.u - 0.5, g.v - 0.5
    for p in (0.0, 1.0):  # swirl turns nothing at either end; the drop has not started at 0
        u, v = transitions._swirl(g, p)
        assert np.allclose(np.broadcast_to(u, (H, W)), g.u, atol=1e-5) and np.allclose(v, g.v, atol=1e-5)
    u, v = transitions._water_drop(g, 0.0)
    assert np.allclose(np.broadcast_to(u, (H, W)), g.u) and np.allclose(np.broadcast_to(v, (H, W)), g.v)
    for p in (0.25, 0.5, 0.75):
        u, v = transitions._swirl(g, p)  # a turn about the centre: every point keeps its distance to it
        assert np.allclose(np.hypot(u - 0.5, v - 0.5), np.hypot(du, dv), atol=1e-5)
        assert not np.allclose(np.broadcast_to(u, (H, W)), g.u, atol=0.01)
        u, v = transitions._water_drop(g, p)  # along the radius, inside the circle of radius p only
        dist = np.hypot(du, dv)
        outside = np.broadcast_to(dist > p, (H, W))
        assert np.allclose(np.broadcast_to(u, (H, W))[outside], np.broadcast_to(g.u, (H, W))[outside])
        assert np.allclose((u - 0.5) * dv, (v - 0.5) * du, atol=1e-6)  # still on the same line through the centre
        u, v = transitions._dreamy_wave(g, p)  # columns move up or down by at most 0.03 p
        assert np.array_equal(np.broadcast_to(u, (H, W)), np.broadcast_to(g.u, (H, W)))
        assert np.abs(v - g.v).max() <= 0.03 * p + 1e-6 and np.abs(v - g.v).max() > 0.02 * p


def luma(image: np.ndarray) -> np.ndarray:
    return image[..., :3].astype(float) @ np.array([0.299, 0.587, 0.114])


@pytest.mark.parametrize("kind", DISPLACEMENTS)
def test_each_frame_is_the_warped_mix_of_the_two_stills(render, media, kind):
    """In luma, which 4:2:0 keeps at full resolution: each frame of the transition is the mix of the
    stills (as rendered alone, frames 9 and 18) read where the maps say."""
    transition = transitions.MASK_TRANSITIONS[kind]
    shown = frames(render(joined(kind)))
    assert len(shown) == 20
    outgoing, incoming = shown[9], shown[18]
    for name, alone in (("waves", outgoing), ("waves_turned", incoming)):
        assert np.abs(luma(alone) - luma(np.asarray(Image.open(media[name]).convert("RGB")))).mean() < 3
    for n in range(1, 8):
        p = n / 8
        expected = (1 - p) * luma(read_at(outgoing, transition, transition.warp_out, n)) \
            + p * luma(read_at(incoming, transition, transition.warp_in, n))
        plain = (1 - p) * luma(outgoing) + p * luma(incoming)  # the dissolve without the warps
        error = np.abs(luma(shown[10 + n]) - expected)
        moved = np.abs(expected - plain) > 30
        assert (error < 8).mean() > 0.97, (kind, n, (error < 8).mean())
        if n in (3, 4, 5):  # well into the transition the warps visibly move part of the frame
            assert moved.mean() > 0.05, (kind, n, moved.mean())
            assert (error[moved] < 8).mean() > 0.9, (kind, n)


def test_the_command_reads_maps_from_a_feed_into_remap(tmp_path, sources):
    from framelane_renderer.engine import build_plan, compile_ffmpeg, validate

    spec = joined("swirl")
    plan = build_plan(validate(spec).normalized, sources)
    command = compile_ffmpeg(plan, tmp_path / "out.mov", workdir=tmp_path / "work")
    script = (tmp_path / "work" / "filter_complex.txt").read_text()
    assert script.count("remap") == 2 and "maskedmerge" in script and "xfade" not in script
    maps = [feed for feed in command.feeds if feed.path.name.endswith(".gray16le")]
    assert len(maps) == 1  # swirl turns both stills the same way: one feed, split
    path = command.argv.index(str(maps[0].path))
    assert command.argv[path - 6:path - 3] == ["gray16le", "-video_size", f"{W}x{2 * H}"]
    drawn = list(maps[0].frames())
    assert len(drawn) == 8 and all(len(frame) == W * H * 4 for frame in drawn)
    first = np.frombuffer(drawn[0], "<u2").reshape(2, H, W)  # progress 0: every pixel in its own place
    assert np.array_equal(first[0], np.tile(np.arange(W), (H, 1))) and np.array_equal(first[1].T, np.tile(np.arange(H), (W, 1)))


def test_displacements_are_supported_in_the_catalog():
    assert set(DISPLACEMENTS) == {"swirl", "water_drop", "dreamy"}
    for name in DISPLACEMENTS:
        assert catalog.TRANSITIONS[name].supported
    assert FPS == 10
