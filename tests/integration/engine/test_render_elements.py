"""Renders of the core element types, checked by frame counts, pixel colours and audio levels."""

from __future__ import annotations

import numpy as np
import pytest
from engine_media import FPS, H, W, close, ffprobe, frames, max_volume, pixel, spec_with, step_grey, url


def video(name: str, **fields) -> dict:
    return {"type": "video", "source_url": url(name), **fields}


def image(name: str, **fields) -> dict:
    return {"type": "image", "id": fields.pop("id", name), "source_url": url(name), "duration": 2, **fields}


def test_mp4_has_exact_duration_frames_and_audio(render):
    out = render(spec_with(video("red")))
    info = ffprobe(out)
    streams = {s["codec_type"]: s for s in info["streams"]}
    assert streams["video"]["codec_name"] == "h264"
    assert streams["video"]["pix_fmt"] == "yuv420p"
    assert int(streams["video"]["nb_read_frames"]) == 2 * FPS
    assert streams["audio"]["codec_name"] == "aac"
    assert abs(float(info["format"]["duration"]) - 2) < 0.1
    assert close(pixel(frames(out)[5], 80, 45), (255, 0, 0))


def test_duration_is_inferred_from_elements(render):
    out = render({"width": W, "height": H, "frame_rate": FPS, "elements": [video("red", out_point=1.5)]})
    assert int(ffprobe(out)["streams"][0]["nb_read_frames"]) == 15


def test_trim_reads_from_in_point(render):
    out = render(spec_with(video("steps", in_point=2, out_point=4)))
    shown = frames(out)
    assert close(pixel(shown[2], 80, 45), step_grey(2), 6)
    assert close(pixel(shown[15], 80, 45), step_grey(3), 6)


def test_speed_plays_faster(render):
    out = render(spec_with(video("steps", speed=2), duration=2))
    shown = frames(out)
    assert close(pixel(shown[12], 80, 45), step_grey(2), 6)  # 1.2 s on the timeline = 2.4 s of source


def test_time_places_element_on_timeline(render):
    out = render(spec_with(video("red", time=1)))
    shown = frames(out)
    assert close(pixel(shown[5], 80, 45), (0, 0, 0))
    assert close(pixel(shown[15], 80, 45), (255, 0, 0))


def test_size_position_and_anchor(render):
    out = render(spec_with(video("red", width="50%", height="50%", x=0, y=0, x_anchor="0%", y_anchor="0%")))
    shown = frames(out)[3]
    assert close(pixel(shown, 20, 10), (255, 0, 0))
    assert close(pixel(shown, 120, 10), (0, 0, 0))
    assert close(pixel(shown, 20, 70), (0, 0, 0))


def test_pixel_dimensions_and_centre_anchor(render):
    out = render(spec_with(image("orange", width=40, height="20px", x="25%", y=45)))
    shown = frames(out)[3]
    assert close(pixel(shown, 40, 45), (255, 128, 0))
    assert close(pixel(shown, 40, 30), (0, 0, 0))
    assert close(pixel(shown, 70, 45), (0, 0, 0))


def test_crop_keeps_one_quadrant(render):
    out = render(spec_with(image("quadrants", crop_right=0.5, crop_bottom=0.5)))
    shown = frames(out)[3]
    assert close(pixel(shown, 10, 80), (255, 0, 0))
    assert close(pixel(shown, 150, 10), (255, 0, 0))


@pytest.mark.parametrize(
    "fields, top_left",
    [
        ({"flip_horizontal": True}, (0, 255, 0)),
        ({"flip_vertical": True}, (0, 0, 255)),
        ({"z_rotation": "180deg"}, (255, 255, 255)),
        ({"z_rotation": "3.14159rad"}, (255, 255, 255)),
    ],
)
def test_flips_and_rotation(render, fields, top_left):
    out = render(spec_with(image("quadrants", width=80, height=80, x=80, y=45, **fields)))
    shown = frames(out)[3]
    assert close(pixel(shown, 55, 20), top_left)


def test_scale_shrinks_about_anchor(render):
    out = render(spec_with(image("orange", x_scale="50%", y_scale="50%")))
    shown = frames(out)[3]
    assert close(pixel(shown, 80, 45), (255, 128, 0))
    assert close(pixel(shown, 10, 45), (0, 0, 0))


def test_opacity_blends_with_background(render):
    out = render(spec_with(image("orange", opacity=50), background_color="#0000ffff"))
    assert close(pixel(frames(out)[3], 80, 45), (128, 64, 128), 16)


def test_same_z_index_earlier_element_on_top(render):
    out = render(spec_with(image("orange"), image("gray")))
    assert close(pixel(frames(out)[3], 80, 45), (255, 128, 0))


def test_higher_z_index_on_top(render):
    out = render(spec_with(image("orange"), image("gray", z_index=3)))
    assert close(pixel(frames(out)[3], 80, 45), (128, 128, 128))


def test_text_is_drawn_above_media_by_default(render):
    out = render(spec_with(image("gray"), {"type": "text", "text": "██", "duration": 2, "font_size": 60, "font_family": "DejaVu Sans"}))
    assert close(pixel(frames(out)[3], 80, 45), (255, 255, 255))


def test_image_duration_and_visibility(render):
    out = render(spec_with(image("orange", time=0.5, duration=1), image("gray", id="hidden", visible=False)))
    shown = frames(out)
    assert close(pixel(shown[2], 80, 45), (0, 0, 0))
    assert close(pixel(shown[10], 80, 45), (255, 128, 0))
    assert close(pixel(shown[17], 80, 45), (0, 0, 0))


def test_video_fades_picture(render):
    """Fades to the background colour; `fade` is given only the frames of each fade (it copies every
    frame it receives)."""
    out = render(spec_with(video("white", fade_in_duration=1, fade_out_duration=0.5)))
    levels = [int(pixel(f, 80, 45)[0]) for f in frames(out)]
    assert levels[0] < 30 and 100 < levels[5] < 160 and levels[12] > 240 and levels[19] < 60
    script = _filter_script(out)
    assert "trim=start_frame=0:end_frame=11[" in script and "trim=start_frame=14[" in script


def test_background_colour_and_image(render):
    shown = frames(render(spec_with(background_color="#336699")))[0]
    assert close(pixel(shown, 5, 5), (0x33, 0x66, 0x99), 8)
    shown = frames(render(spec_with(background_image_url=url("quadrants"))))[0]
    assert close(pixel(shown, 10, 10), (255, 0, 0)) and close(pixel(shown, 150, 80), (255, 255, 255))


def _filter_script(out) -> str:
    return (out.parent / out.stem.replace("out", "work") / "filter_complex.txt").read_text()


def test_sequential_opaque_layers_are_joined_not_overlaid(render):
    """Full-canvas opaque layers that never overlap in time are one concatenated base: gaps show the
    background colour, a fade fades to it; a short layer above touches only its own frames."""
    out = render(spec_with(image("logo", time=0.6, duration=0.3, width=40, height=40),  # earlier is on top
                           video("red", out_point=1, fade_out_duration=0.5), video("blue", time=1.5, out_point=1),
                           duration=3, background_color="#00ff00"))
    script = _filter_script(out)
    assert "concat=n=4" in script and ":d=4.000000" not in script  # red, gap, blue, gap; no background layer
    assert "trim=start_frame=5:end_frame=10" in script  # the logo's window
    shown = frames(out)
    assert len(shown) == 30
    assert close(pixel(shown[2], 10, 80), (255, 0, 0))
    assert close(pixel(shown[7], 10, 80), (153, 102, 0), 12)  # 60 % red faded over the green background
    assert close(pixel(shown[12], 10, 80), (0, 255, 0))
    assert close(pixel(shown[20], 10, 80), (0, 0, 255))
    assert close(pixel(shown[27], 10, 80), (0, 255, 0))
    assert close(pixel(shown[4], 80, 45), (255, 0, 0))
    assert close(pixel(shown[7], 80, 45), (255, 255, 0))
    assert close(pixel(shown[9], 80, 45), (51, 204, 0), 12)  # the logo is gone, the fade goes on


def test_a_transition_processes_only_the_frames_it_blends(render):
    """xfade (4:4:4 only in FFmpeg 5) gets the outgoing clip from the transition's first frame and the
    incoming one up to a frame after its last; the rest is concatenated untouched. A transition starting
    between frames (1.05 s at 10 fps) begins where xfade rounds it to, frame 11."""
    out = render(spec_with(video("red", id="a", out_point=1.5), video("blue", id="b", time=1.05, out_point=1.45),
                           duration=2.5, transitions=[{"type": "cross_dissolve", "duration": 0.4,
                                                       "from_id": "a", "to_id": "b"}]))
    script = _filter_script(out)
    assert "trim=end_frame=11[" in script and "trim=start_frame=11,setpts=PTS-STARTPTS[" in script
    assert "trim=end_frame=6[" in script and "trim=start_frame=6,setpts=PTS-STARTPTS[" in script
    shown = frames(out)
    assert len(shown) == 25
    assert close(pixel(shown[10], 80, 45), (255, 0, 0))
    assert close(pixel(shown[12], 80, 45), (191, 0, 64), 12)  # a quarter through the dissolve
    assert close(pixel(shown[14], 80, 45), (64, 0, 191), 12)  # three quarters
    assert close(pixel(shown[15], 80, 45), (0, 0, 255)) and close(pixel(shown[24], 80, 45), (0, 0, 255))


def test_layer_starting_between_frames_is_overlaid(render):
    out = render(spec_with(video("blue", time=1.2, out_point=0.3), video("red", time=0.05)))
    script = _filter_script(out)
    assert ":d=3.000000" in script and "trim=start_frame=11:end_frame=16" in script  # a background, a window
    shown = frames(out)
    assert close(pixel(shown[2], 80, 45), (255, 0, 0))
    assert close(pixel(shown[13], 80, 45), (0, 0, 255))
    assert close(pixel(shown[16], 80, 45), (255, 0, 0))


def test_a_zooming_still_is_fitted_at_its_largest_zoom(render):
    """Ken Burns crops from the still fitted at its largest zoom on a frame (123.75 % on the last of 20 frames):
    real pixels scaled down, not a canvas-sized copy enlarged."""
    out = render(spec_with(image("pattern", motion=[{"type": "ken_burns_in", "time": 0, "duration": 2}])))
    script = _filter_script(out)
    assert "scale=198:112:force_original_aspect_ratio=increase,crop=198:112" in script and "zoompan" in script
    shown = frames(out)
    assert len(shown) == 20
    assert np.abs(shown[0][..., :3].astype(int) - shown[19][..., :3].astype(int)).mean() > 10  # it zooms


def test_sources_with_alpha_keep_transparency(render):
    out = render(spec_with(image("logo", width=90, height=90), background_color="#0000ffff"))
    shown = frames(out)[3]
    assert close(pixel(shown, 80, 45), (255, 255, 0))
    assert close(pixel(shown, 40, 5), (0, 0, 255))


def test_effects_keep_image_transparency(render):
    out = render(spec_with(image("logo", width=90, height=90, effects=[{"type": "invert"}], brightness=0.1),
                           background_color="#0000ffff"))
    assert close(pixel(frames(out)[3], 40, 5), (0, 0, 255))


def text(**fields) -> dict:
    return {"type": "text", "duration": 2, "text": "Hello", "font_size": 40, **fields}


def text_pixels(render, **fields) -> np.ndarray:
    return frames(render(spec_with(text(**fields), background_color="#000000")))[5][..., :3].astype(int)


def test_text_colour_and_alignment(render):
    left = text_pixels(render, text_color="#ff0000", text_align="left")
    right = text_pixels(render, text_color="#ff0000", text_align="right")
    red = (left[..., 0] > 150) & (left[..., 1] < 80)
    assert red.sum() > 100
    assert np.argwhere(red)[:, 1].mean() < 60
    red_right = (right[..., 0] > 150) & (right[..., 1] < 80)
    assert np.argwhere(red_right)[:, 1].mean() > np.argwhere(red)[:, 1].mean() + 30


@pytest.mark.parametrize("family", ["Inter", "DejaVu Serif", "DejaVu Sans Mono", "Bebas Neue"])
def test_font_families_render_differently(render, family):
    baseline = text_pixels(render, font_family="Liberation Sans")
    assert np.abs(text_pixels(render, font_family=family) - baseline).mean() > 1


@pytest.mark.parametrize(
    "fields",
    [{"font_weight": 900}, {"font_style": "italic"}, {"font_size": 20}, {"text_decoration": "underline"},
     {"text": "Hello world again and again", "font_size": 30, "width": "50%"}, {"leading": 2.0, "text": "A\nB"}],
)
def test_typography_fields_change_the_text(render, fields):
    assert np.abs(text_pixels(render, **fields) - text_pixels(render, **({"text": "A\nB"} if "leading" in fields else {}))).mean() > 0.5


def test_text_wrap_makes_lines(render):
    wrapped = text_pixels(render, text="one two three four", width="40%", font_size=20)
    single = text_pixels(render, text="one two three four", width="40%", font_size=20, text_wrap="nowrap")
    rows = lambda img: np.argwhere(img.max(axis=2) > 128)[:, 0]  # noqa: E731
    assert np.ptp(rows(wrapped)) > np.ptp(rows(single)) + 10


def test_text_background_plate(render):
    shown = text_pixels(render, background=True, background_color="#00ff00", x_padding=10, y_padding=6)
    green = (shown[..., 1] > 200) & (shown[..., 0] < 60)
    assert green.sum() > 300


def test_text_stroke(render):
    shown = text_pixels(render, stroke=True, stroke_color="#ff0000", stroke_width=3, text_color="#ffffff")
    assert ((shown[..., 0] > 200) & (shown[..., 1] < 60)).sum() > 50


def test_text_shadow(render):
    shown = text_pixels(render, shadow=True, shadow_color="#0000ff", shadow_x=4, shadow_y=4)
    assert ((shown[..., 2] > 150) & (shown[..., 0] < 80)).sum() > 30


def test_audio_element_is_heard_with_volume_and_fades(render):
    loud = render(spec_with(image("gray"), {"type": "audio", "source_url": url("tone")}))
    quiet = render(spec_with(image("gray"), {"type": "audio", "source_url": url("tone"), "volume": 10}))
    assert max_volume(loud) > -25
    assert max_volume(quiet) < max_volume(loud) - 15
    faded = render(spec_with(image("gray"), {"type": "audio", "source_url": url("tone"), "fade_in_duration": 1.5}))
    assert max_volume(faded, 0, 0.3) < max_volume(faded, 1.6, 0.4) - 10


def test_audio_trim_time_and_speed(render):
    out = render(spec_with(image("gray"), {"type": "audio", "source_url": url("tone"), "time": 1, "in_point": 2, "speed": 2}))
    assert max_volume(out, 0, 0.9) < -60
    assert max_volume(out, 1.1, 0.8) > -25


def test_several_tracks_mix(render):
    one = render(spec_with(image("gray"), {"type": "audio", "source_url": url("tone"), "volume": 40}))
    two = render(spec_with(image("gray"), {"type": "audio", "source_url": url("tone"), "volume": 40},
                           video("red", width=10, height=10, volume=40)))
    assert max_volume(two) > max_volume(one) + 1


def test_video_sound_and_muting(render):
    assert max_volume(render(spec_with(video("red")))) > -25
    assert max_volume(render(spec_with(video("red", volume=0)))) < -60
    assert max_volume(render(spec_with(image("gray")))) < -60


def test_webm_with_alpha(render):
    out = render(spec_with(image("logo", width=40, height=40), output_format="webm", alpha=True, background_color="#00000000"))
    stream = ffprobe(out)["streams"][0]
    assert stream["codec_name"] == "vp9"
    assert stream.get("tags", {}).get("alpha_mode") == "1"


def test_webm_without_alpha_has_opus(render):
    info = ffprobe(render(spec_with(video("red"), output_format="webm")))
    assert [s["codec_name"] for s in info["streams"]] == ["vp9", "opus"]


def test_mov_prores_4444_with_alpha(render):
    out = render(spec_with(image("logo", width=40, height=40), output_format="mov", alpha=True, background_color="#00000000"))
    stream = ffprobe(out)["streams"][0]
    assert stream["codec_name"] == "prores" and stream["pix_fmt"].startswith("yuva444p")
    shown = frames(out)[3]
    assert shown[5, 5, 3] < 10 and shown[45, 80, 3] > 245


def test_gif_output(render):
    out = render(spec_with(video("red"), output_format="gif"))
    info = ffprobe(out)
    assert info["streams"][0]["codec_name"] == "gif"
    assert int(info["streams"][0]["nb_read_frames"]) == 2 * FPS


@pytest.mark.parametrize("fmt, codec", [("png", "png"), ("jpg", "mjpeg")])
def test_single_frame_outputs(render, fmt, codec):
    out = render(spec_with(video("steps"), duration=3, output_format=fmt), still_at=2.0)
    info = ffprobe(out)
    assert info["streams"][0]["codec_name"] == codec
    assert (info["streams"][0]["width"], info["streams"][0]["height"]) == (W, H)
    assert close(pixel(frames(out)[0], 80, 45), step_grey(2), 10)
