"""A receiver's signature checks, written from API.md and the Standard Webhooks spec alone (it
imports nothing from the service), so a test proves what a customer's verifier would accept."""

import base64
import hashlib
import hmac
import time

TOLERANCE_SECONDS = 300


def _fresh(timestamp: str, now: float | None) -> bool:
    return timestamp.isdigit() and abs((now or time.time()) - int(timestamp)) <= TOLERANCE_SECONDS


def verify_framelane(secret: str, headers: dict, body: bytes, now: float | None = None) -> bool:
    """`Framelane-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "{t}.{raw_body}")>`."""
    fields = dict(part.split("=", 1) for part in headers.get("framelane-signature", "").split(",") if "=" in part)
    t, v1 = fields.get("t", ""), fields.get("v1", "")
    if not _fresh(t, now):
        return False
    expected = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, v1)


def verify_beatapi(secret: str, headers: dict, body: bytes, now: float | None = None) -> bool:
    """`x-beatapi-signature`: hex HMAC-SHA256(secret, timestamp + "." + raw_body), no prefix."""
    t = headers.get("x-beatapi-timestamp", "")
    if not _fresh(t, now):
        return False
    expected = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers.get("x-beatapi-signature", ""))


def verify_standard(secret: str, headers: dict, body: bytes, now: float | None = None) -> bool:
    """Standard Webhooks: `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{ts}.{body}")>`, the
    key being the base64 after `whsec_`; several space-separated signatures may be sent."""
    msg_id, t = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    if not msg_id or not _fresh(t, now):
        return False
    key = base64.b64decode(secret.split("_", 1)[1])
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{t}.".encode() + body, hashlib.sha256).digest()).decode()
    for signature in headers.get("webhook-signature", "").split(" "):
        version, _, value = signature.partition(",")
        if version == "v1" and hmac.compare_digest(expected, value):
            return True
    return False
