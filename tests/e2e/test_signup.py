"""Signup, verification, limits and billing through Envoy, with a real SMTP server on loopback.

This module runs its own mesh, configured to mail through the test's SMTP server."""

import time

import httpx
import pytest

from tests.e2e.conftest import start_mesh, stop_mesh
from tests.integration.usage.mailbox import Mailbox

TINY = {"width": 16, "height": 16, "frame_rate": 1, "output_format": "mp4"}


@pytest.fixture(scope="module")
def mailbox():
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture(scope="module")
def smtp_mesh(pg_base, tmp_path_factory, mailbox):
    mesh, nats, name = start_mesh(pg_base, tmp_path_factory.mktemp("smtp-mesh"), {
        "FRAMELANE_SMTP_HOST": "127.0.0.1", "FRAMELANE_SMTP_PORT": str(mailbox.port),
        "FRAMELANE_CONSOLE_URL": "https://console.example.test"})
    yield mesh
    stop_mesh(pg_base, mesh, nats, name)


@pytest.fixture(scope="module")
def verified_key(smtp_mesh, mailbox) -> str:
    """A free workspace made through signup, verified with the mailed code."""
    with httpx.Client(base_url=smtp_mesh.base_url, timeout=30) as http:
        made = http.post("/v1/signup", json={"workspace_name": "Limits", "email": "limits@example.com"})
        assert made.status_code == 201, made.text
        code = mailbox.code_for("limits@example.com")
        assert http.post("/v1/signup/verify", json={"email": "limits@example.com", "otp_code": code}).status_code == 200
        key = made.json()["api_key"]["key"]
        _wait_active(http, key)
        return key


def _wait_active(http, key: str) -> httpx.Response:
    deadline = time.monotonic() + 5
    while True:
        got = http.get("/v1/workspace", headers={"Authorization": f"Bearer {key}"})
        if got.status_code == 200 or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def test_signup_mail_verify_then_the_key_works(smtp_mesh, mailbox):
    with httpx.Client(base_url=smtp_mesh.base_url, timeout=30) as http:
        made = http.post("/v1/signup", json={"workspace_name": "Acme Films", "email": "ada@example.com"})
        assert made.status_code == 201, made.text
        body = made.json()
        assert body["email_verification"] == "pending" and body["workspace"]["name"] == "Acme Films"
        key = body["api_key"]["key"]
        inert = http.get("/v1/workspace", headers={"Authorization": f"Bearer {key}"})
        assert inert.status_code == 403 and inert.json()["error"]["code"] == "email_not_verified"
        elsewhere = http.get("/v1/renders", headers={"Authorization": f"Bearer {key}"})  # another service
        assert elsewhere.status_code == 403 and elsewhere.json()["error"]["code"] == "email_not_verified"

        code = mailbox.code_for("ada@example.com")
        wrong = http.post("/v1/signup/verify", json={"email": "ada@example.com",
                                                     "otp_code": "000000" if code != "000000" else "111111"})
        assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "invalid_otp"
        ok = http.post("/v1/signup/verify", json={"email": "ada@example.com", "otp_code": code})
        assert ok.status_code == 200 and ok.json()["email_verification"] == "verified", ok.text
        got = _wait_active(http, key)
        assert got.status_code == 200 and got.json()["plan"] == "free"


def test_five_wrong_codes_lock_verification(smtp_mesh, mailbox):
    with httpx.Client(base_url=smtp_mesh.base_url, timeout=30) as http:
        assert http.post("/v1/signup", json={"workspace_name": "Eve", "email": "eve@example.com"}).status_code == 201
        code = mailbox.code_for("eve@example.com")
        wrong = "000000" if code != "000000" else "111111"
        statuses = [http.post("/v1/signup/verify", json={"email": "eve@example.com", "otp_code": wrong}).status_code
                    for _ in range(5)]
        assert statuses == [400] * 5
        locked = http.post("/v1/signup/verify", json={"email": "eve@example.com", "otp_code": code})
        assert locked.status_code == 429 and locked.json()["error"]["code"] == "rate_limited"
        assert 890 <= int(locked.headers["retry-after"]) <= 900


def test_concurrency_then_rate_limit_answer_429_with_retry_after(smtp_mesh, verified_key):
    headers = {"Authorization": f"Bearer {verified_key}"}
    with httpx.Client(base_url=smtp_mesh.base_url, headers=headers, timeout=30) as http:
        spec = {**TINY, "elements": [{"type": "text", "text": "c", "duration": 60}]}
        first = http.post("/v1/renders", json=spec)
        assert first.status_code == 202, first.text
        second = http.post("/v1/renders", json=spec)
        assert second.status_code == 429, second.text
        assert second.json()["error"]["code"] == "concurrency_exceeded" and second.headers["retry-after"] == "10"
        assert http.get("/v1/workspace/usage").json()["concurrency_limit"] == 1
        http.delete(f"/v1/renders/{first.json()['id']}")

        # The free plan's "create" class allows 20 per minute per key (invalid bodies count too),
        # and every answer says how much is left (X-RateLimit-*), the refusal too.
        statuses, remaining = [], []
        for _ in range(45):
            r = http.post("/v1/renders", json={"width": -1})
            statuses.append(r.status_code)
            if r.status_code == 429:
                break
            assert r.headers["x-ratelimit-limit"] == "20" and 1 <= int(r.headers["x-ratelimit-reset"]) <= 60
            remaining.append(int(r.headers["x-ratelimit-remaining"]))
        assert statuses[-1] == 429 and len(statuses) >= 19, statuses
        assert remaining == sorted(remaining, reverse=True) and remaining[-1] == 0, remaining
        assert r.json()["error"]["code"] == "rate_limited" and 1 <= int(r.headers["retry-after"]) <= 60
        assert (r.headers["x-ratelimit-limit"], r.headers["x-ratelimit-remaining"]) == ("20", "0")
        assert r.headers["x-ratelimit-reset"] == r.headers["retry-after"]
        ok = http.get("/v1/workspace")  # another route class has its own window
        assert ok.status_code == 200 and int(ok.headers["x-ratelimit-remaining"]) < int(ok.headers["x-ratelimit-limit"])


def test_billing_portal_invoice_preview_and_capabilities(smtp_mesh, verified_key):
    headers = {"Authorization": f"Bearer {verified_key}"}
    with httpx.Client(base_url=smtp_mesh.base_url, headers=headers, timeout=30) as http:
        portal = http.post("/v1/billing/portal", json={})
        assert portal.status_code == 200 and portal.json() == {"url": "https://console.example.test/billing"}
        inv = http.get("/v1/billing/invoice/preview").json()
        assert inv["plan"] == "free" and inv["total_usd"] == 0
        balance = http.get("/v1/workspace/credits").json()
        assert balance["balance"] == 0 and balance["credits_reserved"] == 0
        quota = http.get("/v1/capabilities").json()
        text = str(quota)
        assert "concurrency_exceeded" in text and "rate_limited" in text and "email_not_verified" in text
