"""An admission whose job never appeared (its create failed, or its process died, after admission:
found by `make chaos`) gives back its slot, render minutes and credits; a confirmed one keeps them."""

from framelane.api.v1 import job_pb2
from framelane_core import bus, db
from framelane_usage import store
from framelane_usage.credits import Credits
from framelane_usage.metering import Meters
from framelane_usage.service import Accounts


async def test_unconfirmed_admissions_are_released_and_confirmed_ones_kept(database_url):
    await db.migrate(database_url, "usage", "framelane_usage")
    pool = await db.open_pool(database_url, "usage")
    try:
        ws, _, _ = await Accounts(pool).create_workspace("chaos", plan="pro")
        await Credits(pool).grant(ws["id"], "grant_1", 1000, "test")
        meters = Meters(pool, confirm_seconds=0)
        for job_id in ("task_lost", "task_kept"):
            await meters.admit_job(ws["id"], job_id, "task", 0, credits=100, workflow="music-video")
        await meters.admit_render(ws["id"], "render_lost", 2.0)
        queued = bus.make_event("task.queued", ws["id"], job_pb2.JobEvent(job=job_pb2.Job(id="task_kept")))
        async with pool.connection() as conn, conn.transaction():
            await meters.on_job_event(conn, queued)

        assert await meters.release_unconfirmed() == 2
        assert await meters.release_unconfirmed() == 0
        async with pool.connection() as conn:
            assert await store.active_job_ids(conn, ws["id"]) == ["task_kept"]
            assert await store.reserved_minutes(conn, ws["id"]) == 0
            assert set(await store.job_ledger(conn, "task_lost")) == {"reserve", "refund"}
            assert set(await store.job_ledger(conn, "task_kept")) == {"reserve"}
            assert await store.credit_balance(conn, ws["id"]) == 900
    finally:
        await pool.close()
