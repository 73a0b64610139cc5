"""remove-background and gaze-redirect end to end through Envoy, as a client uses them: submit over
REST, wait, follow the download redirect and check the bytes (ffprobe, decoded pixels, alpha,
audio packets). Media are generated from scikit-image's photos (tests/integration/tasks/ai_media.py)."""

import numpy as np
import pytest

from tests.e2e.test_tasks import fetch, wait_task
from tests.integration.tasks import ai_media

IOU_MIN = 0.90


@pytest.fixture(scope="module")
def ai_sources(media_dir, media_server, tmp_path_factory):
    """Served: a person over a generated background (image), the same person walking (video with a
    tone), a background picture, the sideways-looking face (image) and a clip of it (video)."""
    made = ai_media.make_media(tmp_path_factory.mktemp("ai-media"))
    person = ai_media.resized(ai_media.read_rgba(made / "person.png"), 200)
    backgrounds = ai_media.backgrounds(240, 320, seed=7)
    still, still_truth = ai_media.composite(person, backgrounds["blobs"], 40, 30)
    ai_media.ffmpeg("-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "320x240", "-i", "-", str(media_dir / "ai-person.png"),
                    stdin=still.tobytes())
    walk = [ai_media.composite(person, backgrounds["gradient"], 40, 20 + 2 * i) for i in range(20)]
    ai_media.encode_video(np.stack([frame for frame, _ in walk]), media_dir / "ai-walk.mp4")
    ai_media.ffmpeg("-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "320x240", "-i", "-", str(media_dir / "ai-bg.png"),
                    stdin=backgrounds["flat"].tobytes())
    face = ai_media.read_rgba(made / "face-side.png")[..., :3]
    (media_dir / "ai-face.png").write_bytes((made / "face-side.png").read_bytes())
    clip = [backgrounds["blobs"]] * 6 + [np.roll(face, i, axis=1) for i in range(14)]
    ai_media.encode_video(np.stack(clip), media_dir / "ai-face.mp4")
    return {"url": media_server, "still_truth": still_truth, "walk_truth": [truth for _, truth in walk],
            "dir": media_dir}


def run_task(authed, path: str, body: dict) -> dict:
    created = authed.post(f"/v1/tasks/{path}", json=body)
    assert created.status_code == 202, created.text
    done = wait_task(authed, created.json()["id"], timeout=120)
    assert done["status"] == "completed", done
    return done


def download(authed, tmp_path, job: dict, name: str):
    resp = authed.get(f"/v1/tasks/{job['id']}/download", follow_redirects=False)
    assert resp.status_code == 302, resp.text
    path = tmp_path / name
    path.write_bytes(fetch(authed, resp.headers["location"]))
    return path


def test_remove_background_of_an_image_and_a_video(authed, ai_sources, tmp_path):
    url = ai_sources["url"]
    image = run_task(authed, "remove-background", {"source_url": f"{url}/ai-person.png", "metadata": {"ref": "rb"}})
    out = image["output"]
    assert image["task_type"] == "remove_background" and image["metadata"] == {"ref": "rb"}
    assert (out["format"], out["width"], out["height"]) == ("png", 320, 240)
    assert (out["model"], out["model_name"], out["has_alpha"]) == ("person", "mediapipe-selfie-segmentation", True)
    cut = ai_media.read_rgba(download(authed, tmp_path, image, "cut.png"))
    assert cut.shape == (240, 320, 4)
    assert ai_media.iou(cut[..., 3], ai_sources["still_truth"]) >= IOU_MIN

    video = run_task(authed, "remove-background", {"source_url": f"{url}/ai-walk.mp4"})
    assert (video["output"]["format"], video["output"]["model"]) == ("webm", "person")
    webm = download(authed, tmp_path, video, "cut.webm")
    streams = {s["codec_type"]: s for s in ai_media.streams(webm)}
    assert streams["video"]["codec_name"] == "vp9" and streams["video"]["tags"]["alpha_mode"] == "1"
    assert streams["audio"]["codec_name"] == "opus"
    alpha = ai_media.decode(webm, 320, 240, "rgba", ["-c:v", "libvpx-vp9"])[..., 3]
    assert len(alpha) == 20
    assert np.mean([ai_media.iou(a, t) for a, t in zip(alpha, ai_sources["walk_truth"])]) >= IOU_MIN


def test_remove_background_onto_a_background_picture(authed, ai_sources, tmp_path):
    url = ai_sources["url"]
    job = run_task(authed, "remove-background", {"source_url": f"{url}/ai-walk.mp4",
                                                 "background_url": f"{url}/ai-bg.png", "model": "person"})
    out = job["output"]
    assert (out["format"], out["has_alpha"], out["background"]) == ("mp4", False, "image")
    frames = ai_media.decode(download(authed, tmp_path, job, "on-bg.mp4"), 320, 240).astype(int)
    outside = ~ai_sources["walk_truth"][-1]
    assert np.abs(frames[-1][outside] - (40, 90, 160)).mean() < 20  # the flat background picture
    assert ai_media.audio_md5(tmp_path / "on-bg.mp4") == ai_media.audio_md5(ai_sources["dir"] / "ai-walk.mp4")


def test_gaze_redirect_of_an_image_and_a_video(authed, ai_sources, tmp_path):
    url = ai_sources["url"]
    image = run_task(authed, "gaze-redirect", {"source_url": f"{url}/ai-face.png"})
    out = image["output"]
    assert image["task_type"] == "gaze_redirect"
    assert (out["format"], out["width"], out["height"], out["frames_changed"]) == ("png", 320, 240, 1)
    before, after = ai_media.gaze_offsets(ai_sources["dir"] / "ai-face.png", download(authed, tmp_path, image, "g.png"))
    assert after <= 0.5 * before, (before, after)

    video = run_task(authed, "gaze-redirect", {"source_url": f"{url}/ai-face.mp4", "intensity": 0.8})
    out = video["output"]
    assert (out["format"], out["frames"], out["frames_with_face"]) == ("mp4", 20, 14)
    mp4 = download(authed, tmp_path, video, "g.mp4")
    assert ai_media.audio_md5(mp4) == ai_media.audio_md5(ai_sources["dir"] / "ai-face.mp4")
    redirected, source = ai_media.decode(mp4, 320, 240), ai_media.decode(ai_sources["dir"] / "ai-face.mp4", 320, 240)
    assert len(redirected) == 20
    assert min(ai_media.psnr(a, b) for a, b in zip(redirected[:6], source[:6])) > 40  # no face: the H.264 round trip


@pytest.mark.parametrize(("path", "body", "violations"), [
    ("remove-background", {"model": "people", "output_format": "gif", "background_color": "green"},
     {"$.source_url": "required", "$.model": "enum", "$.output_format": "enum", "$.background_color": "pattern"}),
    ("remove-background", {"source_url": "SRC/ai-walk.mp4", "output_format": "mp4", "background_color": "#00ff0080"},
     {"$.output_format": "combination"}),
    ("remove-background", {"source_url": "SRC/ai-walk.mp4", "background_color": "#00ff00",
                           "background_url": "SRC/ai-bg.png"}, {"$.background_url": "combination"}),
    ("gaze-redirect", {"source_url": "SRC/ai-face.mp4", "intensity": 1.5, "eyes": "both"},
     {"$.intensity": "out_of_range", "$.eyes": "unknown_field"}),
])
def test_invalid_ai_task_submits_are_422_with_every_violation(authed, ai_sources, path, body, violations):
    body = {k: v.replace("SRC", ai_sources["url"]) if isinstance(v, str) else v for k, v in body.items()}
    resp = authed.post(f"/v1/tasks/{path}", json=body)
    assert resp.status_code == 422, resp.text
    assert {d["path"]: d["code"] for d in resp.json()["error"]["details"]} == violations


def test_capabilities_report_both_ai_tasks_supported(http):
    tasks = {t["type"]: t for t in http.get("/v1/capabilities").json()["tasks"]}
    assert tasks["remove-background"]["supported"] and tasks["gaze-redirect"]["supported"]
    assert tasks["remove-background"]["params"]["model"]["enum"] == ["auto", "person", "general"]
    assert tasks["remove-background"]["params"]["output_format"]["enum"] == ["png", "jpg", "webm", "mov", "mp4"]
    assert tasks["gaze-redirect"]["params"]["intensity"] == {"type": "number", "min": 0, "max": 1, "default": 1}
