"""A render worker sent SIGTERM mid-render finishes the render (completed, one output), then exits 0
within the drain period with a "drained" line and no error in its log."""

import json
import signal
import subprocess
import time

import httpx
import pytest

from tests.e2e.conftest import start_mesh, stop_mesh
from tests.e2e.test_render_failures import wait_processing

DRAIN_SECONDS = 60
SPEC = {  # a few seconds of encoding on two cores
    "width": 1280, "height": 720, "frame_rate": 30, "duration": 20,
    "elements": [{"type": "text", "text": "drain", "duration": 20, "font_size": 96,
                  "motion": [{"type": "zoom_in", "time": 0, "duration": 20}]}],
}


@pytest.fixture(scope="module")
def own_mesh(pg_base, tmp_path_factory):
    mesh, nats, name = start_mesh(pg_base, tmp_path_factory.mktemp("worker-drain"),
                                  {"FRAMELANE_DRAIN_SECONDS": str(DRAIN_SECONDS)})
    yield mesh
    stop_mesh(pg_base, mesh, nats, name)


def test_sigterm_mid_render_finishes_the_render_then_exits_cleanly(own_mesh, tmp_path):
    key = own_mesh.dev_key(tmp_path / "dev-api-key")
    with httpx.Client(base_url=own_mesh.base_url, timeout=30, headers={"Authorization": f"Bearer {key}"}) as authed:
        job = authed.post("/v1/renders", json=SPEC).json()
        wait_processing(authed, job["id"], min_percent=0.1)
        worker = own_mesh.procs["renderer_worker"]
        signalled = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        try:
            code = worker.wait(DRAIN_SECONDS + 5)
        except subprocess.TimeoutExpired:
            worker.kill()
            raise AssertionError("the worker did not exit within the grace period") from None
        took = time.monotonic() - signalled
        assert code == 0, f"exit code {code}"

        done = authed.get(f"/v1/renders/{job['id']}").json()
        assert done["status"] == "completed", done
        assert done["output"] and done["output"]["url"], done
        files = sorted(p.name for p in (own_mesh.run_dir / "storage" / "renders" / job["id"]).iterdir())
        assert files == ["output.mp4", "poster.jpg"]

    lines = [json.loads(line) for line in (own_mesh.logs / "renderer_worker.log").read_text().splitlines()
             if line.startswith("{")]
    messages = [line["msg"] for line in lines]
    assert "render completed" in messages and "drained" in messages
    assert messages.index("render completed") < messages.index("drained")
    assert messages.count("render started") == 1  # finished here, not handed to another worker
    assert not [line for line in lines if line["level"] in ("error", "critical")]
    assert took < DRAIN_SECONDS, f"exit took {took:.1f} s"
