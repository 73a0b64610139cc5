"""The service's signatures, checked by the independent verifier written from API.md."""

import time

from framelane_webhooks.signing import mask, new_secret, signed_headers
from tests.unit.webhooks.verifier import verify_beatapi, verify_framelane, verify_standard

BODY = b'{"id":"evt_1","type":"render.completed","created_at":"2026-01-01T00:00:00.000Z","data":{}}'


def test_native_deliveries_verify_with_both_schemes_and_nothing_else():
    secret, now = new_secret(), int(time.time())
    headers = signed_headers("native", secret, "evt_1", "render.completed", BODY, now)
    assert headers["framelane-signature"].startswith(f"t={now},v1=")
    assert (headers["webhook-id"], headers["webhook-timestamp"]) == ("evt_1", str(now))
    assert verify_framelane(secret, headers, BODY) and verify_standard(secret, headers, BODY)
    assert not verify_framelane(secret, headers, BODY[:-1] + b" ")
    assert not verify_standard(secret, {**headers, "webhook-id": "evt_2"}, BODY)
    assert not verify_framelane(new_secret(), headers, BODY)
    assert "x-beatapi-signature" not in headers


def test_beatapi_deliveries_carry_their_headers():
    secret, now = new_secret(), int(time.time())
    headers = signed_headers("beatapi", secret, "evt_1", "task.succeeded", BODY, now)
    assert headers["x-beatapi-event"] == "task.succeeded" and headers["x-beatapi-timestamp"] == str(now)
    assert verify_beatapi(secret, headers, BODY) and verify_standard(secret, headers, BODY)
    assert "framelane-signature" not in headers


def test_stale_timestamps_are_rejected_by_a_receiver():
    secret = new_secret()
    old = int(time.time()) - 3600
    headers = signed_headers("native", secret, "evt_1", "render.completed", BODY, old)
    assert not verify_framelane(secret, headers, BODY)
    assert verify_framelane(secret, headers, BODY, now=old + 10)


def test_secrets_are_standard_webhooks_secrets_and_mask_to_their_tail():
    secret = new_secret()
    assert secret.startswith("whsec_") and len(secret) == 6 + 44 and secret != new_secret()
    assert mask(secret) == "whsec_****" + secret[-4:]
