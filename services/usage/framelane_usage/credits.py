"""Integer credits as a ledger: reserve at acceptance, settle on success, refund on failure.

Every movement is one row of credit_ledger (unique per job and kind, so each call is idempotent);
a balance is the sum of a workspace's rows. Reservations are taken under the workspace's row lock,
so two racing reservations cannot both spend the last credits."""

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from framelane_core import metrics
from framelane_core.errors import Conflict, InvalidRequest, NotFound, PaymentRequired, violation
from framelane_usage import store


class InsufficientCredits(PaymentRequired):
    code = "insufficient_credits"


def _positive(field: str, value: int, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidRequest(f"{field} must be {'0 or more' if allow_zero else 'positive'}.",
                             details=[violation(f"$.{field}", "minimum", "Out of range.")])


class Credits:
    def __init__(self, pool: AsyncConnectionPool):
        self.pool = pool

    async def balance(self, ws_id: str, job_id: str = "") -> dict:
        async with self.pool.connection() as conn:
            return await _summary(conn, ws_id, job_id)

    async def grant(self, ws_id: str, grant_id: str, credits: int, reason: str) -> dict:
        _positive("credits", credits)
        async with self.pool.connection() as conn, conn.transaction():
            if await store.lock_workspace(conn, ws_id) is None:
                raise NotFound("Workspace not found.")
            await store.insert_ledger(conn, ws_id, grant_id, "grant", credits, None, reason or None)
            summary = await _summary(conn, ws_id, "")
        moved_credits("grant", credits)
        return summary

    async def reserve(self, ws_id: str, job_id: str, credits: int) -> dict:
        _positive("credits", credits, allow_zero=True)
        async with self.pool.connection() as conn, conn.transaction():
            if await store.lock_workspace(conn, ws_id) is None:
                raise NotFound("Workspace not found.")
            moved = await reserve_locked(conn, ws_id, job_id, credits, None)
            summary = await _summary(conn, ws_id, job_id)
        if moved:
            moved_credits("reserve", credits)
        return summary

    async def settle(self, job_id: str, charged: int) -> dict:
        _positive("credits", charged, allow_zero=True)
        return await self._close(job_id, "settle", charged)

    async def refund(self, job_id: str) -> dict:
        return await self._close(job_id, "refund", None)

    async def _close(self, job_id: str, kind: str, charged: int | None) -> dict:
        async with self.pool.connection() as conn, conn.transaction():
            rows = await store.job_ledger(conn, job_id)
            if "reserve" not in rows:
                raise NotFound(f"No credits are reserved for job {job_id}.")
            ws_id = rows["reserve"]["workspace_id"]
            await store.lock_workspace(conn, ws_id)
            amount = await close_locked(conn, job_id, kind, charged)
            summary = await _summary(conn, ws_id, job_id)
        if amount is not None:
            moved_credits(kind, amount)
        return summary


async def reserve_locked(conn: AsyncConnection, ws_id: str, job_id: str, credits: int, workflow: str | None) -> bool:
    """Holds `credits` for the job under the workspace's row lock (taken by the caller); 402 when
    the balance is lower. True when this call moved credits (False: already reserved)."""
    rows = await store.job_ledger(conn, job_id)
    if "reserve" in rows:
        if rows["reserve"]["workspace_id"] != ws_id:
            raise Conflict(f"Job {job_id} belongs to another workspace.")
        return False
    balance = await store.credit_balance(conn, ws_id)
    if balance < credits:
        raise InsufficientCredits(
            f"This job needs {credits} credits and the balance is {balance}.",
            details={"credits_required": credits, "credit_balance": balance},
        )
    await store.insert_ledger(conn, ws_id, job_id, "reserve", -credits, None, None, workflow)
    return True


async def close_locked(conn: AsyncConnection, job_id: str, kind: str, charged: int | None) -> int | None:
    """Settles (charging `charged`) or refunds the job's reservation, once; the caller holds the
    workspace lock. The credits given back, or None when nothing moved (already closed this way).
    Settling a refunded job or refunding a settled one is a Conflict."""
    rows = await store.job_ledger(conn, job_id)
    other = "refund" if kind == "settle" else "settle"
    if other in rows:
        raise Conflict(f"The credits of job {job_id} were already {other}d.")
    if kind in rows:
        return None
    reserved = -rows["reserve"]["amount"]
    amount = reserved if kind == "refund" else reserved - charged
    await store.insert_ledger(conn, rows["reserve"]["workspace_id"], job_id, kind, amount, charged, None)
    return amount


def moved_credits(kind: str, credits: int) -> None:
    """Counts a committed ledger movement (after the commit: a rolled-back one never happened)."""
    metrics.CREDIT_MOVEMENTS.labels(kind).inc()
    metrics.CREDITS_MOVED.labels(kind).inc(abs(credits))


async def _summary(conn: AsyncConnection, ws_id: str, job_id: str) -> dict:
    totals = await store.credit_totals(conn, ws_id)
    out = {"workspace_id": ws_id, **totals, "job_credits_reserved": 0, "job_credits_settled": 0,
           "job_credits_refunded": 0}
    if job_id:
        rows = await store.job_ledger(conn, job_id)
        if "reserve" in rows:
            out["job_credits_reserved"] = -rows["reserve"]["amount"]
        if "settle" in rows:
            out["job_credits_settled"] = rows["settle"]["charged"]
        if "refund" in rows:
            out["job_credits_refunded"] = rows["refund"]["amount"]
    return out
