"""Meters, plans, render quotas and concurrency slots.

Meters come from lifecycle events, applied exactly once per event id (the consumer records the
id in the same transaction as the meter row). Quotas are checked at submit: a render's estimated
minutes are reserved under a per-workspace row lock, and its terminal event settles the
reservation with the real output duration.

Concurrency: admission also takes one of the plan's active-processing slots under the same lock
(429 concurrency_exceeded when none is free); a job's terminal event gives it back, every other
event of the job renews its lease, and a slot whose lease ran out is reclaimed.

Admission commits here before the job's create commits in its own service, so the job's first
event confirms it; an admission no event confirmed within `confirm_seconds` belongs to a create that
failed after it (rolled back, or its process died), and its slot, minutes and credits are given back."""

import copy
import json
import logging
import os
from datetime import UTC, datetime

from psycopg_pool import AsyncConnectionPool

from framelane.api.v1 import job_pb2
from framelane.gateway.v1 import events_pb2 as gateway_events_pb2
from framelane_core.context import Principal
from framelane_core.errors import Conflict, NotFound, PaymentRequired, RateLimited
from framelane_usage import store
from framelane_usage.credits import close_locked, moved_credits, reserve_locked
from framelane_usage.service import usage_period

log = logging.getLogger(__name__)

# Plans are configuration: price, monthly render minutes (None = unlimited) and overage price,
# active-processing jobs, and requests per minute per API key and route class (method_policy.rate_class).
# BeatAPI's task polling (beatapi_poll) is 120 per minute on every plan (API.md).
DEFAULT_PLANS = {
    "free": {"price_per_month_usd": 0, "render_minutes_per_month": 25, "overage_per_render_minute_usd": None,
             "concurrent_jobs": 1,
             "rate_limits_per_minute": {"create": 20, "poll": 120, "beatapi_poll": 120, "default": 600}},
    "pro": {"price_per_month_usd": 99, "render_minutes_per_month": 2000, "overage_per_render_minute_usd": 0.08,
            "concurrent_jobs": 5,
            "rate_limits_per_minute": {"create": 300, "poll": 1200, "beatapi_poll": 120, "default": 60000}},
    "enterprise": {"price_per_month_usd": None, "render_minutes_per_month": None, "overage_per_render_minute_usd": None,
                   "concurrent_jobs": 50,
                   "rate_limits_per_minute": {"create": 3000, "poll": 12000, "beatapi_poll": 120, "default": 600000}},
}


def configured_plans(overrides: str) -> dict:
    """The plans with a deployment's overrides applied: JSON {plan: {field: value}}, e.g.
    FRAMELANE_PLAN_OVERRIDES='{"pro": {"concurrent_jobs": 2, "rate_limits_per_minute": {"create": 60}}}'
    (nested objects are merged). An unknown plan or field is an error at start-up."""
    plans = copy.deepcopy(DEFAULT_PLANS)
    for name, fields in json.loads(overrides or "{}").items():
        if name not in plans:
            raise ValueError(f"FRAMELANE_PLAN_OVERRIDES: no plan {name}")
        for field, value in fields.items():
            if field not in plans[name]:
                raise ValueError(f"FRAMELANE_PLAN_OVERRIDES: no plan field {name}.{field}")
            if isinstance(value, dict):
                plans[name][field].update(value)
            else:
                plans[name][field] = value
    return plans


PLANS = configured_plans(os.environ.get("FRAMELANE_PLAN_OVERRIDES", ""))
# Event types that end a job (its slot is released); any other event of the job renews the lease.
TERMINAL_EVENTS = {"render.completed", "render.failed", "render.cancelled",
                   "task.succeeded", "task.failed", "task.cancelled", "task.completed"}
# Tasks waiting on the user (BeatAPI: storyboard_ready, requires_action) do not hold a slot either;
# the tasks service admits the job again (same job id) when it resumes processing.
PAUSED_EVENTS = {"task.storyboard_ready", "task.requires_action"}
CONCURRENCY_RETRY_AFTER_SECONDS = 10


class ConcurrencyExceeded(RateLimited):
    code = "concurrency_exceeded"


def rate_limit(plan: str, rate_class: str) -> int:
    limits = PLANS.get(plan, PLANS["free"])["rate_limits_per_minute"]
    return limits.get(rate_class, limits["default"])


def hard_cap(plan: str) -> float | None:
    """Minutes a workspace may not go past this month: plans with overage have no hard cap."""
    p = PLANS[plan]
    return None if p["overage_per_render_minute_usd"] is not None else p["render_minutes_per_month"]


class Meters:
    def __init__(self, pool: AsyncConnectionPool, lease_seconds: float = 900.0, confirm_seconds: float = 900.0):
        self.pool = pool
        self.lease_seconds = lease_seconds
        self.confirm_seconds = confirm_seconds

    async def usage(self, principal: Principal, period: str | None) -> dict:
        start, end = usage_period(period)
        async with self.pool.connection() as conn:
            ws = await store.get_workspace(conn, principal.workspace_id)
            if ws is None:
                raise NotFound("Workspace not found.")
            totals = await store.meter_totals(conn, principal.workspace_id, start, end)
            reserved = await store.reserved_minutes(conn, principal.workspace_id)
            active = len(await store.active_job_ids(conn, principal.workspace_id))
        return {
            "concurrency_limit": PLANS[ws["plan"]]["concurrent_jobs"], "active_jobs": active,
            "period_start": start, "period_end": end, "plan": ws["plan"],
            "render_minutes": round(totals.get("render_minutes", 0.0), 4),
            "task_count": int(totals.get("tasks", 0)), "egress_bytes": totals.get("egress_bytes", 0.0),
            "render_minutes_limit": PLANS[ws["plan"]]["render_minutes_per_month"],
            "render_minutes_reserved": round(reserved, 4),
        }

    async def admit_render(self, ws_id: str, job_id: str, minutes: float) -> float | None:
        """admit_job for a render; returns what is left of the cap (None: no cap)."""
        return (await self.admit_job(ws_id, job_id, "render", minutes))["render_minutes_remaining"]

    async def admit_job(self, ws_id: str, job_id: str, kind: str, minutes: float, credits: int = 0,
                        workflow: str | None = None) -> dict:
        """Reserves minutes against the monthly cap (402 quota_exceeded) and credits against the
        balance (402 insufficient_credits), then takes an active-processing slot (429), all under
        the workspace's row lock, so either everything is held or nothing. Admitting a job id again
        is a no-op."""
        start, end = usage_period(None)
        async with self.pool.connection() as conn, conn.transaction():
            ws = await store.lock_workspace(conn, ws_id)
            if ws is None:
                raise NotFound("Workspace not found.")
            plan = PLANS[ws["plan"]]
            cap = hard_cap(ws["plan"])
            used = reserved = 0.0
            if cap is not None and minutes > 0:
                used = (await store.meter_totals(conn, ws_id, start, end)).get("render_minutes", 0.0)
                reserved = await store.reserved_minutes(conn, ws_id)
                if used + reserved + minutes > cap + 1e-9:
                    raise PaymentRequired(
                        f"This render needs {minutes:.2f} render minutes; {max(cap - used - reserved, 0):.2f} of the "
                        f"{ws['plan']} plan's {cap:g} are left this month.",
                        details={"render_minutes_limit": cap, "render_minutes_used": round(used, 4),
                                 "render_minutes_reserved": round(reserved, 4), "render_minutes_requested": minutes},
                    )
            moved = credits > 0 and await reserve_locked(conn, ws_id, job_id, credits, workflow)
            await store.expire_slots(conn, ws_id)
            active = await store.active_job_ids(conn, ws_id)
            limit = plan["concurrent_jobs"]
            if job_id not in active:
                if len(active) >= limit:
                    raise ConcurrencyExceeded(
                        f"The {ws['plan']} plan runs at most {limit} job(s) at a time and {len(active)} are active; "
                        "retry when one finishes.",
                        details={"concurrency_limit": limit, "active_jobs": len(active)},
                        retry_after_seconds=CONCURRENCY_RETRY_AFTER_SECONDS,
                    )
                await store.take_slot(conn, job_id, ws_id, kind or "job", self.lease_seconds)
                active.append(job_id)
            if minutes > 0:
                await store.reserve(conn, job_id, ws_id, minutes)
            balance = await store.credit_balance(conn, ws_id)
            held = -(await store.job_ledger(conn, job_id)).get("reserve", {"amount": 0})["amount"]
        if moved:
            moved_credits("reserve", credits)
        remaining = None if cap is None else cap - used - reserved - (minutes if minutes > 0 else 0)
        return {"render_minutes_remaining": remaining, "concurrency_limit": limit, "active_jobs": len(active),
                "credits_reserved": held, "credit_balance": balance}

    async def beatapi_usage(self, ws_id: str) -> dict:
        """BeatAPI's Usage: credits from the ledger, tasks per workflow, active-processing slots."""
        async with self.pool.connection() as conn:
            ws = await store.get_workspace(conn, ws_id)
            if ws is None:
                raise NotFound("Workspace not found.")
            totals = await store.credit_totals(conn, ws_id)
            by_workflow = await store.usage_by_workflow(conn, ws_id)
            active = len(await store.active_job_ids(conn, ws_id))
        return {"object": "usage", "credit_balance": totals["balance"],
                "total_tasks": sum(w["tasks"] for w in by_workflow), "credits_settled": totals["credits_settled"],
                "credits_refunded": totals["credits_refunded"],
                "concurrency": {"limit": PLANS[ws["plan"]]["concurrent_jobs"], "active": active},
                "by_workflow": by_workflow}

    async def on_job_event(self, conn, event) -> None:
        """Consumer handler for task.*: terminal and paused events free the slot, others renew it.
        A completed task is metered (task_count) and its credits settled in full; a failed or
        cancelled one gets its credits back."""
        job_id = _job_id(event)
        if not job_id:
            return
        if event.type in TERMINAL_EVENTS:
            await store.release_slot(conn, job_id)
            await store.release(conn, job_id)
            await self._close_credits(conn, job_id, "settle" if event.type == "task.completed" else "refund")
            if event.type == "task.completed":
                await store.record_meter(conn, event.id, "tasks", event.workspace_id, 1, job_id, _occurred(event))
        elif event.type in PAUSED_EVENTS:
            await store.release_slot(conn, job_id)
        else:
            await store.renew_slot(conn, job_id, self.lease_seconds)

    async def on_render_event(self, conn, event) -> None:
        """Consumer handler for render.*: completed meters the real output; terminal ones release."""
        payload = job_pb2.JobEvent()
        event.payload.Unpack(payload)
        if event.type not in TERMINAL_EVENTS:
            await store.renew_slot(conn, payload.job.id, self.lease_seconds)
            return
        await store.release_slot(conn, payload.job.id)
        await store.release(conn, payload.job.id)
        if event.type == "render.completed" and not payload.parent_id:  # a workflow's render is billed as its task
            await store.record_meter(conn, event.id, "render_minutes", event.workspace_id,
                                     payload.output_duration / 60, payload.job.id, _occurred(event))

    async def on_egress_event(self, conn, event) -> None:
        """Consumer handler for the gateway's egress.served: bytes served through signed URLs."""
        payload = gateway_events_pb2.EgressServed()
        event.payload.Unpack(payload)
        await store.record_meter(conn, event.id, "egress_bytes", event.workspace_id, payload.bytes, None,
                                 _occurred(event))

    async def release_unconfirmed(self) -> int:
        """Gives back the slot, reserved minutes and credits of every admission no event of its job
        confirmed within confirm_seconds; returns how many it released."""
        async with self.pool.connection() as conn:
            stale = await store.unconfirmed_slots(conn, self.confirm_seconds)
        released = 0
        for job_id in stale:
            # The slot row first, then (when credits are held) the workspace: the consumers' order.
            async with self.pool.connection() as conn, conn.transaction():
                if await store.lock_unconfirmed_slot(conn, job_id) is None:
                    continue  # confirmed meanwhile
                await store.release_slot(conn, job_id)
                await store.release(conn, job_id)
                await self._close_credits(conn, job_id, "refund")
            log.warning("admission of %s was never confirmed by an event of the job; released", job_id)
            released += 1
        return released

    async def _close_credits(self, conn, job_id: str, kind: str) -> None:
        """Settles the job's whole reservation or refunds it, when it has one (once per job)."""
        rows = await store.job_ledger(conn, job_id)
        if "reserve" not in rows:
            return
        await store.lock_workspace(conn, rows["reserve"]["workspace_id"])
        charged = -rows["reserve"]["amount"] if kind == "settle" else None
        try:
            amount = await close_locked(conn, job_id, kind, charged)
        except Conflict:  # closed the other way already (a late duplicate of another outcome)
            log.warning("credits of %s already closed; %s ignored", job_id, kind)
            return
        if amount is not None:
            moved_credits(kind, amount)


def _occurred(event) -> datetime:
    return event.created_at.ToDatetime(tzinfo=UTC) if event.HasField("created_at") else datetime.now(UTC)


def _job_id(event) -> str:
    """The job id of a lifecycle event whose payload is a framelane.api.v1.JobEvent (or Job)."""
    if event.payload.Is(job_pb2.JobEvent.DESCRIPTOR):
        payload = job_pb2.JobEvent()
        event.payload.Unpack(payload)
        return payload.job.id
    if event.payload.Is(job_pb2.Job.DESCRIPTOR):
        job = job_pb2.Job()
        event.payload.Unpack(job)
        return job.id
    return ""
