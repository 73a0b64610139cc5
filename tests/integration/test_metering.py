"""Metering applies a replayed lifecycle event once, and admissions race safely."""

import asyncio

from framelane.api.v1 import job_pb2
from framelane.gateway.v1 import events_pb2 as gateway_events_pb2
from framelane_core import bus, db
from framelane_core.context import Principal
from framelane_core.errors import PaymentRequired
from framelane_usage.metering import PLANS, Meters
from framelane_usage.service import Accounts


async def test_replayed_event_changes_no_meter_and_racing_admissions_respect_the_cap(database_url, nats_url,
                                                                                      monkeypatch):
    monkeypatch.setitem(PLANS["free"], "concurrent_jobs", 50)  # the cap, not the concurrency limit, decides here
    await db.migrate(database_url, "usage", "framelane_usage")
    pool = await db.open_pool(database_url, "usage")
    nc = await bus.connect(nats_url, "t")
    try:
        ws, _, _ = await Accounts(pool).create_workspace("free", plan="free")
        principal = Principal(ws["id"], "key", "free")
        meters = Meters(pool)
        consumer = bus.IdempotentConsumer(pool, nc.jetstream(), "m", "renderer", "x", meters.on_render_event)
        job = job_pb2.Job(id="render_1", workspace_id=ws["id"], status="completed")
        event = bus.make_event("render.completed", ws["id"], job_pb2.JobEvent(job=job, output_duration=120))
        for _ in range(3):
            await consumer.apply(event.SerializeToString())
        assert (await meters.usage(principal, None))["render_minutes"] == 2.0
        egress = bus.IdempotentConsumer(pool, nc.jetstream(), "e", "gateway", "x", meters.on_egress_event)
        served = bus.make_event("egress.served", ws["id"], gateway_events_pb2.EgressServed(bytes=5000, responses=2))
        for _ in range(3):
            await egress.apply(served.SerializeToString())
        assert (await meters.usage(principal, None))["egress_bytes"] == 5000

        # 23 minutes left: of ten racing 5-minute admissions exactly four fit.
        results = await asyncio.gather(*(meters.admit_render(ws["id"], f"render_r{i}", 5.0) for i in range(10)),
                                       return_exceptions=True)
        assert sum(not isinstance(r, Exception) for r in results) == 4
        assert all(isinstance(r, PaymentRequired) for r in results if isinstance(r, Exception))
    finally:
        await nc.close()
        await pool.close()
