"""A long-poll wakes when its job ends (LISTEN/NOTIFY at commit), not at its next poll."""

import asyncio
import time

from framelane_core import db, jobstore
from framelane_renderer import store


async def test_a_long_poll_wakes_when_its_job_ends(database_url, monkeypatch):
    monkeypatch.setattr(jobstore, "POLL_SECONDS", 60.0)  # only the notification can end the wait early
    await db.migrate(database_url, "renderer", "framelane_renderer")
    pool = await db.open_pool(database_url, "renderer")
    watch = jobstore.JobWatch(database_url, "renderer")
    listening = asyncio.create_task(watch.run())
    try:
        async with pool.connection() as conn:
            for render_id in ("render_a", "render_b"):
                await store.insert_render(conn, render_id, "ws_1", {}, {}, None, [], 1.0)
                await store.renders.claim(conn, render_id, "worker_1")
        await asyncio.sleep(0.5)  # the listener is connected
        started = time.monotonic()
        waits = [asyncio.create_task(store.renders.wait(pool, "ws_1", render_id, 20, watch))
                 for render_id in ("render_a", "render_b")]
        await asyncio.sleep(0.3)
        async with pool.connection() as conn, conn.transaction():
            await store.renders.complete(conn, "render_a", {"key": "k"})
        row = await asyncio.wait_for(waits[0], 10)
        assert row["status"] == "completed" and time.monotonic() - started < 10
        assert not waits[1].done()  # another job's end wakes only its own waiters
        async with pool.connection() as conn, conn.transaction():
            await store.renders.fail(conn, "render_b", {"code": "internal_error", "message": "m"})
        assert (await asyncio.wait_for(waits[1], 10))["status"] == "failed"
        assert watch._waiting == {}
    finally:
        watch.stop()
        await asyncio.wait_for(listening, 5)  # stops at once, though no notification comes
        await pool.close()
