"""Renders end to end through Envoy: submit, poll, download, and check the file a client gets."""

import json
import subprocess
import time

import numpy as np


def walkthrough_spec(media: str) -> dict:
    """Video, image, text, audio and a transition: the README's walk-through."""
    return {
        "width": 320, "height": 240, "frame_rate": 30, "duration": 4, "output_format": "mp4",
        "metadata": {"order": "42"},
        "elements": [
            {"type": "video", "id": "a", "source_url": f"{media}/red.mp4", "in_point": 0.5, "out_point": 2.5,
             "volume": 0},
            {"type": "video", "id": "b", "source_url": f"{media}/blue.mp4", "time": 2, "out_point": 2, "volume": 0},
            {"type": "image", "id": "logo", "source_url": f"{media}/green.png", "time": 0, "duration": 4,
             "x": "10%", "y": "10%", "width": 32, "height": 24, "z_index": 2},
            {"type": "text", "text": "Hello", "time": 0, "duration": 4, "font_size": 24, "y": "85%", "z_index": 3},
            {"type": "audio", "source_url": f"{media}/tone.wav", "volume": 80, "fade_out_duration": 1},
        ],
        "transitions": [{"type": "cross_dissolve", "duration": 0.5, "from_id": "a", "to_id": "b"}],
    }


def wait_terminal(authed, render_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = authed.get(f"/v1/renders/{render_id}", params={"wait": 10}).json()
        if job["status"] in ("completed", "failed", "cancelled"):
            return job
    raise AssertionError(f"render {render_id} did not finish")


def ffprobe(path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format",
                          "-count_frames", str(path)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def frame_at(path, t: float, w: int = 320, h: int = 240) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-ss", str(t), "-i", str(path), "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(h, w, 3).astype(int)


def test_walkthrough_render_completes_and_downloads_a_playable_mp4(authed, http, media_server, tmp_path):
    created = authed.post("/v1/renders", json=walkthrough_spec(media_server))
    assert created.status_code == 202, created.text
    job = created.json()
    assert job["id"].startswith("render_") and job["status"] == "queued" and job["kind"] == "render"
    assert job["task_type"] is None and job["output"] is None and job["metadata"] == {"order": "42"}

    done = wait_terminal(authed, job["id"])
    assert done["status"] == "completed", done
    assert done["progress_percent"] == 100 and done["completed_at"]
    out = done["output"]
    assert (out["width"], out["height"]) == (320, 240) and abs(out["duration"] - 4) < 0.05
    assert out["size_bytes"] > 1000 and out["url"].startswith(http.base_url.__str__().rstrip("/") + "/blobs/")

    early = authed.get(f"/v1/renders/{job['id']}/download", follow_redirects=False)
    assert early.status_code == 302
    blob = http.get(early.headers["location"])
    assert blob.status_code == 200 and blob.headers["content-type"] == "video/mp4"
    path = tmp_path / "out.mp4"
    path.write_bytes(blob.content)
    probe = ffprobe(path)
    video = next(s for s in probe["streams"] if s["codec_type"] == "video")
    audio = next(s for s in probe["streams"] if s["codec_type"] == "audio")
    assert (video["codec_name"], video["width"], video["height"], video["r_frame_rate"]) == ("h264", 320, 240, "30/1")
    assert int(video["nb_read_frames"]) == 120 and audio["codec_name"] == "aac"
    centre_early, centre_late = frame_at(path, 1.0)[120, 160], frame_at(path, 3.5)[120, 160]
    assert centre_early[0] > 180 and centre_early[2] < 70  # red clip first
    assert centre_late[2] > 180 and centre_late[0] < 70  # blue clip after the cut
    around_cut = [frame_at(path, 1.5 + i / 10)[120, 160] for i in range(11)]
    assert any(40 < px[0] < 215 and 40 < px[2] < 215 for px in around_cut), around_cut  # the dissolve mixes both
    logo = frame_at(path, 1.0)[24 + 5, 32 + 5]
    assert logo[1] > 180 and logo[0] < 90  # the green image sits near the top left

    ranged = http.get(early.headers["location"], headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and ranged.content == blob.content[:100]
    tampered = early.headers["location"].replace("sig=", "sig=0")
    assert http.get(tampered).status_code == 403


def test_invalid_spec_lists_every_violation_with_its_path(authed):
    resp = authed.post("/v1/renders", json={
        "width": 99999, "output_format": "avi",
        "elements": [{"type": "video"}, {"type": "text", "text": "x", "duration": 1, "motion": [{"type": "explode", "time": 0, "duration": 1}]}],
        "transitions": [{"type": "cross_dissolve", "duration": 1, "from_id": "a", "to_id": "a"}],
    })
    assert resp.status_code == 422
    error = resp.json()["error"]
    paths = {d["path"] for d in error["details"]}
    assert {"$.width", "$.output_format", "$.elements[0].source_url", "$.transitions[0]"} & paths
    assert len(error["details"]) >= 4


def test_private_sources_are_refused_at_submit(authed):
    resp = authed.post("/v1/renders", json={"elements": [
        {"type": "video", "source_url": "http://169.254.169.254/latest/x.mp4"}]})
    assert resp.status_code == 422
    detail = resp.json()["error"]["details"][0]
    assert (detail["path"], detail["code"]) == ("$.elements[0].source_url", "source_not_allowed")
    assert "non-public address" in detail["message"]


def test_missing_source_fails_the_job_with_source_not_found(authed, media_server):
    job = authed.post("/v1/renders", json={"duration": 1, "elements": [
        {"type": "video", "source_url": f"{media_server}/missing.mp4"}]}).json()
    done = wait_terminal(authed, job["id"])
    assert done["status"] == "failed" and done["error"]["code"] == "source_not_found"
    assert authed.get(f"/v1/renders/{job['id']}/download").json()["error"]["code"] == "not_ready"


def test_idempotent_replay_returns_the_original_with_200(authed, media_server):
    spec = {"duration": 1, "width": 64, "height": 64, "elements": [{"type": "text", "text": "k", "duration": 1}]}
    headers = {"Idempotency-Key": "order-7"}
    first = authed.post("/v1/renders", json=spec, headers=headers)
    again = authed.post("/v1/renders", json=spec, headers=headers)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"]
    other = authed.post("/v1/renders", json={**spec, "duration": 2}, headers=headers)
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict"


def test_list_filters_and_cancel(authed):
    spec = {"duration": 30, "width": 640, "height": 360, "elements": [{"type": "text", "text": "slow", "duration": 30}]}
    job = authed.post("/v1/renders", json=spec).json()
    cancelled = authed.delete(f"/v1/renders/{job['id']}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["error"]["code"] == "cancelled"
    again = authed.delete(f"/v1/renders/{job['id']}")
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_cancellable"
    listed = authed.get("/v1/renders", params={"status": "cancelled", "limit": 100}).json()
    assert job["id"] in [j["id"] for j in listed["data"]]
    assert all(j["status"] == "cancelled" for j in listed["data"])
    assert authed.get("/v1/renders/render_nope").status_code == 404


def test_dry_run_preview_is_free_validation(authed):
    ok = authed.post("/v1/preview", json={"dry_run": True, "render_request": {
        "duration": 5, "elements": [{"type": "text", "text": "x", "duration": 5}]}})
    assert ok.status_code == 200 and ok.json()["valid"] is True and ok.json()["duration"] == 5
    bad = authed.post("/v1/preview", json={"dry_run": True, "render_request": {"width": 5}})
    assert bad.json()["valid"] is False and bad.json()["violations"]
    assert ok.json()["preview"] is None


def test_frame_preview_renders_one_png_of_the_timeline(authed, http, media_server, tmp_path):
    resp = authed.post("/v1/preview", json={"at": 3.5, "render_request": walkthrough_spec(media_server)})
    assert resp.status_code == 200, resp.text
    preview = resp.json()["preview"]
    assert (preview["kind"], preview["width"], preview["height"]) == ("frame", 320, 240)
    png = http.get(preview["url"])
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    path = tmp_path / "frame.png"
    path.write_bytes(png.content)
    centre = frame_at(path, 0)[120, 160]
    assert centre[2] > 180 and centre[0] < 70  # the blue clip is on screen at 3.5 s
    outside = authed.post("/v1/preview", json={"at": 99, "render_request": walkthrough_spec(media_server)})
    assert outside.status_code == 422 and outside.json()["error"]["details"][0]["path"] == "$.at"


def test_other_workspaces_cannot_see_a_render(authed, http, mesh, tmp_path):
    other_key = mesh.dev_key(tmp_path / "other-key")
    job = authed.post("/v1/renders", json={"duration": 1, "elements": [{"type": "text", "text": "x", "duration": 1}]}).json()
    other = {"Authorization": f"Bearer {other_key}"}
    for method, path in (("GET", f"/v1/renders/{job['id']}"), ("DELETE", f"/v1/renders/{job['id']}"),
                         ("GET", f"/v1/renders/{job['id']}/download")):
        assert http.request(method, path, headers=other).status_code == 404
