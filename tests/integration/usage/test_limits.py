"""Concurrency slots (atomic, released by terminal events, reclaimed by lease), shared rate-limit
windows, and the billing faces."""

import asyncio

import grpc
import pytest

from framelane.api.v1 import job_pb2
from framelane.usage.v1 import account_pb2, account_pb2_grpc, usage_pb2, usage_pb2_grpc
from framelane_core import bus
from framelane_core.context import Principal
from framelane_core.errors import PaymentRequired, RateLimited, from_rpc_error
from framelane_core.ratelimit import RateLimiter
from framelane_usage.limits import RateWindows
from framelane_usage.metering import PLANS, ConcurrencyExceeded, Meters
from tests.integration.usage.conftest import auth, reason


def _event(kind: str, ws_id: str, job_id: str):
    return bus.make_event(kind, ws_id, job_pb2.JobEvent(job=job_pb2.Job(id=job_id, workspace_id=ws_id)))


async def test_racing_admissions_take_exactly_the_plans_slots_and_terminal_events_free_them(usage_app):
    app, _ = usage_app
    ws, _, _ = await app.accounts.create_workspace("Pro", plan="pro")
    meters = Meters(app.res.pool, lease_seconds=60)
    results = await asyncio.gather(*(meters.admit_job(ws["id"], f"render_{i}", "render", 0.1) for i in range(12)),
                                   return_exceptions=True)
    admitted = [f"render_{i}" for i, r in enumerate(results) if not isinstance(r, Exception)]
    assert len(admitted) == PLANS["pro"]["concurrent_jobs"] == 5
    refused = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(r, ConcurrencyExceeded) and r.retry_after_seconds > 0 for r in refused)
    assert refused[0].details == {"concurrency_limit": 5, "active_jobs": 5}
    # Admitting an admitted job again is a no-op, not a second slot.
    assert (await meters.admit_job(ws["id"], admitted[0], "render", 0.1))["active_jobs"] == 5

    # A progress event renews; a terminal one (render or task) frees the slot.
    async with app.res.pool.connection() as conn, conn.transaction():
        await meters.on_render_event(conn, _event("render.progress", ws["id"], admitted[0]))
        await meters.on_render_event(conn, _event("render.completed", ws["id"], admitted[1]))
    await meters.admit_job(ws["id"], "task_1", "task", 0)
    with pytest.raises(ConcurrencyExceeded):
        await meters.admit_job(ws["id"], "task_2", "task", 0)
    async with app.res.pool.connection() as conn, conn.transaction():
        await meters.on_job_event(conn, _event("task.failed", ws["id"], "task_1"))
    await meters.admit_job(ws["id"], "task_2", "task", 0)
    principal = Principal(ws["id"], "k", "pro")
    assert (await meters.usage(principal, None))["active_jobs"] == 5


async def test_a_crashed_workers_slot_is_reclaimed_after_its_lease(usage_app):
    app, _ = usage_app
    ws, _, _ = await app.accounts.create_workspace("Free", plan="free")
    meters = Meters(app.res.pool, lease_seconds=0.5)
    await meters.admit_job(ws["id"], "render_a", "render", 0.1)
    with pytest.raises(ConcurrencyExceeded):
        await meters.admit_job(ws["id"], "render_b", "render", 0.1)
    await asyncio.sleep(0.6)  # no event of render_a: its worker died
    await meters.admit_job(ws["id"], "render_b", "render", 0.1)


async def test_quota_is_checked_before_concurrency(usage_app):
    app, _ = usage_app
    ws, _, _ = await app.accounts.create_workspace("Free", plan="free")
    meters = Meters(app.res.pool)
    await meters.admit_job(ws["id"], "render_a", "render", 20)
    with pytest.raises(PaymentRequired):
        await meters.admit_job(ws["id"], "render_b", "render", 10)


async def test_admit_job_over_grpc_answers_concurrency_exceeded_with_retry_after(usage_app):
    app, channel = usage_app
    ws, _, _ = await app.accounts.create_workspace("Free", plan="free")
    stub = usage_pb2_grpc.UsageServiceStub(channel)
    got = await stub.AdmitJob(usage_pb2.AdmitJobRequest(workspace_id=ws["id"], job_id="task_x", kind="task"))
    assert (got.concurrency_limit, got.active_jobs) == (1, 1)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.AdmitRender(usage_pb2.AdmitRenderRequest(workspace_id=ws["id"], job_id="render_y", render_minutes=1))
    error = from_rpc_error(err.value)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.code == "concurrency_exceeded" and error.retry_after_seconds == 10


async def test_replicas_sharing_a_window_never_grant_more_than_the_limit(usage_app):
    app, _ = usage_app
    windows = RateWindows(app.res.pool)
    replicas = [RateLimiter(windows.take) for _ in range(3)]
    principal = Principal("ws_x", "key_x", "free")
    results = await asyncio.gather(*(replicas[i % 3].check(principal, "poll") for i in range(200)),
                                   return_exceptions=True)
    allowed = [r for r in results if not isinstance(r, Exception)]
    assert 120 - 3 * 6 <= len(allowed) <= 120  # at most one unspent batch per replica is lost
    # X-RateLimit-*: the limit, and what is left counting every replica's takes (one batch off at most).
    assert all(q.limit == 120 and 0 <= q.remaining <= 120 and 1 <= q.reset_seconds <= 60 for q in allowed)
    assert min(q.remaining for q in allowed) <= 6
    limited = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(r, RateLimited) and 1 <= r.retry_after_seconds <= 60 for r in limited)
    # Another class of the same key has its own budget.
    await replicas[0].check(principal, "create")


async def test_the_interceptor_limits_requests_per_key_with_retry_after(usage_app, monkeypatch):
    app, channel = usage_app
    monkeypatch.setitem(PLANS["free"], "rate_limits_per_minute", {"create": 5, "poll": 5, "default": 40})
    _, _, key = await app.accounts.create_workspace("Busy", plan="free")
    _, _, other = await app.accounts.create_workspace("Calm", plan="free")
    stub = account_pb2_grpc.AccountServiceStub(channel)
    outcomes = []
    for _ in range(45):
        try:
            await stub.GetWorkspace(account_pb2.GetWorkspaceRequest(), metadata=auth(key))
            outcomes.append("ok")
        except grpc.aio.AioRpcError as err:
            outcomes.append(reason(err))
            retry = from_rpc_error(err).retry_after_seconds
    assert outcomes.count("ok") == 40 and outcomes[40:] == ["rate_limited"] * 5 and 1 <= retry <= 60
    await stub.GetWorkspace(account_pb2.GetWorkspaceRequest(), metadata=auth(other))  # per key


async def test_billing_portal_and_invoice_preview(usage_app):
    app, channel = usage_app
    ws, _, key = await app.accounts.create_workspace("Pro", plan="pro")
    async with app.res.pool.connection() as conn:
        await conn.execute("INSERT INTO meter_readings (event_id, meter, workspace_id, quantity, job_id, occurred_at)"
                           " VALUES ('evt_1', 'render_minutes', %s, 2100, 'render_1', now())", (ws["id"],))
    stub = usage_pb2_grpc.UsageServiceStub(channel)
    portal = await stub.CreateBillingPortalSession(usage_pb2.CreateBillingPortalSessionRequest(), metadata=auth(key))
    assert portal.url == "https://console.test/billing"
    inv = await stub.PreviewInvoice(usage_pb2.PreviewInvoiceRequest(), metadata=auth(key))
    assert inv.plan == "pro" and inv.currency == "usd"
    assert [(line.quantity, line.amount_usd) for line in inv.lines] == [(1, 99.0), (100, 8.0)]
    assert inv.total_usd == 107.0
