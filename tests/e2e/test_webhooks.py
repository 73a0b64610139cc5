"""Webhooks through Envoy, as a client sees them, on a mesh of its own whose webhooks service may
reach a receiver on 127.0.0.1 and retries on a schedule of seconds."""

import asyncio
import itertools
import json
import signal
import time

import httpx
import pytest

from framelane.api.v1 import job_pb2
from framelane_core import bus
from tests.e2e.conftest import start_mesh, stop_mesh
from tests.integration.webhooks.receiver import ThreadedReceiver
from tests.unit.webhooks.verifier import verify_framelane, verify_standard

FLAKY_FAILURES = 3


@pytest.fixture(scope="module")
def receiver():
    calls = itertools.count()

    def respond(received):
        if received.path == "/flaky" and next(calls) < FLAKY_FAILURES:
            return 500, {}, b"try later"
        return 204, {}, b""

    server = ThreadedReceiver(respond)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def hooks_mesh(pg_base, tmp_path_factory, receiver):
    with pytest.MonkeyPatch.context() as env:  # the mesh's children inherit these
        env.setenv("FRAMELANE_FETCH_ALLOW", f"127.0.0.1:{receiver.port}")
        env.setenv("FRAMELANE_WEBHOOK_RETRY_SCHEDULE", "1,1,1")
        mesh, nats, name = start_mesh(pg_base, tmp_path_factory.mktemp("hooks"))
    yield mesh
    stop_mesh(pg_base, mesh, nats, name)


@pytest.fixture(scope="module")
def keys(hooks_mesh, tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    return [hooks_mesh.dev_key(folder / "one"), hooks_mesh.dev_key(folder / "two")]


@pytest.fixture
def client(hooks_mesh, keys):
    with httpx.Client(base_url=hooks_mesh.base_url, timeout=30, headers={"Authorization": f"Bearer {keys[0]}"}) as c:
        yield c


def _error(resp, status, code):
    assert resp.status_code == status, resp.text
    assert resp.json()["error"]["code"] == code


def test_crud_through_envoy(client, receiver):
    created = client.post("/v1/webhooks", json={"url": receiver.url("/crud"), "events": ["render.completed"],
                                                 "description": "ci"})
    assert created.status_code == 201, created.text
    hook = created.json()
    assert set(hook) == {"id", "url", "events", "description", "enabled", "disabled_reason", "created_at",
                         "updated_at", "last_delivery_at", "face", "secret"}
    assert hook["secret"].startswith("whsec_") and hook["disabled_reason"] is None and hook["face"] == "native"
    got = client.get(f"/v1/webhooks/{hook['id']}").json()
    assert "secret" not in got and got["events"] == ["render.completed"]
    assert hook["id"] in [w["id"] for w in client.get("/v1/webhooks").json()["data"]]
    patched = client.patch(f"/v1/webhooks/{hook['id']}", json={"events": [], "enabled": False})
    assert patched.status_code == 200
    assert (patched.json()["events"], patched.json()["enabled"], patched.json()["description"]) == ([], False, "ci")
    rotated = client.post(f"/v1/webhooks/{hook['id']}/rotate-secret", json={})
    assert rotated.status_code == 200 and set(rotated.json()) == {"secret"}
    assert rotated.json()["secret"] != hook["secret"]
    deleted = client.delete(f"/v1/webhooks/{hook['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    _error(client.get(f"/v1/webhooks/{hook['id']}"), 404, "not_found")


def test_private_and_non_http_targets_are_refused(client):
    for url in ("http://10.1.2.3/hook", "http://127.0.0.1:1/hook", "gopher://example.com/"):
        _error(client.post("/v1/webhooks", json={"url": url}), 422, "source_not_allowed")
    _error(client.post("/v1/webhooks", json={"url": "https://example.com/", "events": ["render.done"]}),
           422, "invalid_request")


def test_another_workspace_gets_404(client, hooks_mesh, keys, receiver):
    hook = client.post("/v1/webhooks", json={"url": receiver.url("/mine")}).json()
    other = {"Authorization": f"Bearer {keys[1]}"}
    with httpx.Client(base_url=hooks_mesh.base_url, timeout=30, headers=other) as them:
        _error(them.get(f"/v1/webhooks/{hook['id']}"), 404, "not_found")
        _error(them.patch(f"/v1/webhooks/{hook['id']}", json={"enabled": False}), 404, "not_found")
        _error(them.delete(f"/v1/webhooks/{hook['id']}"), 404, "not_found")
        _error(them.get(f"/v1/webhooks/{hook['id']}/deliveries"), 404, "not_found")
        _error(them.post(f"/v1/webhooks/{hook['id']}/test", json={}), 404, "not_found")
        assert hook["id"] not in [w["id"] for w in them.get("/v1/webhooks").json()["data"]]
    client.delete(f"/v1/webhooks/{hook['id']}")


async def _publish_render_completed(nats_url: str, workspace_id: str) -> str:
    nc = await bus.connect(nats_url, "e2e-producer")
    try:
        js = nc.jetstream()
        await bus.ensure_stream(js, "renderer")
        job = job_pb2.Job(id="render_e2e", kind="render", workspace_id=workspace_id, status="completed",
                          progress_percent=100)
        event = bus.make_event("render.completed", workspace_id, job_pb2.JobEvent(job=job))
        await js.publish(bus.subject("renderer", event.type), event.SerializeToString(),
                         headers={"Nats-Msg-Id": event.id})
        return event.id
    finally:
        await nc.close()


def test_retries_survive_a_killed_service_and_deliveries_can_be_inspected_and_resent(client, hooks_mesh, receiver):
    hook = client.post("/v1/webhooks", json={"url": receiver.url("/flaky")}).json()
    workspace_id = client.get("/v1/workspace").json()["id"]
    event_id = asyncio.run(_publish_render_completed(hooks_mesh.env["NATS_URL"], workspace_id))
    receiver.wait_for(1, path="/flaky", timeout=15)
    deliveries_url = f"/v1/webhooks/{hook['id']}/deliveries"
    _eventually(lambda: client.get(deliveries_url).json()["data"], lambda ds: ds and ds[0]["attempts"])
    hooks_mesh.stop_process("webhooks", signal.SIGKILL)
    hooks_mesh.start_service("webhooks")
    got = receiver.wait_for(4, path="/flaky", timeout=30)
    assert {r.headers["webhook-id"] for r in got} == {event_id}
    assert all(verify_framelane(hook["secret"], r.headers, r.body) and verify_standard(hook["secret"], r.headers, r.body)
               for r in got)
    data = json.loads(got[0].body)["data"]
    assert (data["id"], data["status"], data["progress_percent"]) == ("render_e2e", "completed", 100)

    deliveries = _eventually(lambda: client.get(deliveries_url).json()["data"],
                             lambda ds: ds and ds[0]["status"] == "delivered")
    (delivery,) = deliveries
    assert delivery["event_id"] == event_id and delivery["attempt_count"] == 4
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 500, 204]
    assert [a["retry_at"] is not None for a in delivery["attempts"]] == [True, True, True, False]
    assert delivery["attempts"][0]["response_body"] == "try later"

    resent = client.post(f"/v1/webhooks/{hook['id']}/deliveries/{delivery['id']}/resend", json={})
    assert resent.status_code == 202 and resent.json()["event_id"] == event_id
    assert receiver.wait_for(5, path="/flaky", timeout=10)[4].body == got[0].body
    ping = client.post(f"/v1/webhooks/{hook['id']}/test", json={})
    assert ping.status_code == 202 and ping.json()["event_type"] == "ping"
    assert json.loads(receiver.wait_for(6, path="/flaky", timeout=10)[5].body)["type"] == "ping"


def _eventually(fetch, done, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)
