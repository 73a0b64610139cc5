"""Cursor pagination shared by every list: newest first, opaque cursors, limit 1–100 (default 20)."""

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from framelane_core.errors import InvalidRequest, violation

DEFAULT_LIMIT, MAX_LIMIT = 20, 100


@dataclass(frozen=True)
class Cursor:
    """Position after the last row of a page: (created_at, id) of that row."""

    created_at: datetime
    id: str

    def encode(self) -> str:
        raw = f"{self.created_at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> Cursor | None:
    """The Cursor of an opaque string, None for an empty one; invalid_request when malformed."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, row_id = raw.partition("|")
        return Cursor(datetime.fromisoformat(at), row_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidRequest("Invalid cursor.", details=[violation("$.cursor", "invalid", "Not a cursor from a previous page.")]) from None


def page_limit(limit: int) -> int:
    """The page size asked for, defaulted and range-checked."""
    if limit == 0:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest(
            f"limit must be between 1 and {MAX_LIMIT}.",
            details=[violation("$.limit", "out_of_range", f"Must be between 1 and {MAX_LIMIT}.")],
        )
    return limit


def page(rows: list[dict], limit: int) -> tuple[list[dict], str | None]:
    """Splits the limit+1 rows a query returned into the page and the next cursor (or None)."""
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], Cursor(last["created_at"], last["id"]).encode()
