"""The REST face through Envoy, as a client sees it."""

import time

import httpx
import pytest
from openapi_spec_validator import validate

from framelane_core.descriptors import load_contract
from tests.e2e.conftest import new_workspace_key


def _error(resp, status, code):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["request_id"] == resp.headers["x-request-id"] != ""
    assert {"code", "message", "details", "request_id"} <= set(body["error"])
    return body["error"]


def test_capabilities_need_no_key_and_merge_every_service(http):
    resp = http.get("/v1/capabilities")
    assert resp.status_code == 200
    caps = resp.json()
    assert {"renders", "tasks", "webhooks", "auth", "quota"} <= set(caps)
    assert caps["auth"]["key_prefix"] == "fl_live_"
    supported = {t["type"] for t in caps["tasks"] if t["supported"]}
    assert {"transcribe", "super-resolution", "remove-background", "gaze-redirect"} <= supported


def test_system_routes(http):
    assert http.get("/healthz").json() == {"status": "ok", "backends": {}}
    ready = http.get("/readyz")
    assert ready.status_code == 200
    assert set(ready.json()["backends"].values()) == {"serving"}
    version = http.get("/version").json()
    assert version["api"] == "v1" and version["version"]


def test_openapi_is_valid_and_lists_every_route_the_gateway_serves(http):
    resp = http.get("/openapi.json")
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/json"
    doc = resp.json()
    validate(doc)
    for route in load_contract().routes:
        assert route.verb in doc["paths"][route.path]


def test_workspace_usage_with_and_without_a_key(http, mesh):
    # A workspace of its own: the suite's shared one has run tasks by now (modules run in name order).
    authed = httpx.Client(base_url=mesh.base_url, timeout=30,
                          headers={"Authorization": f"Bearer {new_workspace_key(mesh, 'enterprise')}"})
    usage = authed.get("/v1/workspace/usage")
    assert usage.status_code == 200
    body = usage.json()
    assert {"period_start", "period_end", "render_minutes", "task_count", "egress_bytes"} <= set(body)
    assert body["plan"] == "enterprise" and body["render_minutes_limit"] is None
    assert body["period_start"].endswith("-01T00:00:00Z")
    assert body["task_count"] == 0 and body["egress_bytes"] == 0
    assert authed.get("/v1/workspace/usage", params={"period": "7d"}).status_code == 200
    _error(authed.get("/v1/workspace/usage", params={"period": "1y"}), 422, "invalid_request")
    err = _error(http.get("/v1/workspace/usage"), 401, "unauthorized")
    assert err["message"] == "Missing Authorization header."
    _error(http.get("/v1/workspace/usage", headers={"Authorization": "Bearer fl_live_wrong"}), 401, "unauthorized")


def test_api_key_lifecycle_and_revocation_within_a_second(http, authed):
    created = authed.post("/v1/api-keys", json={"name": "ci"})
    assert created.status_code == 201
    key = created.json()
    assert set(key) == {"id", "name", "key_prefix", "created_at", "last_used_at", "revoked_at", "key"}
    assert key["last_used_at"] is None and key["revoked_at"] is None
    new_key = {"Authorization": f"Bearer {key['key']}"}
    assert http.get("/v1/workspace", headers=new_key).status_code == 200

    listed = authed.get("/v1/api-keys", params={"limit": 100}).json()
    assert set(listed) == {"data", "next_cursor", "has_more"}
    assert key["id"] in [k["id"] for k in listed["data"]]
    assert all("key" not in k for k in listed["data"])

    revoked = authed.delete(f"/v1/api-keys/{key['id']}")
    assert revoked.status_code == 204 and revoked.content == b""
    time.sleep(1.0)
    _error(http.get("/v1/workspace", headers=new_key), 401, "unauthorized")
    _error(authed.delete("/v1/api-keys/key_00000000000000000000000000"), 404, "not_found")


def test_workspace_rename_and_validation(authed):
    ws = authed.patch("/v1/workspace", json={"name": "Renamed"})
    assert ws.status_code == 200 and ws.json()["name"] == "Renamed"
    assert set(ws.json()) == {"id", "name", "plan", "created_at"}
    err = _error(authed.patch("/v1/workspace", json={"name": "x"}), 422, "invalid_request")
    assert err["details"] == [{"path": "$.name", "code": "length", "message": "Must be 2 to 100 characters."}]


@pytest.mark.parametrize("method,path,status,code", [
    ("GET", "/v1/nothing-here", 404, "not_found"),
    ("GET", "/", 404, "not_found"),
    ("PUT", "/v1/workspace", 405, "method_not_allowed"),
    ("POST", "/v1/api-keys/key_1", 405, "method_not_allowed"),
    ("GET", "/framelane.usage.v1.AccountService/Authenticate", 404, "not_found"),
])
def test_unknown_routes_and_wrong_methods(authed, method, path, status, code):
    _error(authed.request(method, path), status, code)


def test_malformed_json_is_400_in_the_envelope(authed):
    err = _error(authed.post("/v1/api-keys", content=b'{"name": ', headers={"content-type": "application/json"}),
                 400, "invalid_request")
    assert err["details"] is None


def test_every_response_has_a_request_id(http, authed):
    for resp in (http.get("/v1/capabilities"), authed.get("/v1/workspace"), http.get("/v1/workspace"),
                 http.get("/nope"), authed.put("/v1/workspace")):
        assert resp.headers.get("x-request-id")


def test_headers_grpc_cannot_carry_are_dropped_not_fatal(authed):
    # Legal in HTTP/1.1, illegal as gRPC metadata: the request must still be served.
    resp = authed.get("/v1/workspace", headers={"h$bH9-lOi": '"c', "x-odd": "tab\there", "W": "__main__"})
    assert resp.status_code == 200
