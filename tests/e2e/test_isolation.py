"""Tenant isolation (issue #9): every route that takes an id answers another workspace's key with
404 not_found in its face's envelope, never 403 and never the object, and changes nothing; signed
links are bound to their object and to the workspace signed into them.

One table drives it (ROUTES), checked against the contract so that a route with an id cannot be
added without a row here."""

import time
from types import SimpleNamespace
from urllib.parse import urlsplit

import httpx
import pytest

from framelane_core.descriptors import load_contract
from tests.e2e.conftest import new_workspace_key
from tests.e2e.test_beatapi import new_account, png
from tests.e2e.test_renders import wait_terminal
from tests.e2e.test_uploads import new_upload, wait_import
from tests.unit.webhooks.verifier import verify_framelane

TEXT_RENDER = {"width": 64, "height": 64, "frame_rate": 10, "duration": 1,
               "elements": [{"type": "text", "text": "x", "duration": 1}]}
# Routes with a variable that is not an object id.
NOT_AN_ID = {("post", "/v1/tasks/{type}")}

# (verb, template, the owner's object for the template's variables, body). Destructive rows last:
# the owner's own pass runs the table in order.
ROUTES = [
    ("get", "/v1/renders/{id}", lambda o: {"id": o.render}, None),
    ("get", "/v1/renders/{id}/download", lambda o: {"id": o.render}, None),
    ("delete", "/v1/renders/{id}", lambda o: {"id": o.render}, None),
    ("get", "/v1/tasks/{id}", lambda o: {"id": o.task}, None),
    ("get", "/v1/tasks/{id}", lambda o: {"id": o.workflow}, None),
    ("get", "/v1/tasks/{id}/spec", lambda o: {"id": o.workflow}, None),
    ("get", "/v1/tasks/{id}/download", lambda o: {"id": o.task}, None),
    ("delete", "/v1/tasks/{id}", lambda o: {"id": o.task}, None),
    ("get", "/beatapi/v1/tasks/{task_id}", lambda o: {"task_id": o.workflow}, None),
    ("get", "/v1/imports/{id}", lambda o: {"id": o.imported}, None),
    ("get", "/v1/webhooks/{webhook_id}", lambda o: {"webhook_id": o.hook["id"]}, None),
    ("patch", "/v1/webhooks/{webhook_id}", lambda o: {"webhook_id": o.hook["id"]}, {"description": "mine now"}),
    ("get", "/v1/webhooks/{webhook_id}/deliveries", lambda o: {"webhook_id": o.hook["id"]}, None),
    ("post", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/resend",
     lambda o: {"webhook_id": o.hook["id"], "delivery_id": o.ping["id"]}, {}),
    ("post", "/v1/webhooks/{webhook_id}/test", lambda o: {"webhook_id": o.hook["id"]}, {}),
    ("get", "/v1/webhooks/{webhook_id}", lambda o: {"webhook_id": o.beat_hook["id"]}, None),
    ("get", "/beatapi/v1/webhooks/{id}", lambda o: {"id": o.beat_hook["id"]}, None),
    ("patch", "/beatapi/v1/webhooks/{id}", lambda o: {"id": o.beat_hook["id"]}, {"description": "mine now"}),
    ("post", "/v1/webhooks/{webhook_id}/rotate-secret", lambda o: {"webhook_id": o.hook["id"]}, {}),
    ("delete", "/v1/renders/{id}", lambda o: {"id": o.live}, None),
    ("delete", "/v1/tasks/{id}", lambda o: {"id": o.workflow}, None),
    ("delete", "/beatapi/v1/webhooks/{id}", lambda o: {"id": o.beat_hook["id"]}, None),
    ("delete", "/v1/webhooks/{webhook_id}", lambda o: {"webhook_id": o.hook["id"]}, None),
    ("delete", "/v1/api-keys/{key_id}", lambda o: {"key_id": o.api_key["id"]}, None),
]


def client(mesh, key: str) -> httpx.Client:
    return httpx.Client(base_url=mesh.base_url, timeout=30, headers={"Authorization": f"Bearer {key}"})


def created(resp: httpx.Response) -> dict:
    assert resp.status_code in (200, 201, 202), resp.text
    return resp.json()


def wait_task(c: httpx.Client, task_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = c.get(f"/v1/tasks/{task_id}", params={"wait": 10}).json()
        if job["status"] in ("completed", "failed", "cancelled"):
            return job
    raise AssertionError(f"task {task_id} did not finish")


def eventually(fetch, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (found := fetch()):
        assert time.monotonic() < deadline, "nothing arrived"
        time.sleep(0.1)
    return found


@pytest.fixture(scope="module")
def owner(mesh, media_server, webhook_receiver):
    """A workspace holding one of every object that has an id, and its client."""
    key = new_account(mesh, "enterprise", credits=1000)
    with client(mesh, key) as a:
        hook = created(a.post("/v1/webhooks", json={"url": f"{webhook_receiver.url}/isolation-a"}))
        ping = created(a.post(f"/v1/webhooks/{hook['id']}/test", json={}))
        beat_hook = created(a.post("/beatapi/v1/webhooks", json={"url": f"{webhook_receiver.url}/isolation-beat"}))
        render = created(a.post("/v1/renders", json=TEXT_RENDER))["id"]
        task = created(a.post("/v1/tasks/super-resolution", json={"source_url": f"{media_server}/green.png",
                                                                   "scale": 1}))["id"]
        # A workflow whose image is missing: a real BeatAPI task that fails at once instead of rendering.
        workflow = created(a.post("/beatapi/v1/ecommerce-video/tasks", json={
            "images": [f"{media_server}/isolation-missing.png"], "duration": 10}))["data"]["id"]
        live = created(a.post("/v1/renders", json={**TEXT_RENDER, "duration": 10}))["id"]
        imported = created(a.post("/v1/imports", json={"url": f"{media_server}/green.png"}))["id"]
        file = created(a.post("/beatapi/v1/files", content=png((10, 20, 30), "box", (64, 48)),
                              headers={"Content-Type": "image/png"}))["data"]
        upload, pending = new_upload(a), new_upload(a)  # pending is never written to
        assert httpx.put(upload["upload_url"], content=b"some bytes").status_code == 201
        assert wait_terminal(a, render, timeout=120)["status"] == "completed"
        assert wait_task(a, task)["status"] == "completed"
        assert wait_import(a, imported, timeout=60)["status"] == "ready"
        yield SimpleNamespace(
            key=key, http=a, workspace=a.get("/v1/workspace").json()["id"], hook=hook, ping=ping,
            beat_hook=beat_hook["data"], api_key=created(a.post("/v1/api-keys", json={"name": "isolation"})),
            render=render, live=live, task=task, workflow=workflow, imported=imported, file=file, upload=upload,
            pending=pending)


@pytest.fixture(scope="module")
def other(mesh, webhook_receiver):
    """A second workspace with an endpoint and a render of its own."""
    with client(mesh, new_workspace_key(mesh, "enterprise")) as b:
        hook = created(b.post("/v1/webhooks", json={"url": f"{webhook_receiver.url}/isolation-b"}))
        render = created(b.post("/v1/renders", json=TEXT_RENDER))["id"]
        yield SimpleNamespace(http=b, hook=hook, render=render)


def call(c: httpx.Client, owner, verb: str, template: str, values, body) -> httpx.Response:
    return c.request(verb.upper(), template.format(**values(owner)), json=body)


def test_the_table_covers_every_route_with_an_id():
    with_id = {(r.verb, r.path) for r in load_contract().routes if "{" in r.path} - NOT_AN_ID
    missing = with_id - {(verb, template) for verb, template, _, _ in ROUTES}
    assert not missing, f"routes with an id and no isolation row: {sorted(missing)}"


def test_another_workspace_gets_404_on_every_route_and_changes_nothing(mesh, owner, other, webhook_receiver):
    b = other.http
    for verb, template, values, body in ROUTES:
        resp = call(b, owner, verb, template, values, body)
        where = f"{verb.upper()} {template}"
        assert resp.status_code == 404, f"{where}: {resp.status_code} {resp.text}"
        assert set(resp.json()) == {"error"} and resp.json()["error"]["code"] == "not_found", where
        assert ("details" in resp.json()["error"]) != template.startswith("/beatapi/"), where  # the face's envelope
        assert owner.key not in resp.text and owner.workspace not in resp.text, where

    # Cross-object: the other's own endpoint with the owner's delivery id.
    resend = b.post(f"/v1/webhooks/{other.hook['id']}/deliveries/{owner.ping['id']}/resend", json={})
    assert resend.status_code == 404 and resend.json()["error"]["code"] == "not_found"

    # Lists show none of the owner's objects.
    owned = {owner.render, owner.live, owner.task, owner.workflow, owner.imported, owner.file["id"],
             owner.upload["id"], owner.hook["id"], owner.beat_hook["id"], owner.api_key["id"], owner.ping["id"]}
    for path in ("/v1/renders", "/v1/tasks", "/v1/workspace/assets", "/v1/webhooks", "/v1/api-keys",
                 f"/v1/webhooks/{other.hook['id']}/deliveries"):
        listed = b.get(path, params={"limit": 100})
        assert listed.status_code == 200 and not owned & {x["id"] for x in listed.json()["data"]}, path
    assert owner.beat_hook["id"] not in {w["id"] for w in b.get("/beatapi/v1/webhooks").json()["data"]["data"]}

    # Nothing moved: endpoints, the workspace secret, the key and the jobs are as they were.
    a = owner.http
    assert a.get(f"/v1/webhooks/{owner.hook['id']}").json()["description"] == owner.hook["description"]
    assert a.get(f"/beatapi/v1/webhooks/{owner.beat_hook['id']}").json()["data"]["description"] != "mine now"
    assert a.get(f"/v1/renders/{owner.live}").json()["status"] != "cancelled"
    assert a.get(f"/v1/tasks/{owner.workflow}").json()["status"] != "cancelled"
    with client(mesh, owner.api_key["key"]) as revoked_if_broken:
        assert revoked_if_broken.get("/v1/workspace").status_code == 200
    ping = created(a.post(f"/v1/webhooks/{owner.hook['id']}/test", json={}))
    _, headers, raw = eventually(lambda: [r for r in webhook_receiver.requests
                                          if r[0] == "/isolation-a" and ping["event_id"].encode() in r[2]])[0]
    assert verify_framelane(owner.hook["secret"], headers, raw), "the workspace secret was rotated"

    # The owner's own pass over the same table: every row names an object that exists.
    for verb, template, values, body in ROUTES:
        resp = call(a, owner, verb, template, values, body)
        assert resp.status_code != 404 and resp.status_code < 500, f"{verb.upper()} {template}: {resp.text}"


def test_signed_links_are_bound_to_their_object_and_workspace(owner, other):
    theirs = owner.http.get(f"/v1/renders/{owner.render}/download")
    assert theirs.status_code == 302
    assert wait_terminal(other.http, other.render, timeout=120)["status"] == "completed"
    mine = other.http.get(f"/v1/renders/{other.render}/download")
    assert mine.status_code == 302 and httpx.get(mine.headers["location"]).status_code == 200
    link, their_path = urlsplit(mine.headers["location"]), urlsplit(theirs.headers["location"]).path
    other_ws = other.http.get("/v1/workspace").json()["id"]
    assert f"ws={other_ws}" in link.query  # the workspace billed for the bytes is signed into the link
    tampered = [
        link._replace(path=their_path),  # the owner's object under the other's signature
        link._replace(query=link.query.replace(f"ws={other_ws}", f"ws={owner.workspace}")),  # billed to the owner
        link._replace(path=f"{link.path}/../../../{their_path.removeprefix('/blobs/')}"),
        link._replace(path=link.path.replace("/output.mp4", "/poster.jpg")),  # a sibling of the signed object
    ]
    for url in tampered:
        resp = httpx.get(url.geturl())
        assert resp.status_code == 403, f"{url.geturl()}: {resp.status_code}"
        assert resp.json()["error"] == {"code": "forbidden", "message": "The link is invalid or has expired.",
                                        "details": None, "request_id": resp.headers["x-request-id"]}

    # Uploads: the other's PUT signature on the owner's pending key writes nothing.
    own = urlsplit(other.http.post("/v1/uploads", json={"content_type": "video/mp4"}).json()["upload_url"])
    resp = httpx.put(own._replace(path=urlsplit(owner.pending["upload_url"]).path).geturl(), content=b"planted")
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "forbidden"
    assert httpx.get(owner.pending["source_url"]).status_code == 404
    # The owner's own links still work: nothing above disturbed them.
    assert httpx.get(owner.upload["source_url"]).content == b"some bytes"
    assert httpx.get(owner.file["url"]).status_code == 200
