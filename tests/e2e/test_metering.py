"""Render minutes are metered from render.completed, and plan caps refuse renders with 402."""

import time

import httpx

from tests.e2e.conftest import new_workspace_key
from tests.e2e.test_renders import wait_terminal

TINY = {"width": 16, "height": 16, "frame_rate": 1, "output_format": "mp4"}


def test_completed_render_is_metered_once_in_render_minutes(mesh):
    key = new_workspace_key(mesh, "pro")
    with httpx.Client(base_url=mesh.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        job = client.post("/v1/renders", json={**TINY, "duration": 6, "elements": [
            {"type": "text", "text": "m", "duration": 6}]}).json()
        assert wait_terminal(client, job["id"])["status"] == "completed"
        deadline = time.monotonic() + 10
        while True:
            usage = client.get("/v1/workspace/usage").json()
            if usage["render_minutes"] > 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert abs(usage["render_minutes"] - 0.1) < 0.002
        assert usage["render_minutes_reserved"] == 0


def test_free_plan_cap_refuses_a_render_that_would_exceed_it(mesh):
    key = new_workspace_key(mesh, "free")
    with httpx.Client(base_url=mesh.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        spec = {**TINY, "elements": [{"type": "text", "text": "q", "duration": 1000}]}
        first = client.post("/v1/renders", json=spec)
        assert first.status_code == 202  # 16.7 of 25 minutes reserved
        second = client.post("/v1/renders", json={**spec, "elements": [{"type": "text", "text": "q", "duration": 600}]})
        assert second.status_code == 402, second.text
        error = second.json()["error"]
        assert error["code"] == "quota_exceeded" and error["details"]["render_minutes_limit"] == 25
        assert client.get("/v1/workspace/usage").json()["render_minutes_reserved"] > 16
        client.delete(f"/v1/renders/{first.json()['id']}")
        deadline = time.monotonic() + 10
        while client.get("/v1/workspace/usage").json()["render_minutes_reserved"] > 0:
            assert time.monotonic() < deadline, "the cancelled render's reservation was not released"
            time.sleep(0.2)
        third = client.post("/v1/renders", json={**spec, "elements": [{"type": "text", "text": "q", "duration": 600}]})
        assert third.status_code == 202
        client.delete(f"/v1/renders/{third.json()['id']}")
