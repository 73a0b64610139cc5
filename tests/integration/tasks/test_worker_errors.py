"""Task workers under the faults `make chaos` injects: a database restart mid-task leaves the task to
redelivery instead of failing it, and a worker that stalled past its ack wait (its task redelivered
to another claim meanwhile) can neither fail nor complete the task, nor delete the output."""

import asyncio

import grpc
import psycopg
import pytest

from framelane_core import db
from framelane_core.fetch import Allow
from framelane_core.storage import LocalStorage
from framelane_tasks import store, worker


@pytest.fixture
async def task_worker(database_url, tmp_path):
    await db.migrate(database_url, "tasks", "framelane_tasks")
    pool = await db.open_pool(database_url, "tasks")
    channel = grpc.aio.insecure_channel("127.0.0.1:9")
    async with pool.connection() as conn:
        await store.insert_task(conn, "task_1", "ws_1", "super_resolution",
                                {"source_url": "http://media.test/a.png", "scale": 2}, {}, None, [])
    storage = LocalStorage(tmp_path / "storage", "secret", "http://127.0.0.1:8080")
    yield worker.TaskWorker(pool, None, storage, tmp_path / "work", Allow.parse(""), 30, channel)
    await channel.close()
    await pool.close()


async def test_an_infrastructure_error_mid_task_leaves_it_to_redelivery(task_worker, tmp_path, monkeypatch):
    async def fetched(*args, **kwargs):
        return tmp_path / "a.png"

    async def database_restarting(*args):
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(worker, "fetch_source", fetched)
    monkeypatch.setitem(worker.PROCESSORS, "super_resolution", database_restarting)
    row = await task_worker.claim("task_1")
    with pytest.raises(psycopg.OperationalError):
        await task_worker.process(row, asyncio.Event(), lambda *args: asyncio.sleep(0))
    assert await task_worker.job_status("task_1") == "processing"


async def test_a_stalled_claim_cannot_decide_the_outcome_or_delete_the_output(task_worker, tmp_path):
    stalled = await task_worker.claim("task_1")
    current = await task_worker.claim("task_1")  # redelivered while the first worker was frozen
    assert (stalled["attempts"], current["attempts"]) == (1, 2)
    output = tmp_path / "output.png"
    output.write_bytes(b"png")
    task_worker.storage.put_file("tasks/task_1/output.png", output)
    record = {"key": "tasks/task_1/output.png", "format": "png", "size_bytes": 3}

    await task_worker.fail("task_1", "codec_unsupported", "its scratch files vanished", stalled["attempts"])
    await task_worker._finish("task_1", record, stalled["attempts"])
    assert await task_worker.job_status("task_1") == "processing"
    await task_worker._finish("task_1", record, current["attempts"])
    assert await task_worker.job_status("task_1") == "completed"
    await task_worker._finish("task_1", record, stalled["attempts"])  # the stalled one finishing last
    assert task_worker.storage.stat("tasks/task_1/output.png") is not None
