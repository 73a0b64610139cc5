"""AI media tasks end to end through Envoy: transcribe (faster-whisper, tiny.en) of espeak-ng
speech and super-resolution (fast path) of generated media, plus cancel, isolation and 422s."""

import json
import shutil
import subprocess
import time

import httpx
import numpy as np
import pytest

from tests.e2e.conftest import new_workspace_key
from tests.e2e.test_renders import ffprobe
from tests.speech import wer

SENTENCE = "please upload the video and add a title at the beginning"


def wait_task(authed, task_id: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = authed.get(f"/v1/tasks/{task_id}", params={"wait": 10}).json()
        if job["status"] in ("completed", "failed", "cancelled"):
            return job
    raise AssertionError(f"task {task_id} did not finish")


def fetch(http_client, url: str) -> bytes:
    resp = httpx.get(url, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.content


@pytest.fixture(scope="module")
def task_media(media_dir, media_server) -> str:
    """Slow espeak-ng speech as AAC in M4A, a detailed image and its 2× downscale, a short clip."""
    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng is not installed (scripts/install-system-deps.sh)")
    wav = media_dir / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "130", "-g", "5", "-w", str(wav), SENTENCE], check=True)
    run = lambda *a: subprocess.run(["ffmpeg", "-v", "error", "-y", *a], check=True)  # noqa: E731
    run("-i", str(wav), "-c:a", "aac", str(media_dir / "speech.m4a"))
    run("-f", "lavfi", "-i", "mandelbrot=s=256x256:end_pts=10:maxiter=200,format=rgb24", "-frames:v", "1",
        str(media_dir / "detail.png"))
    run("-i", str(media_dir / "detail.png"), "-vf", "scale=128:128:flags=bicubic", str(media_dir / "detail-small.png"))
    run("-f", "lavfi", "-i", "testsrc2=s=160x90:r=25:d=2", "-f", "lavfi", "-i", "sine=f=440:d=2",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(media_dir / "clip.mp4"))
    return media_server


def rgb(data: bytes, w: int, h: int) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", "-", "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24",
                          "-"], input=data, capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(h, w, 3).astype(float)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return 10 * np.log10(255**2 / np.mean((a - b) ** 2))


def test_transcribe_english_speech_with_word_timings_and_captions(authed, task_media, tmp_path):
    created = authed.post("/v1/tasks/transcribe", json={"source_url": f"{task_media}/speech.m4a",
                                                        "metadata": {"ref": "t1"}, "speaker_labels": False})
    assert created.status_code == 202, created.text
    job = created.json()
    assert job["id"].startswith("task_") and job["kind"] == "task" and job["task_type"] == "transcribe"
    assert job["status"] == "queued" and job["metadata"] == {"ref": "t1"}

    done = wait_task(authed, job["id"])
    assert done["status"] == "completed", done
    out = done["output"]
    assert out["format"] == "json" and out["language"] == "en" and out["srt_url"] and out["vtt_url"]
    transcript = json.loads(fetch(authed, out["url"]))
    assert wer(SENTENCE, transcript["text"]) <= 0.10, transcript["text"]
    words = transcript["words"]
    assert len(words) >= 10 and all(set(w) == {"text", "start", "end", "confidence"} for w in words)
    starts = [w["start"] for w in words]
    assert starts == sorted(starts) and all(w["start"] <= w["end"] for w in words)
    assert 0 <= words[0]["start"] < words[-1]["end"] <= transcript["duration"] + 0.5
    assert transcript["segments"] and transcript["segments"][0]["text"]

    for fmt, first in (("srt", "1\n00:00:"), ("vtt", "WEBVTT\n\n00:00:")):
        resp = authed.get(f"/v1/tasks/{job['id']}/download", params={"format": fmt}, follow_redirects=False)
        assert resp.status_code == 302, resp.text
        text = fetch(authed, resp.headers["location"]).decode()
        assert text.startswith(first) and "upload" in text.lower()
    resp = authed.get(f"/v1/tasks/{job['id']}/download", follow_redirects=False)
    assert resp.status_code == 302 and json.loads(fetch(authed, resp.headers["location"]))["text"]


def test_super_resolution_image_is_scale_times_larger_and_beats_bicubic(authed, task_media):
    job = authed.post("/v1/tasks/super-resolution", json={"source_url": f"{task_media}/detail-small.png"}).json()
    done = wait_task(authed, job["id"])
    assert done["status"] == "completed", done
    out = done["output"]
    assert (out["format"], out["width"], out["height"], out["duration"]) == ("png", 256, 256, None)
    up = rgb(fetch(authed, out["url"]), 256, 256)
    original = rgb(fetch(authed, f"{task_media}/detail.png"), 256, 256)
    bicubic = subprocess.run(["ffmpeg", "-v", "error", "-i", "-", "-vf", "scale=256:256:flags=bicubic", "-f", "image2pipe",
                              "-c:v", "png", "-"], input=fetch(authed, f"{task_media}/detail-small.png"),
                             capture_output=True, check=True).stdout
    assert psnr(up, original) >= psnr(rgb(bicubic, 256, 256), original)


def test_super_resolution_enhance_runs_real_esrgan_on_an_image(authed, task_media):
    job = authed.post("/v1/tasks/super-resolution", json={"source_url": f"{task_media}/detail-small.png",
                                                          "model": "enhance"}).json()
    done = wait_task(authed, job["id"])
    assert done["status"] == "completed", done
    out = done["output"]
    assert (out["format"], out["width"], out["height"], out["model"]) == ("png", 256, 256, "realesr-animevideov3-x2")
    original = rgb(fetch(authed, f"{task_media}/detail.png"), 256, 256)
    assert psnr(rgb(fetch(authed, out["url"]), 256, 256), original) > 18  # bicubic: 23; a fractal is not its forte


def test_super_resolution_video_keeps_its_audio(authed, task_media, tmp_path):
    job = authed.post("/v1/tasks/super-resolution", json={"source_url": f"{task_media}/clip.mp4", "scale": 3}).json()
    done = wait_task(authed, job["id"])
    assert done["status"] == "completed", done
    path = tmp_path / "out.mp4"
    path.write_bytes(fetch(authed, done["output"]["url"]))
    streams = {s["codec_type"]: s for s in ffprobe(path)["streams"]}
    assert (streams["video"]["width"], streams["video"]["height"]) == (480, 270)
    assert streams["audio"]["codec_name"] == "aac"
    assert abs(float(done["output"]["duration"]) - 2.0) < 0.2


def test_cancel_list_filters_and_isolation(authed, mesh, task_media):
    job = authed.post("/v1/tasks/super-resolution", json={"source_url": f"{task_media}/clip.mp4", "scale": 4}).json()
    cancelled = authed.delete(f"/v1/tasks/{job['id']}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = authed.delete(f"/v1/tasks/{job['id']}")
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_cancellable"
    assert authed.get(f"/v1/tasks/{job['id']}/download").status_code == 409
    time.sleep(1.0)
    assert authed.get(f"/v1/tasks/{job['id']}").json()["output"] is None

    listed = authed.get("/v1/tasks", params={"type": "super_resolution", "status": "cancelled"}).json()
    assert job["id"] in [t["id"] for t in listed["data"]]
    assert all(t["task_type"] == "super_resolution" for t in listed["data"])
    assert authed.get("/v1/tasks", params={"type": "transcribe", "status": "cancelled"}).json()["data"] == []
    assert authed.get("/v1/tasks", params={"type": "nope"}).status_code == 422

    other = {"Authorization": f"Bearer {new_workspace_key(mesh)}"}
    assert authed.get(f"/v1/tasks/{job['id']}", headers=other).status_code == 404
    assert authed.delete(f"/v1/tasks/{job['id']}", headers=other).status_code == 404
    assert authed.get(f"/v1/tasks/{job['id']}/download", headers=other).status_code == 404
    assert authed.get("/v1/tasks", headers=other).json()["data"] == []


def test_idempotent_submit_replays_the_same_task(authed, task_media):
    body = {"source_url": f"{task_media}/detail-small.png", "scale": 1}
    first = authed.post("/v1/tasks/super-resolution", json=body, headers={"Idempotency-Key": "sr-1"})
    replay = authed.post("/v1/tasks/super-resolution", json=body, headers={"Idempotency-Key": "sr-1"})
    assert (first.status_code, replay.status_code) == (202, 200) and first.json()["id"] == replay.json()["id"]
    clash = authed.post("/v1/tasks/super-resolution", json={**body, "scale": 2}, headers={"Idempotency-Key": "sr-1"})
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "idempotency_conflict"
    assert wait_task(authed, first.json()["id"])["status"] == "completed"


@pytest.mark.parametrize(("path", "body", "violations"), [
    ("transcribe", {"source_url": "SRC/speech.m4a", "speaker_labels": True, "language": "fr"},
     {"$.speaker_labels": "unsupported_option", "$.language": "unsupported_language"}),
    ("super-resolution", {"scale": 9, "model": "best"},
     {"$.source_url": "required", "$.scale": "out_of_range", "$.model": "enum"}),
    ("transcribe", {"source_url": "http://169.254.169.254/latest"}, {"$.source_url": "source_not_allowed"}),
])
def test_invalid_submits_are_422_with_every_violation(authed, task_media, path, body, violations):
    body = {k: v.replace("SRC", task_media) if isinstance(v, str) else v for k, v in body.items()}
    resp = authed.post(f"/v1/tasks/{path}", json=body)
    assert resp.status_code == 422, resp.text
    details = resp.json()["error"]["details"]
    assert {d["path"]: d["code"] for d in details} == violations


def test_capabilities_report_the_supported_tasks(http):
    tasks = {t["type"]: t for t in http.get("/v1/capabilities").json()["tasks"]}
    assert tasks["transcribe"]["supported"] and tasks["super-resolution"]["supported"]
    assert tasks["remove-background"]["supported"] and tasks["gaze-redirect"]["supported"]
