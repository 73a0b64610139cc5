"""Secrets and the signed headers of a delivery.

Native deliveries carry `Framelane-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "{t}.{body}")>`,
BeatAPI ones `x-beatapi-event`, `x-beatapi-timestamp` and `x-beatapi-signature` (hex HMAC-SHA256 of
"{timestamp}.{body}"); both key their HMAC with the whole `whsec_...` string. Both also carry the
Standard Webhooks headers, whose HMAC key is the base64-decoded part of the secret after `whsec_`."""

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """`whsec_` and 32 random bytes in base64 (the Standard Webhooks secret format)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def mask(secret: str) -> str:
    """The secret as a list shows it: prefix and last four characters."""
    return f"{SECRET_PREFIX}****{secret[-4:]}"


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def framelane_signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = _hmac(secret.encode(), f"{timestamp}.".encode() + body)
    return f"t={timestamp},v1={mac.hex()}"


def beatapi_signature(secret: str, timestamp: int, body: bytes) -> str:
    return _hmac(secret.encode(), f"{timestamp}.".encode() + body).hex()


def standard_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    mac = _hmac(key, f"{message_id}.{timestamp}.".encode() + body)
    return "v1," + base64.b64encode(mac).decode()


def signed_headers(face: str, secret: str, event_id: str, event_type: str, body: bytes, timestamp: int) -> dict:
    """Every header of one attempt; the timestamp is the attempt's, the id the event's."""
    headers = {
        "content-type": "application/json",
        "user-agent": "Framelane-Webhooks/1",
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_signature(secret, event_id, timestamp, body),
    }
    if face == "beatapi":
        headers["x-beatapi-event"] = event_type
        headers["x-beatapi-timestamp"] = str(timestamp)
        headers["x-beatapi-signature"] = beatapi_signature(secret, timestamp, body)
    else:
        headers["framelane-signature"] = framelane_signature(secret, timestamp, body)
    return headers
