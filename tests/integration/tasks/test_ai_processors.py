"""remove-background and gaze-redirect without the mesh: the model runner (real mediapipe and u2netp
models in .venv-models) on frames, and the processors with real FFmpeg, checked on decoded pixels.
Test media come from scikit-image's photos (tests/integration/tasks/ai_media.py)."""

import asyncio
import subprocess
import time

import numpy as np
import pytest

from framelane_renderer.engine import RenderCancelled, probe
from framelane_tasks.processors import gaze_redirect, remove_background
from tests.integration.tasks import ai_media
from tests.integration.tasks.ai_media import composite, decode, ffmpeg, iou, run_runner

IOU_MIN = 0.90


async def no_progress(percent, stage):
    pass


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    return ai_media.make_media(tmp_path_factory.mktemp("ai-media"))


@pytest.fixture(scope="module")
def person(media):
    return ai_media.resized(ai_media.read_rgba(media / "person.png"), 200)


@pytest.fixture(scope="module")
def gaze_clip(media, tmp_path_factory):
    """1.5 s at 20 fps, 320x240, with a tone: 8 frames without a face, then the sideways-looking face
    drifting right a pixel a frame (head motion)."""
    face = ai_media.read_rgba(media / "face-side.png")[..., :3]
    empty = [ai_media.backgrounds(240, 320)["blobs"]] * 8
    moving = [np.roll(face, i, axis=1) for i in range(22)]
    return ai_media.encode_video(np.stack(empty + moving), tmp_path_factory.mktemp("gaze") / "clip.mp4")


@pytest.mark.parametrize(("name", "model_name"), [("person", "mediapipe-selfie-segmentation"), ("object", "u2netp")])
def test_cut_outs_match_the_known_masks_of_composites(media, name, model_name):
    """The person over generated backgrounds (auto picks the person model: she has a face), and the
    horse-shaped object (auto picks u2netp: no face), each IoU ≥ 0.90 against the known mask."""
    foreground = ai_media.resized(ai_media.read_rgba(media / f"{name}.png"), 200)
    h, w = foreground.shape[:2]
    top = 40 if name == "person" else 20  # the person's bust stands on the frame's bottom edge
    cases = [composite(foreground, bg, top, 30) for bg in ai_media.backgrounds(h + 40, w + 60).values()]
    out, facts = run_runner(["remove-background"], np.stack([c for c, _ in cases]), 4)
    assert facts["model_name"] == model_name and facts["frames"] == len(cases)
    scores = [iou(cut[..., 3], truth) for cut, (_, truth) in zip(out, cases)]
    print(f"{name} IoU per background: {[round(s, 4) for s in scores]}")
    assert min(scores) >= IOU_MIN, scores
    assert np.array_equal(out[0][..., :3], cases[0][0])  # colours untouched: only alpha is added


def test_video_masks_are_stable_over_time_and_follow_motion(media, person):
    """A still subject over a background with grain and exposure flicker: temporal smoothing cuts the
    frame-to-frame change of alpha to at most half of per-frame masks'. A subject moving fast over a
    background as bright as itself: no ghost trails it (the IoU is that of per-frame masks)."""
    rng = np.random.default_rng(3)
    base = ai_media.backgrounds(240, 320)["blobs"].astype(np.float32)
    cases = [composite(person, np.clip(base * rng.uniform(0.85, 1.15) + rng.normal(0, 12, base.shape), 0, 255)
                       .astype(np.uint8), 40, 30) for _ in range(16)]
    frames = np.stack([c for c, _ in cases])
    still, _ = run_runner(["remove-background", "--model", "person"], frames, 4)
    smooth, _ = run_runner(["remove-background", "--model", "person", "--video"], frames, 4)
    raw_flicker, smooth_flicker = ai_media.flicker(still[..., 3]), ai_media.flicker(smooth[..., 3])
    print(f"flicker per frame: {raw_flicker:.5f} per-frame masks, {smooth_flicker:.5f} smoothed")
    assert smooth_flicker <= 0.5 * raw_flicker
    assert min(iou(cut[..., 3], truth) for cut, (_, truth) in zip(smooth, cases)) >= IOU_MIN

    small = ai_media.resized(ai_media.read_rgba(media / "person.png"), 150)
    gradient = ai_media.backgrounds(240, 320)["gradient"]
    moving = [composite(small, gradient, 90, 5 + 6 * i) for i in range(20)]
    frames = np.stack([c for c, _ in moving])
    scores = {}
    for flags in ([], ["--video"]):
        cut, _ = run_runner(["remove-background", "--model", "person", *flags], frames, 4)
        scores[bool(flags)] = np.mean([iou(a[..., 3], truth) for a, (_, truth) in zip(cut, moving)])
    print(f"moving subject IoU: {scores[False]:.4f} per-frame masks, {scores[True]:.4f} smoothed")
    assert scores[True] >= IOU_MIN and scores[True] >= scores[False] - 0.01


async def test_video_cut_out_has_alpha_and_keeps_the_audio(person, tmp_path):
    """Default output: WebM VP9 with a real alpha plane (decoded with libvpx) that follows the moving
    subject, and the audio; ProRes 4444 in MOV has alpha too; a colour background gives opaque MP4."""
    bg = ai_media.backgrounds(240, 320)["gradient"]
    cases = [composite(person, bg, 40, 20 + 2 * i) for i in range(20)]
    source = ai_media.encode_video(np.stack([c for c, _ in cases]), tmp_path / "walk.mp4")
    (tmp_path / "webm").mkdir()
    result = await remove_background.run(source, {"model": "auto"}, tmp_path / "webm", no_progress, asyncio.Event())
    assert (result.format, result.facts["model"], result.facts["has_alpha"]) == ("webm", "person", True)
    streams = {s["codec_type"]: s for s in ai_media.streams(result.main)}
    assert streams["video"]["codec_name"] == "vp9" and streams["video"]["tags"]["alpha_mode"] == "1"
    assert streams["audio"]["codec_name"] == "opus"
    alpha = decode(result.main, 320, 240, "rgba", ["-c:v", "libvpx-vp9"])[..., 3]
    assert len(alpha) == 20
    scores = [iou(a, truth) for a, (_, truth) in zip(alpha, cases)]
    assert np.mean(scores) >= IOU_MIN and alpha.min() == 0 and alpha.max() == 255, scores

    (tmp_path / "mov").mkdir()
    result = await remove_background.run(source, {"model": "person", "output_format": "mov"}, tmp_path / "mov",
                                         no_progress, asyncio.Event())
    streams = {s["codec_type"]: s for s in ai_media.streams(result.main)}
    assert streams["video"]["codec_name"] == "prores" and streams["video"]["pix_fmt"].startswith("yuva444p")
    assert streams["audio"]["codec_name"] == "aac"
    assert np.mean([iou(a, t) for a, (_, t) in zip(decode(result.main, 320, 240, "rgba")[..., 3], cases)]) >= IOU_MIN

    (tmp_path / "mp4").mkdir()
    result = await remove_background.run(source, {"model": "person", "background_color": "#00ff00"},
                                         tmp_path / "mp4", no_progress, asyncio.Event())
    assert (result.format, result.facts["has_alpha"], result.facts["background"]) == ("mp4", False, "color")
    last = decode(result.main, 320, 240)[-1].astype(int)
    background = ~cases[-1][1]
    assert np.abs(last[background] - (0, 255, 0)).mean() < 25  # the background is green now
    assert ai_media.audio_md5(result.main) == ai_media.audio_md5(source)  # AAC in MP4: copied


async def test_an_image_cannot_become_a_video_format(media, tmp_path):
    from framelane_tasks.processors import TaskFailed

    with pytest.raises(TaskFailed) as err:
        await remove_background.run(media / "face.png", {"output_format": "webm"}, tmp_path, no_progress,
                                    asyncio.Event())
    assert err.value.code == "invalid_source"


async def test_cancel_stops_decoder_runner_and_encoder_within_two_seconds(tmp_path):
    source = tmp_path / "long.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=60", "-c:v", "libx264", "-preset", "ultrafast", str(source))
    cancel, encoding = asyncio.Event(), asyncio.Event()

    async def progress(percent, stage):
        if stage == "encoding":
            encoding.set()

    task = asyncio.create_task(remove_background.run(source, {"model": "general"}, tmp_path, progress, cancel))
    await encoding.wait()
    await asyncio.sleep(1.0)  # the three processes are running
    assert not task.done()
    cancel.set()
    started = time.monotonic()
    with pytest.raises(RenderCancelled):
        await task
    assert time.monotonic() - started < 2.0
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout.split()
    assert leftovers == []


def test_gaze_runner_changes_nothing_without_a_face_with_closed_eyes_or_at_intensity_zero(media):
    """Bit-exact: frames without a face, a face with its eyes shut, and every frame at intensity 0."""
    face = ai_media.read_rgba(media / "face-side.png")[..., :3]
    shut = ai_media.read_rgba(media / "face-closed.png")[..., :3]
    frames = np.stack([*ai_media.backgrounds(240, 320).values(), shut, face])
    out, facts = run_runner(["gaze-redirect", "--intensity", "1"], frames, 3)
    assert np.array_equal(out[:5], frames[:5]) and not np.array_equal(out[5], frames[5])
    assert (facts["frames_with_face"], facts["frames_changed"]) == (2, 1)
    out, facts = run_runner(["gaze-redirect", "--intensity", "0"], frames, 3)
    assert np.array_equal(out, frames) and facts["frames_changed"] == 0


async def test_gaze_on_an_image_moves_the_irises_toward_the_centre_and_nothing_else(media, tmp_path):
    source = media / "face-side.png"
    halfway, full = tmp_path / "half", tmp_path / "full"
    for folder, intensity in ((halfway, 0.5), (full, 1.0)):
        folder.mkdir()
        result = await gaze_redirect.run(source, {"intensity": intensity}, folder, no_progress, asyncio.Event())
        assert (result.format, result.facts["frames_changed"]) == ("png", 1)
    before, half, after, straight = ai_media.gaze_offsets(source, halfway / "output.png", full / "output.png",
                                                          media / "face.png")
    print(f"iris offset (eye widths): {before:.3f} sideways, {half:.3f} at 0.5, {after:.3f} at 1, "
          f"{straight:.3f} original")
    assert after < half < before and after <= 0.5 * before
    original, redirected = ai_media.read_rgba(source)[..., :3], ai_media.read_rgba(full / "output.png")[..., :3]
    changed = np.abs(original.astype(int) - redirected).max(axis=2) > 0
    rows, cols = np.nonzero(changed)
    assert 0 < changed.mean() < 0.03  # the eyes only
    assert rows.max() - rows.min() < 60 and cols.max() - cols.min() < 200


async def test_gaze_video_keeps_audio_and_faceless_frames_and_intensity_zero_is_a_copy(gaze_clip, tmp_path):
    (tmp_path / "one").mkdir()
    result = await gaze_redirect.run(gaze_clip, {"intensity": 1}, tmp_path / "one", no_progress, asyncio.Event())
    assert result.format == "mp4" and result.facts["frames"] == 30
    assert result.facts["frames_with_face"] == 22 and result.facts["frames_changed"] >= 20
    assert ai_media.audio_md5(result.main) == ai_media.audio_md5(gaze_clip)
    source, out = decode(gaze_clip, 320, 240), decode(result.main, 320, 240)
    assert len(out) == len(source) == 30
    assert min(ai_media.psnr(a, b) for a, b in zip(source[:8], out[:8])) > 40  # no face: the H.264 round trip
    assert abs(probe(str(result.main)).duration - 1.5) < 0.1

    (tmp_path / "zero").mkdir()
    result = await gaze_redirect.run(gaze_clip, {"intensity": 0}, tmp_path / "zero", no_progress, asyncio.Event())
    assert np.array_equal(decode(result.main, 320, 240), decode(gaze_clip, 320, 240))
    assert ai_media.audio_md5(result.main) == ai_media.audio_md5(gaze_clip)


async def test_a_rotated_video_is_processed_upright(gaze_clip, tmp_path):
    """A phone's portrait video: stored 320x240 with a 90° rotation, decoded (and written) 240x320."""
    rotated = tmp_path / "portrait.mov"
    ffmpeg("-i", str(gaze_clip), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(rotated))
    (tmp_path / "out").mkdir()
    result = await gaze_redirect.run(rotated, {"intensity": 1}, tmp_path / "out", no_progress, asyncio.Event())
    assert (result.facts["width"], result.facts["height"]) == (240, 320)
    out, source = decode(result.main, 240, 320), decode(rotated, 240, 320)
    assert len(out) == 30 and min(ai_media.psnr(a, b) for a, b in zip(out[:8], source[:8])) > 40

