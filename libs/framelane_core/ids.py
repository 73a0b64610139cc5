"""Prefixed, time-ordered identifiers: `render_01J8QR2K5VKDGN2T4FBM3CZYX7` (ULID bodies)."""

import os
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(now: float | None = None) -> str:
    """A 26-character ULID: 48 bits of milliseconds then 80 random bits, Crockford base32."""
    ms = int((time.time() if now is None else now) * 1000)
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def new_id(prefix: str) -> str:
    """A new id such as `ws_01J8...`; the prefix tells the kind of object."""
    return f"{prefix}_{ulid()}"
