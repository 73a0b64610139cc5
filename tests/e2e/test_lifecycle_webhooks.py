"""Every lifecycle event of a real render and a real task reaches a workspace endpoint and the
job's own webhook_url exactly once per event id, signed as API.md says (verified independently)."""

import json
import subprocess
import time
from collections import Counter

import httpx

from tests.e2e.conftest import new_workspace_key
from tests.e2e.test_renders import wait_terminal
from tests.unit.webhooks.verifier import verify_framelane, verify_standard

LIFECYCLE = ["queued", "processing", "completed"]


def test_render_and_task_events_arrive_once_each_and_signed(mesh, media_server, media_dir, webhook_receiver):
    key = new_workspace_key(mesh, "pro")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=64x48:d=1", "-frames:v", "1",
                    str(media_dir / "lifecycle.png")], check=True)
    with httpx.Client(base_url=mesh.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        endpoint = client.post("/v1/webhooks", json={"url": f"{webhook_receiver.url}/endpoint"})
        assert endpoint.status_code == 201, endpoint.text
        secret = endpoint.json()["secret"]
        render = client.post("/v1/renders", json={
            "width": 64, "height": 64, "frame_rate": 10, "duration": 2, "webhook_url": f"{webhook_receiver.url}/job",
            "metadata": {"ref": "lifecycle"}, "elements": [{"type": "text", "text": "w", "duration": 2}]}).json()
        task = client.post("/v1/tasks/super-resolution", json={
            "source_url": f"{media_server}/lifecycle.png", "scale": 2}).json()
        assert wait_terminal(client, render["id"])["status"] == "completed"
        deadline = time.monotonic() + 60
        while client.get(f"/v1/tasks/{task['id']}", params={"wait": 5}).json()["status"] != "completed":
            assert time.monotonic() < deadline

    def events(path: str, job_id: str) -> list[dict]:
        found = []
        for p, headers, body in webhook_receiver.requests:
            envelope = json.loads(body)
            if p == path and envelope["data"].get("id") == job_id:
                assert verify_framelane(secret, headers, body), headers
                assert verify_standard(secret, headers, body), headers
                assert headers["webhook-id"] == envelope["id"]
                found.append(envelope)
        return found

    deadline = time.monotonic() + 30
    while True:
        got = {name: events(path, job["id"]) for name, path, job in
               (("render", "/endpoint", render), ("task", "/endpoint", task), ("job", "/job", render))}
        done = all(any(e["type"].endswith(".completed") for e in found) for found in got.values())
        if done or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    for name, found in got.items():
        kind = "task" if name == "task" else "render"
        types = Counter(e["type"] for e in {e["id"]: e for e in found}.values())
        for state in LIFECYCLE:
            assert types[f"{kind}.{state}"] == 1, (name, types)
        assert sum(types.values()) == len({e["id"] for e in found}), "two events with one id"
    completed = next(e for e in got["render"] if e["type"] == "render.completed")
    assert completed["data"]["status"] == "completed" and completed["data"]["metadata"] == {"ref": "lifecycle"}
    assert completed["data"]["output"]["url"].startswith(mesh.base_url)
