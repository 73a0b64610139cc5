"""Idempotency-Key on every POST of both faces (API.md C12): a replay answers the original body with
200, a different body 409 idempotency_conflict, a duplicate in flight 409 conflict, and however many
requests race with one key, one resource exists."""

import asyncio
import collections

import httpx

from tests.e2e.conftest import new_workspace_key


def post(client, path: str, body: dict, key: str) -> httpx.Response:
    return client.post(path, json=body, headers={"Idempotency-Key": key})


def test_stored_responses_replay_with_200_and_conflict_on_another_body(mesh, webhook_receiver, media_server):
    receiver_url = webhook_receiver.url
    key = new_workspace_key(mesh, "pro")
    with httpx.Client(base_url=mesh.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
        hook = {"url": receiver_url, "events": ["render.completed"]}
        first = post(http, "/v1/webhooks", hook, "hook-1")
        again = post(http, "/v1/webhooks", hook, "hook-1")
        assert (first.status_code, again.status_code) == (201, 200) and again.json() == first.json()
        other = post(http, "/v1/webhooks", {**hook, "events": ["render.failed"]}, "hook-1")
        assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict"
        assert len(http.get("/v1/webhooks").json()["data"]) == 1

        upload = {"content_type": "video/mp4", "filename": "a.mp4"}
        first, again = post(http, "/v1/uploads", upload, "up-1"), post(http, "/v1/uploads", upload, "up-1")
        assert (first.status_code, again.status_code) == (201, 200) and again.json() == first.json()
        # Keys are scoped per method: the same key on another route is another request.
        assert post(http, "/v1/imports", {"url": f"{media_server}/green.png"}, "up-1").status_code == 202

        beat = {"url": receiver_url}
        first = post(http, "/beatapi/v1/webhooks", beat, "beat-1")
        again = post(http, "/beatapi/v1/webhooks", beat, "beat-1")
        assert (first.status_code, again.status_code) == (201, 200) and again.json() == first.json()
        refused = post(http, "/beatapi/v1/webhooks", {"url": receiver_url + "/other"}, "beat-1")
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "idempotency_conflict"

        # A failed request keeps nothing: the same key with a valid body then goes through.
        assert post(http, "/v1/uploads", {"content_type": "text/plain"}, "up-2").status_code == 422
        assert post(http, "/v1/uploads", upload, "up-2").status_code == 201

        caps = http.get("/v1/capabilities").json()["idempotency"]
        assert caps["routes"]["POST /v1/renders"] == "in the creating transaction"
        assert caps["routes"]["POST /v1/webhooks"] == "stored response replayed"
        assert caps["routes"]["POST /v1/api-keys"] == "not applied"


async def race(base_url: str, api_key: str, path: str, body: dict, n: int) -> list[httpx.Response]:
    headers = {"Authorization": f"Bearer {api_key}", "Idempotency-Key": "race-1"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60,
                                 limits=httpx.Limits(max_connections=n)) as client:
        return await asyncio.gather(*(client.post(path, json=body) for _ in range(n)))


def test_fifty_racing_duplicates_make_one_resource(mesh, media_server, webhook_receiver):
    key = new_workspace_key(mesh, "enterprise")
    spec = {"width": 160, "height": 120, "duration": 1, "elements": [{"type": "text", "text": "once", "duration": 1}]}
    for path, body, created, listing in (
            ("/v1/renders", spec, 202, "/v1/renders"),
            ("/v1/imports", {"url": f"{media_server}/green.png"}, 202, None),
            ("/v1/webhooks", {"url": webhook_receiver.url + "/race"}, 201, "/v1/webhooks")):
        responses = asyncio.run(race(mesh.base_url, key, path, body, 50))
        codes = collections.Counter(r.status_code for r in responses)
        assert codes[created] == 1 and set(codes) <= {created, 200, 409}, (path, codes)
        ids = {r.json()["id"] for r in responses if r.status_code in (created, 200)}
        assert len(ids) == 1, (path, ids)
        assert all(r.json()["error"]["code"] == "conflict" for r in responses if r.status_code == 409)
        if listing:
            with httpx.Client(base_url=mesh.base_url, headers={"Authorization": f"Bearer {key}"}) as http:
                assert len(http.get(listing).json()["data"]) == 1, path
