"""Idempotency-Key handling in the transaction that creates the job, so a replay can never create
a second one: same key and body → the original resource (200); different body → 409
idempotency_conflict; the same key while the first request is still in flight → 409 conflict."""

import hashlib
import json

from psycopg import AsyncConnection

from framelane_core.errors import Conflict, InvalidRequest, violation

TTL = "24 hours"


def request_hash(body) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def idempotency_key(context) -> str | None:
    """The Idempotency-Key header (gRPC metadata `idempotency-key`), validated."""
    for k, v in context.invocation_metadata() or ():
        if k == "idempotency-key":
            if not 1 <= len(v) <= 255:
                raise InvalidRequest("Idempotency-Key must be 1 to 255 characters.",
                                     details=[violation("$.headers.Idempotency-Key", "length", "1 to 255 characters.")])
            return v
    return None


async def replay(conn: AsyncConnection, workspace_id: str, method: str, key: str, body_hash: str) -> str | None:
    """Inside the creating transaction: the id created earlier under this key, or None to go ahead.

    Takes a transaction-scoped advisory lock on the key, so a concurrent duplicate finds it held."""
    cur = await conn.execute("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))",
                             (f"{workspace_id}\n{method}\n{key}",))
    if not (await cur.fetchone())["pg_try_advisory_xact_lock"]:
        raise Conflict("A request with this Idempotency-Key is still in progress.")
    cur = await conn.execute(
        "SELECT request_hash, resource_id FROM idempotency_keys WHERE workspace_id = %s AND method = %s AND key = %s"
        f" AND created_at > now() - interval '{TTL}'",
        (workspace_id, method, key),
    )
    row = await cur.fetchone()
    if row is None:
        await conn.execute("DELETE FROM idempotency_keys WHERE workspace_id = %s AND method = %s AND key = %s",
                           (workspace_id, method, key))
        return None
    if row["request_hash"] != body_hash:
        raise Conflict("This Idempotency-Key was used with a different request body.", code="idempotency_conflict")
    return row["resource_id"]


async def remember(conn: AsyncConnection, workspace_id: str, method: str, key: str, body_hash: str, resource_id: str) -> None:
    await conn.execute(
        "INSERT INTO idempotency_keys (workspace_id, method, key, request_hash, resource_id) VALUES (%s, %s, %s, %s, %s)",
        (workspace_id, method, key, body_hash, resource_id),
    )
