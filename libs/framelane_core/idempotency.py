"""Idempotency-Key on every POST, scoped to (workspace, method, key) and kept 24 h: same key and body
→ the original answer (200); different body → 409 idempotency_conflict; the same key while the first
request is still in flight → 409 conflict.

Job creations do it in the transaction that creates the job (`replay`/`remember`), so a replay can
never create a second one. Every other POST goes through `ResponseStore`, which the gRPC
interceptor applies: the first request claims the key (a row without a response), runs, and stores
its response; a failed request gives the key back. A claim left by a process that died mid-request
is taken over after STALE_SECONDS."""

import hashlib
import json

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from framelane_core.errors import Conflict, InvalidRequest, violation

TTL = "24 hours"
STALE_SECONDS = 120


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


class ResponseStore:
    """Stored responses of POSTs that do not create their resource in one transaction with the key."""

    def __init__(self, pool: AsyncConnectionPool):
        self.pool = pool

    async def begin(self, workspace_id: str, method: str, key: str, body_hash: str) -> bytes | None:
        """Claims the key (None: go ahead and `finish`), or the stored response to replay;
        Conflict while another request holds the key or when the body differs."""
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(
                "DELETE FROM idempotent_responses WHERE workspace_id = %s AND method = %s AND key = %s"
                f" AND (created_at < now() - interval '{TTL}'"
                " OR (response IS NULL AND created_at < now() - make_interval(secs => %s)))",
                (workspace_id, method, key, STALE_SECONDS))
            cur = await conn.execute(
                "INSERT INTO idempotent_responses (workspace_id, method, key, request_hash) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT DO NOTHING", (workspace_id, method, key, body_hash))
            if cur.rowcount == 1:
                return None
            cur = await conn.execute(
                "SELECT request_hash, response FROM idempotent_responses WHERE workspace_id = %s AND method = %s"
                " AND key = %s", (workspace_id, method, key))
            row = await cur.fetchone()
        if row is None:  # released between the two statements: the client may retry at once
            raise Conflict("A request with this Idempotency-Key is still in progress.")
        if row["request_hash"] != body_hash:
            raise Conflict("This Idempotency-Key was used with a different request body.", code="idempotency_conflict")
        if row["response"] is None:
            raise Conflict("A request with this Idempotency-Key is still in progress.")
        return bytes(row["response"])

    async def finish(self, workspace_id: str, method: str, key: str, response: bytes) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE idempotent_responses SET response = %s WHERE workspace_id = %s AND method = %s AND key = %s",
                (response, workspace_id, method, key))

    async def release(self, workspace_id: str, method: str, key: str) -> None:
        """The request failed: nothing to replay, the key is free again."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "DELETE FROM idempotent_responses WHERE workspace_id = %s AND method = %s AND key = %s"
                " AND response IS NULL", (workspace_id, method, key))
