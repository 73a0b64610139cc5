"""Renders survive a killed worker, and a cancel stops FFmpeg within 2 s."""

import asyncio
import signal
import subprocess
import time

import nats

from tests.e2e.test_renders import wait_terminal

SLOW_SPEC = {  # a few seconds of encoding on two cores
    "width": 1280, "height": 720, "frame_rate": 30, "duration": 40,
    "elements": [{"type": "text", "text": "slow", "duration": 40, "font_size": 96,
                  "motion": [{"type": "zoom_in", "time": 0, "duration": 40}]}],
}


def wait_processing(authed, render_id: str, min_percent: float = 1.0, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = authed.get(f"/v1/renders/{render_id}").json()
        if job["status"] == "processing" and job["progress_percent"] >= min_percent:
            return job
        assert job["status"] in ("queued", "processing"), job
        time.sleep(0.1)
    raise AssertionError("render never got going")


def ffmpeg_children(pid: int) -> list[str]:
    out = subprocess.run(["pgrep", "-P", str(pid), "ffmpeg"], capture_output=True, text=True).stdout
    return out.split()


async def completed_events(nats_url: str, job_id: str, service: str = "renderer", kind: str = "render") -> int:
    """How many `<kind>.completed` events of the job the service's stream holds."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        sub = await js.subscribe(f"framelane.{service}.v1.{kind}.completed", stream=f"FRAMELANE_{service.upper()}",
                                 ordered_consumer=True)
        count = 0
        while True:
            try:
                msg = await sub.next_msg(timeout=1)
            except TimeoutError:
                return count
            count += job_id.encode() in msg.data
    finally:
        await nc.close()


def test_killed_worker_job_is_redelivered_and_completes_once(authed, mesh):
    job = authed.post("/v1/renders", json=SLOW_SPEC).json()
    wait_processing(authed, job["id"])
    mesh.stop_process("renderer_worker", signal.SIGKILL)
    mesh.start_service("renderer_worker")
    done = wait_terminal(authed, job["id"], timeout=180)
    assert done["status"] == "completed", done
    files = sorted(p.name for p in (mesh.run_dir / "storage" / "renders" / job["id"]).iterdir())
    assert files == ["output.mp4", "poster.jpg"]
    assert asyncio.run(completed_events(mesh.env["NATS_URL"], job["id"])) == 1


def test_cancel_while_processing_stops_ffmpeg_within_two_seconds(authed, mesh):
    job = authed.post("/v1/renders", json={**SLOW_SPEC, "duration": 120}).json()
    wait_processing(authed, job["id"])
    worker = mesh.procs["renderer_worker"].pid
    assert ffmpeg_children(worker)
    started = time.monotonic()
    assert authed.delete(f"/v1/renders/{job['id']}").json()["status"] == "cancelled"
    while ffmpeg_children(worker):
        assert time.monotonic() - started < 2.0, "ffmpeg still running 2 s after the cancel"
        time.sleep(0.05)
    time.sleep(1.0)
    final = authed.get(f"/v1/renders/{job['id']}").json()
    assert final["status"] == "cancelled" and final["output"] is None
    assert not (mesh.run_dir / "storage" / "renders" / job["id"]).exists()
