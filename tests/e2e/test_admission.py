"""Admission under a stampede (issue: usage): 200 concurrent task creations against a workspace whose
plan runs 2 jobs at a time and whose credits pay for 5 tasks. Exactly 2 are ever active, exactly 5
are admitted over time, a task worker killed mid-task costs no credit and bills nothing twice, and
the ledger sums to the balance."""

import asyncio
import collections
import signal
import subprocess
import time

import httpx
import psycopg
import pytest

from framelane_core import db
from framelane_usage.credits import Credits
from tests.e2e.conftest import new_workspace_key, start_mesh, stop_mesh
from tests.e2e.test_render_failures import completed_events

PRICE = 80  # a music video at 540p standard: 4 credits/s x 20 s of audio
BODY = {"aspect_ratio": "1:1", "resolution": "540p", "prompt": "hard cuts"}


@pytest.fixture(scope="module")
def admission_mesh(pg_base, tmp_path_factory, media_server):
    mesh, nats, name = start_mesh(pg_base, tmp_path_factory.mktemp("admission"), {
        "FRAMELANE_FETCH_ALLOW": media_server.removeprefix("http://"), "FRAMELANE_JOB_ACK_WAIT_SECONDS": "6",
        "FRAMELANE_PLAN_OVERRIDES": '{"pro": {"concurrent_jobs": 2}}'})
    yield mesh
    stop_mesh(pg_base, mesh, nats, name)


def grant(mesh, ws_id: str, credits: int) -> None:
    async def run():
        pool = await db.open_pool(mesh.env["DATABASE_URL"], "usage", min_size=1, max_size=1)
        try:
            await Credits(pool).grant(ws_id, f"test:{ws_id}", credits, "admission test")
        finally:
            await pool.close()

    asyncio.run(run())


async def stampede(base_url: str, headers: dict, body: dict, n: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60,
                                 limits=httpx.Limits(max_connections=n)) as client:
        return await asyncio.gather(*(client.post("/v1/tasks/music-video", json=body) for _ in range(n)))


def test_200_concurrent_creations_admit_2_at_a_time_and_5_in_all(admission_mesh, media_server, media_dir):
    mesh = admission_mesh
    key = new_workspace_key(mesh, "pro")
    headers = {"Authorization": f"Bearer {key}"}
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=f=220:d=20", str(media_dir / "twenty.wav")],
                   check=True)
    body = {**BODY, "images": [f"{media_server}/green.png"], "audio_url": f"{media_server}/twenty.wav"}
    with httpx.Client(base_url=mesh.base_url, headers=headers, timeout=60) as http:
        ws_id = http.get("/v1/workspace").json()["id"]
        grant(mesh, ws_id, 5 * PRICE)

        # (Creating a music video measures its audio, so the stampede lasts long enough for the first
        # tasks to finish and free their slots: more than 2 may be admitted, never more than 2 at once.)
        first = asyncio.run(stampede(mesh.base_url, headers, body, 200))
        codes = collections.Counter((r.status_code, (r.json().get("error") or {}).get("code")) for r in first)
        assert set(codes) == {(202, None), (429, "concurrency_exceeded")} and codes[(202, None)] >= 2, codes
        admitted = [r.json()["id"] for r in first if r.status_code == 202]

        # Over time: a client retries while slots free up; the sixth is refused for credits.
        max_active, killed, refused = 0, False, None
        deadline = time.monotonic() + 300
        while refused is None or any(http.get(f"/v1/tasks/{t}").json()["status"] not in ("completed", "failed")
                                     for t in admitted):
            assert time.monotonic() < deadline, "the tasks did not finish"
            usage = http.get("/v1/workspace/usage").json()
            max_active = max(max_active, usage["active_jobs"])
            assert usage["active_jobs"] <= 2, usage
            if not killed and any(http.get(f"/v1/tasks/{t}").json()["status"] == "processing" for t in admitted):
                time.sleep(1.0)  # the worker is inside the task (its child render is under way)
                mesh.stop_process("tasks_worker", signal.SIGKILL)
                mesh.start_service("tasks_worker")
                killed = True
            if refused is None:
                r = http.post("/v1/tasks/music-video", json=body)
                if r.status_code == 202:
                    admitted.append(r.json()["id"])
                elif r.status_code == 402:
                    refused = r.json()["error"]
                else:
                    assert (r.status_code, r.json()["error"]["code"]) == (429, "concurrency_exceeded"), r.text
            time.sleep(0.5)

        assert killed and max_active <= 2
        assert len(admitted) == 5 and refused["code"] == "insufficient_credits", (admitted, refused)
        finals = [http.get(f"/v1/tasks/{t}").json() for t in admitted]
        assert [f["status"] for f in finals] == ["completed"] * 5, finals
        # Admitted at creation, released at completion: at no instant were more than 2 active.
        edges = sorted([(f["created_at"], 1) for f in finals] + [(f["completed_at"], -1) for f in finals],
                       key=lambda e: (e[0], e[1]))
        active = [sum(d for _, d in edges[: i + 1]) for i in range(len(edges))]
        assert max(active) == 2, edges
        for task_id in admitted:  # each completed exactly once, whatever was redelivered
            assert asyncio.run(completed_events(mesh.env["NATS_URL"], task_id, "tasks", "task")) == 1
        credits = http.get("/v1/workspace/credits").json()

    with psycopg.connect(mesh.env["DATABASE_URL"]) as conn:
        rows = conn.execute("SELECT job_id, kind, amount, charged FROM usage.credit_ledger WHERE workspace_id = %s",
                            (ws_id,)).fetchall()
    by_kind = collections.Counter(kind for _, kind, _, _ in rows)
    assert by_kind == {"grant": 1, "reserve": 5, "settle": 5}, rows
    assert {job for job, kind, _, _ in rows if kind != "grant"} == set(admitted)
    assert all(charged == PRICE for _, kind, _, charged in rows if kind == "settle")
    assert sum(amount for _, _, amount, _ in rows) == credits["balance"] == 0, (rows, credits)
    assert credits["credits_reserved"] == 0
