"""SQL of the usage schema."""

from datetime import datetime

from psycopg import AsyncConnection

from framelane_core import metrics
from framelane_core.pagination import Cursor


async def insert_workspace(conn: AsyncConnection, ws_id: str, name: str, plan: str) -> dict:
    cur = await conn.execute(
        "INSERT INTO workspaces (id, name, plan) VALUES (%s, %s, %s) RETURNING *", (ws_id, name, plan)
    )
    return await cur.fetchone()


async def get_workspace(conn: AsyncConnection, ws_id: str) -> dict | None:
    cur = await conn.execute("SELECT * FROM workspaces WHERE id = %s AND deleted_at IS NULL", (ws_id,))
    return await cur.fetchone()


async def rename_workspace(conn: AsyncConnection, ws_id: str, name: str) -> dict | None:
    cur = await conn.execute(
        "UPDATE workspaces SET name = %s WHERE id = %s AND deleted_at IS NULL RETURNING *", (name, ws_id)
    )
    return await cur.fetchone()


async def delete_workspace(conn: AsyncConnection, ws_id: str) -> bool:
    cur = await conn.execute(
        "UPDATE workspaces SET deleted_at = now() WHERE id = %s AND deleted_at IS NULL", (ws_id,)
    )
    await conn.execute(
        "UPDATE api_keys SET revoked_at = now() WHERE workspace_id = %s AND revoked_at IS NULL", (ws_id,)
    )
    return cur.rowcount == 1


async def insert_key(conn: AsyncConnection, key_id: str, ws_id: str, name: str, prefix: str, key_hash: bytes) -> dict:
    cur = await conn.execute(
        "INSERT INTO api_keys (id, workspace_id, name, key_prefix, key_hash) VALUES (%s, %s, %s, %s, %s)"
        " RETURNING *",
        (key_id, ws_id, name, prefix, key_hash),
    )
    return await cur.fetchone()


async def list_keys(conn: AsyncConnection, ws_id: str, limit: int, after: Cursor | None) -> list[dict]:
    """Newest first, one more than `limit` so the caller knows whether there is a next page."""
    if after is None:
        cur = await conn.execute(
            "SELECT * FROM api_keys WHERE workspace_id = %s ORDER BY created_at DESC, id DESC LIMIT %s",
            (ws_id, limit + 1),
        )
    else:
        cur = await conn.execute(
            "SELECT * FROM api_keys WHERE workspace_id = %s AND (created_at, id) < (%s, %s)"
            " ORDER BY created_at DESC, id DESC LIMIT %s",
            (ws_id, after.created_at, after.id, limit + 1),
        )
    return await cur.fetchall()


async def revoke_key(conn: AsyncConnection, ws_id: str, key_id: str) -> dict | None:
    cur = await conn.execute(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = %s AND workspace_id = %s"
        " RETURNING *",
        (key_id, ws_id),
    )
    return await cur.fetchone()


async def principal_by_hash(conn: AsyncConnection, key_hash: bytes) -> dict | None:
    cur = await conn.execute(
        "SELECT k.id AS key_id, k.workspace_id, w.plan, w.email_verified_at IS NOT NULL AS verified"
        " FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id"
        " WHERE k.key_hash = %s AND k.revoked_at IS NULL AND w.deleted_at IS NULL",
        (key_hash,),
    )
    return await cur.fetchone()


async def touch_keys(conn: AsyncConnection, last_used: dict[str, datetime]) -> None:
    """Stores batched last_used_at stamps (never moves one backwards)."""
    await conn.execute(
        "UPDATE api_keys k SET last_used_at = greatest(k.last_used_at, v.at)"
        " FROM unnest(%s::text[], %s::timestamptz[]) AS v(id, at) WHERE k.id = v.id",
        (list(last_used), list(last_used.values())),
    )


async def lock_workspace(conn: AsyncConnection, ws_id: str) -> dict | None:
    """The workspace row, locked until the transaction ends (serializes admissions per workspace)."""
    cur = await conn.execute("SELECT * FROM workspaces WHERE id = %s AND deleted_at IS NULL FOR UPDATE", (ws_id,))
    return await cur.fetchone()


async def meter_totals(conn: AsyncConnection, ws_id: str, start: datetime, end: datetime) -> dict[str, float]:
    cur = await conn.execute(
        "SELECT meter, sum(quantity) AS total FROM meter_readings WHERE workspace_id = %s"
        " AND occurred_at >= %s AND occurred_at < %s GROUP BY meter",
        (ws_id, start, end),
    )
    return {row["meter"]: row["total"] for row in await cur.fetchall()}


async def reserved_minutes(conn: AsyncConnection, ws_id: str) -> float:
    cur = await conn.execute(
        "SELECT coalesce(sum(minutes), 0) AS total FROM render_reservations WHERE workspace_id = %s"
        " AND created_at > now() - interval '1 hour'",
        (ws_id,),
    )
    return (await cur.fetchone())["total"]


async def reserve(conn: AsyncConnection, job_id: str, ws_id: str, minutes: float) -> None:
    await conn.execute(
        "INSERT INTO render_reservations (job_id, workspace_id, minutes) VALUES (%s, %s, %s)"
        " ON CONFLICT (job_id) DO NOTHING",
        (job_id, ws_id, minutes),
    )


async def release(conn: AsyncConnection, job_id: str) -> None:
    await conn.execute("DELETE FROM render_reservations WHERE job_id = %s", (job_id,))


async def record_meter(conn: AsyncConnection, event_id: str, meter: str, ws_id: str, quantity: float,
                       job_id: str | None, occurred_at: datetime) -> None:
    cur = await conn.execute(
        "INSERT INTO meter_readings (event_id, meter, workspace_id, quantity, job_id, occurred_at)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (event_id, meter, ws_id, quantity, job_id, occurred_at),
    )
    if cur.rowcount:
        metrics.METERED.labels(meter).inc(quantity)


# Signup and email verification.

async def insert_unverified_workspace(conn: AsyncConnection, ws_id: str, name: str, email: str) -> dict:
    cur = await conn.execute(
        "INSERT INTO workspaces (id, name, plan, email, email_verified_at) VALUES (%s, %s, 'free', %s, NULL)"
        " RETURNING *",
        (ws_id, name, email),
    )
    return await cur.fetchone()


async def lock_verification(conn: AsyncConnection, email: str) -> dict | None:
    cur = await conn.execute("SELECT * FROM email_verifications WHERE email = %s FOR UPDATE", (email,))
    return await cur.fetchone()


async def upsert_verification(conn: AsyncConnection, email: str, ws_id: str, salt: bytes, code_hash: bytes,
                              ttl_seconds: float) -> None:
    """A new code for the email; the wrong-code count and lock of an earlier signup are kept."""
    await conn.execute(
        "INSERT INTO email_verifications (email, workspace_id, code_salt, code_hash, expires_at)"
        " VALUES (%s, %s, %s, %s, now() + make_interval(secs => %s))"
        " ON CONFLICT (email) DO UPDATE SET workspace_id = EXCLUDED.workspace_id, code_salt = EXCLUDED.code_salt,"
        " code_hash = EXCLUDED.code_hash, expires_at = EXCLUDED.expires_at, sent_at = now(), verified_at = NULL",
        (email, ws_id, salt, code_hash, ttl_seconds),
    )


async def record_wrong_code(conn: AsyncConnection, email: str, max_attempts: int, lock_seconds: float) -> dict:
    cur = await conn.execute(
        "UPDATE email_verifications SET"
        " failed_attempts = CASE WHEN failed_attempts + 1 >= %(max)s THEN 0 ELSE failed_attempts + 1 END,"
        " locked_until = CASE WHEN failed_attempts + 1 >= %(max)s"
        "   THEN now() + make_interval(secs => %(lock)s) ELSE locked_until END"
        " WHERE email = %(email)s RETURNING *",
        {"max": max_attempts, "lock": lock_seconds, "email": email},
    )
    return await cur.fetchone()


async def mark_verified(conn: AsyncConnection, email: str, ws_id: str) -> dict | None:
    await conn.execute(
        "UPDATE email_verifications SET verified_at = now(), failed_attempts = 0, locked_until = NULL"
        " WHERE email = %s", (email,),
    )
    cur = await conn.execute(
        "UPDATE workspaces SET email_verified_at = coalesce(email_verified_at, now())"
        " WHERE id = %s AND deleted_at IS NULL RETURNING *", (ws_id,),
    )
    return await cur.fetchone()


async def email_taken(conn: AsyncConnection, email: str) -> bool:
    """True when a live, verified workspace already uses the email."""
    cur = await conn.execute(
        "SELECT 1 FROM workspaces WHERE email = %s AND email_verified_at IS NOT NULL AND deleted_at IS NULL LIMIT 1",
        (email,),
    )
    return await cur.fetchone() is not None


# Concurrency slots.

async def expire_slots(conn: AsyncConnection, ws_id: str) -> None:
    """Reclaims slots whose lease ran out (unconfirmed admissions are the sweeper's: it refunds them)."""
    await conn.execute("DELETE FROM active_jobs WHERE workspace_id = %s AND lease_expires_at <= now() AND confirmed",
                       (ws_id,))


async def active_job_ids(conn: AsyncConnection, ws_id: str) -> list[str]:
    cur = await conn.execute(
        "SELECT job_id FROM active_jobs WHERE workspace_id = %s AND lease_expires_at > now()", (ws_id,)
    )
    return [r["job_id"] for r in await cur.fetchall()]


async def take_slot(conn: AsyncConnection, job_id: str, ws_id: str, kind: str, lease_seconds: float) -> None:
    await conn.execute(
        "INSERT INTO active_jobs (job_id, workspace_id, kind, lease_expires_at)"
        " VALUES (%s, %s, %s, now() + make_interval(secs => %s)) ON CONFLICT (job_id) DO NOTHING",
        (job_id, ws_id, kind, lease_seconds),
    )


async def renew_slot(conn: AsyncConnection, job_id: str, lease_seconds: float) -> None:
    """Extends the job's lease; an event of the job also confirms its admission."""
    await conn.execute(
        "UPDATE active_jobs SET lease_expires_at = greatest(lease_expires_at, now() + make_interval(secs => %s)),"
        " confirmed = true WHERE job_id = %s",
        (lease_seconds, job_id),
    )


async def unconfirmed_slots(conn: AsyncConnection, older_than_seconds: float) -> list[str]:
    """Jobs admitted more than `older_than_seconds` ago of which no event has come yet."""
    cur = await conn.execute(
        "SELECT job_id FROM active_jobs WHERE NOT confirmed AND created_at <= now() - make_interval(secs => %s)",
        (older_than_seconds,),
    )
    return [r["job_id"] for r in await cur.fetchall()]


async def lock_unconfirmed_slot(conn: AsyncConnection, job_id: str) -> dict | None:
    cur = await conn.execute("SELECT * FROM active_jobs WHERE job_id = %s AND NOT confirmed FOR UPDATE", (job_id,))
    return await cur.fetchone()


async def release_slot(conn: AsyncConnection, job_id: str) -> None:
    await conn.execute("DELETE FROM active_jobs WHERE job_id = %s", (job_id,))


# Rate windows.

async def add_to_window(conn: AsyncConnection, key_id: str, rate_class: str, window_start: int, n: int) -> int:
    """Adds n requests to the window's counter; returns the new count."""
    cur = await conn.execute(
        "INSERT INTO rate_windows (key_id, rate_class, window_start, count) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (key_id, rate_class, window_start) DO UPDATE SET count = rate_windows.count + EXCLUDED.count"
        " RETURNING count",
        (key_id, rate_class, window_start, n),
    )
    return (await cur.fetchone())["count"]


async def drop_old_windows(conn: AsyncConnection, before: int) -> None:
    await conn.execute("DELETE FROM rate_windows WHERE window_start < %s", (before,))


# Credits ledger.

async def insert_ledger(conn: AsyncConnection, ws_id: str, job_id: str, kind: str, amount: int,
                        charged: int | None, reason: str | None, workflow: str | None = None) -> None:
    await conn.execute(
        "INSERT INTO credit_ledger (workspace_id, job_id, kind, amount, charged, reason, workflow)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (job_id, kind) DO NOTHING",
        (ws_id, job_id, kind, amount, charged, reason, workflow),
    )


async def job_ledger(conn: AsyncConnection, job_id: str) -> dict[str, dict]:
    cur = await conn.execute("SELECT * FROM credit_ledger WHERE job_id = %s", (job_id,))
    return {row["kind"]: row for row in await cur.fetchall()}


async def credit_balance(conn: AsyncConnection, ws_id: str) -> int:
    cur = await conn.execute("SELECT coalesce(sum(amount), 0) AS b FROM credit_ledger WHERE workspace_id = %s",
                             (ws_id,))
    return int((await cur.fetchone())["b"])


async def credit_totals(conn: AsyncConnection, ws_id: str) -> dict:
    """Balance, credits held by open reservations, settled (charged) and refunded totals."""
    cur = await conn.execute(
        "SELECT coalesce(sum(l.amount), 0) AS balance,"
        " coalesce(sum(-l.amount) FILTER (WHERE l.kind = 'reserve' AND NOT EXISTS ("
        "   SELECT 1 FROM credit_ledger c WHERE c.job_id = l.job_id AND c.kind IN ('settle', 'refund'))), 0)"
        "   AS credits_reserved,"
        " coalesce(sum(l.charged) FILTER (WHERE l.kind = 'settle'), 0) AS credits_settled,"
        " coalesce(sum(l.amount) FILTER (WHERE l.kind = 'refund'), 0) AS credits_refunded"
        " FROM credit_ledger l WHERE l.workspace_id = %s",
        (ws_id,),
    )
    return {k: int(v) for k, v in (await cur.fetchone()).items()}


async def usage_by_workflow(conn: AsyncConnection, ws_id: str) -> list[dict]:
    """Per workflow: tasks that reserved credits and the credits their settlements charged."""
    cur = await conn.execute(
        "SELECT r.workflow, count(*) AS tasks, coalesce(sum(s.charged), 0) AS credits_settled"
        " FROM credit_ledger r LEFT JOIN credit_ledger s ON s.job_id = r.job_id AND s.kind = 'settle'"
        " WHERE r.workspace_id = %s AND r.kind = 'reserve' AND r.workflow IS NOT NULL"
        " GROUP BY r.workflow ORDER BY r.workflow",
        (ws_id,),
    )
    return [{"workflow": r["workflow"], "tasks": int(r["tasks"]), "credits_settled": int(r["credits_settled"])}
            for r in await cur.fetchall()]
