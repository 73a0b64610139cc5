"""Meters, plans and render quotas.

Meters come from lifecycle events, applied exactly once per event id (the consumer records the
id in the same transaction as the meter row). Quotas are checked at submit: a render's estimated
minutes are reserved under a per-workspace row lock, and its terminal event settles the
reservation with the real output duration."""

from datetime import UTC, datetime

from psycopg_pool import AsyncConnectionPool

from framelane.api.v1 import job_pb2
from framelane_core.context import Principal
from framelane_core.errors import NotFound, PaymentRequired
from framelane_usage import store
from framelane_usage.service import usage_period

# Plans are configuration: monthly render minutes (None = unlimited) and overage price.
PLANS = {
    "free": {"render_minutes_per_month": 25, "overage_per_render_minute_usd": None},
    "pro": {"render_minutes_per_month": 2000, "overage_per_render_minute_usd": 0.08},
    "enterprise": {"render_minutes_per_month": None, "overage_per_render_minute_usd": None},
}


def hard_cap(plan: str) -> float | None:
    """Minutes a workspace may not go past this month: plans with overage have no hard cap."""
    p = PLANS[plan]
    return None if p["overage_per_render_minute_usd"] is not None else p["render_minutes_per_month"]


class Meters:
    def __init__(self, pool: AsyncConnectionPool):
        self.pool = pool

    async def usage(self, principal: Principal, period: str) -> dict:
        start, end = usage_period(period)
        async with self.pool.connection() as conn:
            ws = await store.get_workspace(conn, principal.workspace_id)
            if ws is None:
                raise NotFound("Workspace not found.")
            totals = await store.meter_totals(conn, principal.workspace_id, start, end)
            reserved = await store.reserved_minutes(conn, principal.workspace_id)
        return {
            "period_start": start, "period_end": end, "plan": ws["plan"],
            "render_minutes": round(totals.get("render_minutes", 0.0), 4),
            "task_count": int(totals.get("tasks", 0)), "egress_bytes": totals.get("egress_bytes", 0.0),
            "render_minutes_limit": PLANS[ws["plan"]]["render_minutes_per_month"],
            "render_minutes_reserved": round(reserved, 4),
        }

    async def admit_render(self, ws_id: str, job_id: str, minutes: float) -> float | None:
        """Reserves minutes for a render; returns what is left of the cap (None: no cap)."""
        start, end = usage_period("")
        async with self.pool.connection() as conn, conn.transaction():
            ws = await store.lock_workspace(conn, ws_id)
            if ws is None:
                raise NotFound("Workspace not found.")
            cap = hard_cap(ws["plan"])
            if cap is not None:
                used = (await store.meter_totals(conn, ws_id, start, end)).get("render_minutes", 0.0)
                reserved = await store.reserved_minutes(conn, ws_id)
                if used + reserved + minutes > cap + 1e-9:
                    raise PaymentRequired(
                        f"This render needs {minutes:.2f} render minutes; {max(cap - used - reserved, 0):.2f} of the "
                        f"{ws['plan']} plan's {cap:g} are left this month.",
                        details={"render_minutes_limit": cap, "render_minutes_used": round(used, 4),
                                 "render_minutes_reserved": round(reserved, 4), "render_minutes_requested": minutes},
                    )
            await store.reserve(conn, job_id, ws_id, minutes)
        return None if cap is None else cap - used - reserved - minutes

    async def on_render_event(self, conn, event) -> None:
        """Consumer handler for render.*: completed meters the real output; terminal ones release."""
        if event.type not in ("render.completed", "render.failed", "render.cancelled"):
            return
        payload = job_pb2.JobEvent()
        event.payload.Unpack(payload)
        await store.release(conn, payload.job.id)
        if event.type == "render.completed":
            occurred = event.created_at.ToDatetime(tzinfo=UTC) if event.HasField("created_at") else datetime.now(UTC)
            await store.record_meter(conn, event.id, "render_minutes", event.workspace_id,
                                     payload.output_duration / 60, payload.job.id, occurred)
