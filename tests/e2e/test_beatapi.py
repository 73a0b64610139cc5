"""The BeatAPI face end to end through Envoy, driven by a client that knows only BeatAPI's
documented contract (tests/e2e/beatapi_client.py): both workflows on generated images and audio,
every response shape against golden JSON, credits the same on both faces, BeatAPI-signed webhooks,
and the BeatAPI error vocabulary."""

import asyncio
import io
import json
import re
import subprocess
import time
import wave
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests.e2e.beatapi_client import BeatApi, BeatApiError, verify_webhook
from tests.e2e.conftest import new_workspace_key
from tests.e2e.test_renders import ffprobe

GOLDEN = json.loads((Path(__file__).parent / "golden" / "beatapi.json").read_text())
FPS = 30
BPM = 120
SRT = "1\n00:00:01,000 --> 00:00:04,000\nfeel the beat tonight\n\n2\n00:00:05,000 --> 00:00:08,000\nwe keep moving on\n"


def matches(value, template, path="$") -> None:
    """Asserts `value` has exactly the template's shape: keys, literal values and typed slots."""
    if isinstance(template, dict):
        assert isinstance(value, dict), f"{path}: {value!r} is not an object"
        assert set(value) == set(template), f"{path}: keys {sorted(value)} != {sorted(template)}"
        for key in template:
            matches(value[key], template[key], f"{path}.{key}")
    elif isinstance(template, list):
        assert isinstance(value, list) and len(value) == len(template), f"{path}: {value!r}"
        for i, (v, t) in enumerate(zip(value, template, strict=True)):
            matches(v, t, f"{path}[{i}]")
    elif isinstance(template, str) and template.startswith("<"):
        slot = template[1:-1]
        ok = {
            "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
            "unix": lambda v: isinstance(v, int) and 1_700_000_000 < v < 4_000_000_000,
            "str": lambda v: isinstance(v, str) and v != "",
            "url": lambda v: isinstance(v, str) and v.startswith("http"),
            "list": lambda v: isinstance(v, list),
            "any": lambda v: True,
            "whsec": lambda v: isinstance(v, str) and v.startswith("whsec_") and "*" not in v,
            "workflow": lambda v: v in ("music-video", "ecommerce-video"),
            "request_id": lambda v: isinstance(v, str) and len(v) >= 8,
        }.get(slot) or (lambda v: isinstance(v, str) and v.startswith(slot.split("_")[0] + "_"))
        assert ok(value), f"{path}: {value!r} is not {template}"
    else:
        assert value == template, f"{path}: {value!r} != {template!r}"


def error_shape(err: BeatApiError, code: str, status: int) -> None:
    assert (err.status, err.code) == (status, code), err
    body = dict(err.body["error"])
    body.pop("details", None)
    matches({"error": body}, GOLDEN["error_retryable" if "retry_after_seconds" in body else "error"])
    assert err.headers["x-request-id"] == err.request_id


def new_account(mesh, plan: str = "pro", credits: int = 0) -> str:
    """A workspace on `plan` with `credits` granted, and its key."""
    from framelane_core import db  # noqa: PLC0415
    from framelane_usage.credits import Credits  # noqa: PLC0415
    from framelane_usage.service import Accounts  # noqa: PLC0415

    async def create() -> str:
        pool = await db.open_pool(mesh.env["DATABASE_URL"], "usage", min_size=1, max_size=1)
        try:
            ws, _, key = await Accounts(pool).create_workspace(f"beatapi {plan}", plan=plan)
            if credits:
                await Credits(pool).grant(ws["id"], f"test:{ws['id']}", credits, "test")
            return key
        finally:
            await pool.close()

    return asyncio.run(create())


def png(color: tuple[int, int, int], shape: str, size=(640, 480)) -> bytes:
    image = Image.new("RGB", size, color)
    draw = ImageDraw.Draw(image)
    w, h = size
    box = (w // 4, h // 4, 3 * w // 4, 3 * h // 4)
    (draw.ellipse if shape == "circle" else draw.rectangle)(box, fill=(255 - color[0], 255 - color[1], 255 - color[2]))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def beat_track(seconds: float = 20.0, rate: int = 22050) -> bytes:
    """Clicks at 120 BPM over a quiet hum, as a 16-bit mono WAV."""
    t = np.arange(int(seconds * rate)) / rate
    signal = 0.05 * np.sin(2 * np.pi * 110 * t)
    click = np.exp(-np.arange(int(0.03 * rate)) / (0.004 * rate)) * np.sin(2 * np.pi * 1500 * np.arange(int(0.03 * rate)) / rate)
    for k in range(int(seconds * BPM / 60)):
        start = int((0.5 + k * 60 / BPM) * rate)
        end = min(start + len(click), len(signal))
        if start < len(signal):
            signal[start:end] += 0.8 * click[: end - start]
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(signal, -1, 1) * 32767).astype(np.int16).tobytes())
    return out.getvalue()


def scene_changes(path: Path) -> list[float]:
    """Times of frames that differ strongly from the previous one (FFmpeg's scene score)."""
    result = subprocess.run(
        ["ffmpeg", "-hide_banner", "-i", str(path), "-vf", "select='gt(scene,0.25)',showinfo", "-an", "-f", "null", "-"],
        capture_output=True, text=True, check=True)
    return [float(m) for m in re.findall(r"pts_time:([0-9.]+)", result.stderr)]


@pytest.fixture(scope="module")
def media(media_dir, media_server) -> dict:
    """Generated inputs served by the test's media server (the mesh may fetch from it)."""
    names = {"red.png": png((200, 30, 30), "circle"), "green.png": png((30, 160, 60), "box"),
             "blue.png": png((30, 60, 200), "circle"), "product.png": png((240, 240, 235), "box", (800, 800)),
             "beat.wav": beat_track(), "lyrics.srt": SRT.encode()}
    for name, data in names.items():  # own names: the session's other tests serve red.mp4, ...
        (media_dir / f"beatapi-{name}").write_bytes(data)
    return {name: f"{media_server}/beatapi-{name}" for name in names} | {"_bytes": names}


@pytest.fixture(scope="module")
def beat(mesh) -> BeatApi:
    return BeatApi(f"{mesh.base_url}/beatapi", new_account(mesh, "enterprise", credits=5000))


def test_workflows_need_no_key(mesh):
    assert BeatApi(f"{mesh.base_url}/beatapi", None).workflows() == GOLDEN["workflows"]


def test_music_video_end_to_end(mesh, beat, media, webhook_receiver, tmp_path):
    status, hook = beat.create_webhook({"url": f"{webhook_receiver.url}/beat", "description": "ci"})
    assert status == 201
    matches(hook, GOLDEN["webhook_created"])
    before = beat.usage()
    matches(before, GOLDEN["usage"])

    status, audio = beat.upload(media["_bytes"]["beat.wav"], "audio/wav")
    assert status == 201
    matches(audio, GOLDEN["file_audio"])
    assert abs(audio["data"]["audio_duration_seconds"] - 20) < 0.1 and audio["data"]["mime_type"] == "audio/wav"
    status, image = beat.upload(media["_bytes"]["red.png"], "image/png", filename="red.png")
    assert status == 201
    matches(image, GOLDEN["file_image"])

    body = {"images": [image["data"]["url"], media["green.png"], media["blue.png"]],
            "audio_url": audio["data"]["url"], "prompt": "A punchy clip with hard cuts on every beat.",
            "language": "en", "aspect_ratio": "1:1", "resolution": "540p", "add_subtitle": True,
            "subtitle_color": "#FFD700", "srt_url": media["lyrics.srt"]}
    status, created = beat.create_music_video(body)
    assert status == 201
    matches(created, GOLDEN["task_queued"])
    task = created["data"]
    assert task["workflow"] == "music-video"
    assert task["usage"]["credits_reserved"] == 80 == task["usage"]["credits_charged"]  # 540p standard: 4/s x 20 s
    assert task["usage"]["billable_duration_seconds"] == 20

    done = beat.wait(task["id"])
    assert done["status"] == "succeeded", done
    matches({"data": done}, GOLDEN["task_succeeded"])
    assert done["usage"]["credits_settled"] == 80 and done["completed_at"] >= done["created_at"]

    video = tmp_path / "mv.mp4"
    video.write_bytes(httpx.get(done["output"]["media"][0]["url"], timeout=60).content)
    info = ffprobe(video)
    streams = {s["codec_type"]: s for s in info["streams"]}
    assert (streams["video"]["width"], streams["video"]["height"]) == (540, 540)
    assert abs(float(info["format"]["duration"]) - 20) < 0.2
    assert abs(float(streams["audio"]["duration"]) - 20) < 0.2

    # Cuts land on the beats the task detected (within one frame), as the compiled spec says.
    key = {"Authorization": beat.http.headers["Authorization"]}
    spec = httpx.get(f"{mesh.base_url}/v1/tasks/{task['id']}/spec", headers=key, timeout=30).json()
    beats = json.loads(spec["metadata"]["beats"])  # render metadata is a string map
    cuts = scene_changes(video)
    assert len(cuts) >= 5
    for cut in cuts:
        assert min(abs(cut - b) for b in beats) <= 1 / FPS + 1e-3, (cut, beats)
    assert any(e["type"] == "text" and e.get("word_animation") for e in spec["elements"])

    # The same task natively, and its spec renders again as an ordinary render.
    native = httpx.get(f"{mesh.base_url}/v1/tasks/{task['id']}", headers=key, timeout=30).json()
    assert native["task_type"] == "music_video" and native["status"] == "completed"
    again = httpx.post(f"{mesh.base_url}/v1/renders", headers=key, json=spec, timeout=30)
    assert again.status_code == 202, again.text
    httpx.delete(f"{mesh.base_url}/v1/renders/{again.json()['id']}", headers=key, timeout=30)

    # Credits: the same movement on both faces.
    after = beat.usage()["data"]
    assert after["credit_balance"] == before["data"]["credit_balance"] - 80
    assert after["credits_settled"] == before["data"]["credits_settled"] + 80
    assert {"workflow": "music-video", "tasks": 1, "credits_settled": 80} in after["by_workflow"]
    credits = httpx.get(f"{mesh.base_url}/v1/workspace/credits", headers=key, timeout=30).json()
    assert (credits["balance"], credits["credits_settled"]) == (after["credit_balance"], after["credits_settled"])

    # task.succeeded reached the BeatAPI endpoint, signed the BeatAPI way.
    deliveries = [(h, b) for p, h, b in webhook_receiver.requests
                  if p == "/beat" and json.loads(b)["data"].get("id") == task["id"]]
    assert [h["x-beatapi-event"] for h, _ in deliveries] == ["task.succeeded"]
    headers, raw = deliveries[0]
    assert verify_webhook(hook["data"]["secret"], headers, raw)
    assert not verify_webhook("whsec_wrong", headers, raw)
    event = json.loads(raw)
    assert list(event) == ["id", "event", "created_at", "data"] and event["event"] == "task.succeeded"
    matches({"data": event["data"]}, GOLDEN["task_succeeded"])


def test_ecommerce_video_end_to_end(mesh, beat, media, tmp_path):
    body = {"images": [media["product.png"], media["blue.png"]], "duration": 15, "aspect_ratio": "9:16",
            "prompt": 'Launch ad for "Aurora Lamp" at $49, shop now.'}
    status, created = beat.create_ecommerce_video(body)
    assert status == 201
    assert created["data"]["usage"]["credits_reserved"] == 225  # 15 credits/s x 15 s
    done = beat.wait(created["data"]["id"], timeout=420)
    assert done["status"] == "succeeded", done
    video = tmp_path / "ad.mp4"
    video.write_bytes(httpx.get(done["output"]["media"][0]["url"], timeout=60).content)
    info = ffprobe(video)
    streams = {s["codec_type"]: s for s in info["streams"]}
    assert (streams["video"]["width"], streams["video"]["height"]) == (1080, 1920)
    assert abs(float(info["format"]["duration"]) - 15) < 0.2
    key = {"Authorization": beat.http.headers["Authorization"]}
    spec = httpx.get(f"{mesh.base_url}/v1/tasks/{done['id']}/spec", headers=key, timeout=30).json()
    texts = " ".join(e.get("text", "") for e in spec["elements"] if e["type"] == "text")
    assert "Aurora Lamp" in texts and "$49" in texts
    # A frame from the middle of the first shot shows the product (near-white box on a light card).
    frame = subprocess.run(["ffmpeg", "-v", "error", "-ss", "1.5", "-i", str(video), "-frames:v", "1", "-f", "rawvideo",
                            "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    pixels = np.frombuffer(frame, np.uint8).reshape(1920, 1080, 3)
    assert pixels.std() > 10  # not a blank frame


def test_errors_in_beatapi_vocabulary(mesh, beat, media):
    with pytest.raises(BeatApiError) as err:
        BeatApi(f"{mesh.base_url}/beatapi", None).usage()
    error_shape(err.value, "unauthorized", 401)

    with pytest.raises(BeatApiError) as err:
        beat.create_music_video({"images": [], "audio_url": "ftp://x", "quality": "high", "resolution": "540p"})
    error_shape(err.value, "bad_request", 400)
    assert {d["path"] for d in err.value.body["error"]["details"]} >= {"$.images", "$.audio_url"}

    with pytest.raises(BeatApiError) as err:
        beat.create_music_video({"images": [media["red.png"]], "audio_url": media["beat.wav"], "lip_sync": True})
    error_shape(err.value, "bad_request", 400)

    with pytest.raises(BeatApiError) as err:
        beat.create_music_video({"images": [media["red.png"]], "audio_url": "http://169.254.169.254/a.mp3"})
    error_shape(err.value, "bad_request", 400)

    with pytest.raises(BeatApiError) as err:
        beat.upload(b"%PDF-1.4", "application/pdf")
    error_shape(err.value, "bad_request", 400)

    with pytest.raises(BeatApiError) as err:
        beat.task("task_doesnotexist")
    error_shape(err.value, "not_found", 404)

    broke = BeatApi(f"{mesh.base_url}/beatapi", new_account(mesh, "pro", credits=10))
    with pytest.raises(BeatApiError) as err:
        broke.create_ecommerce_video({"images": [media["red.png"]], "duration": 10})
    error_shape(err.value, "insufficient_credits", 402)


def test_concurrency_cancel_refund_and_idempotency(mesh, media):
    key = new_account(mesh, "free", credits=1000)
    beat = BeatApi(f"{mesh.base_url}/beatapi", key)
    body = {"images": [media["red.png"]], "duration": 10, "aspect_ratio": "1:1"}
    status, first = beat.create_ecommerce_video(body, headers={"Idempotency-Key": "launch-1"})
    assert status == 201
    status, replay = beat.create_ecommerce_video(body, headers={"Idempotency-Key": "launch-1"})
    assert (status, replay["data"]["id"]) == (200, first["data"]["id"])

    with pytest.raises(BeatApiError) as err:  # the free plan runs one task at a time
        beat.create_ecommerce_video(body)
    error_shape(err.value, "user_concurrency_exceeded", 429)
    assert err.value.retry_after_seconds > 0 and err.value.headers["retry-after"] == str(err.value.retry_after_seconds)

    cancelled = httpx.delete(f"{mesh.base_url}/v1/tasks/{first['data']['id']}",
                             headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert cancelled.status_code == 200, cancelled.text
    task = beat.task(first["data"]["id"])
    matches(task, GOLDEN["task_failed"])
    assert task["data"]["error_code"] == "cancelled" and task["data"]["usage"]["credits_refunded"] == 150
    for _ in range(100):  # the ledger follows the cancelled event
        usage = beat.usage()["data"]
        if usage["credits_refunded"] == 150:
            break
        time.sleep(0.1)
    assert (usage["credit_balance"], usage["credits_refunded"]) == (1000, 150)


def test_polling_rate_limit(mesh, media):
    beat = BeatApi(f"{mesh.base_url}/beatapi", new_workspace_key(mesh, "enterprise"))
    with pytest.raises(BeatApiError) as err:
        for _ in range(130):
            try:
                beat.task("task_polled")
            except BeatApiError as e:
                if e.code != "not_found":
                    raise
    error_shape(err.value, "rate_limit_exceeded", 429)
    assert err.value.retry_after_seconds >= 1


def test_webhook_endpoints_crud(mesh, beat, webhook_receiver):
    status, created = beat.create_webhook({"url": f"{webhook_receiver.url}/crud", "events": ["task.failed"]})
    assert status == 201
    hook = created["data"]
    listed = beat.webhooks()
    matches(listed, GOLDEN["webhook_list"])
    shown = next(w for w in listed["data"]["data"] if w["id"] == hook["id"])
    assert shown["secret"] != hook["secret"] and "*" in shown["secret"] or shown["secret"].endswith("masked")
    assert beat.webhook(hook["id"])["data"]["events"] == ["task.failed"]
    updated = beat.update_webhook(hook["id"], {"status": "disabled", "description": "paused"})["data"]
    assert (updated["status"], updated["description"]) == ("disabled", "paused")
    deleted = beat.delete_webhook(hook["id"])
    matches(deleted, GOLDEN["deleted"])
    with pytest.raises(BeatApiError) as err:
        beat.webhook(hook["id"])
    error_shape(err.value, "not_found", 404)
    with pytest.raises(BeatApiError) as err:
        beat.create_webhook({"url": f"{webhook_receiver.url}/x", "events": ["render.completed"]})
    error_shape(err.value, "bad_request", 400)
