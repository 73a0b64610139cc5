"""framelane_core.jobqueue.JobWorker against a real JetStream: each queued job goes to one
worker, progress is coalesced, a cancel is seen within a poll, and a worker stopping mid-job
naks it so another worker takes it at once."""

import asyncio

from framelane.api.v1 import job_pb2
from framelane_core import bus, jobqueue
from framelane_core.jobqueue import JobWorker

SERVICE, SUBJECT = "jqtest", "framelane.jqtest.v1.job.queued"


class FakeWorker(JobWorker):
    stream, subject, durable = SERVICE, SUBJECT, "jq-workers"

    def __init__(self, js, statuses: dict, behaviour):
        super().__init__(None, js, ack_wait=3)
        self.statuses, self.behaviour = statuses, behaviour
        self.processed, self.saved = [], []

    async def claim(self, job_id):
        if self.statuses.get(job_id) in ("completed", "cancelled"):
            return None
        self.statuses[job_id] = "processing"
        return {"id": job_id}

    async def job_status(self, job_id):
        return self.statuses.get(job_id)

    async def save_progress(self, job_id, percent, stage, emit):
        self.saved.append((percent, stage, emit))

    async def fail(self, job_id, code, message):
        self.statuses[job_id] = "failed"
        self.failed = (job_id, code)

    async def process(self, row, cancel, progress):
        self.processed.append(row["id"])
        await self.behaviour(self, row, cancel, progress)


async def publish(js, job_id: str) -> None:
    event = bus.make_event("job.queued", "ws_1", job_pb2.JobEvent(job=job_pb2.Job(id=job_id)))
    await js.publish(SUBJECT, event.SerializeToString(), stream=bus.stream_name(SERVICE))


async def test_progress_is_coalesced_and_cancel_is_seen_within_a_poll(nats_url):
    nc = await bus.connect(nats_url, "t")
    js = nc.jetstream()
    await bus.ensure_stream(js, SERVICE)
    statuses = {}
    seen_cancel = asyncio.Event()

    async def behaviour(worker, row, cancel, progress):
        for p in range(0, 101):
            await progress(float(p), "encoding")
        statuses[row["id"]] = "cancelled"  # a DELETE meanwhile
        await asyncio.wait_for(cancel.wait(), jobqueue.CANCEL_POLL_SECONDS * 3)
        seen_cancel.set()

    worker = FakeWorker(js, statuses, behaviour)
    runner = asyncio.create_task(worker.run())
    try:
        await publish(js, "job_1")
        await asyncio.wait_for(seen_cancel.wait(), 10)
        assert worker.processed == ["job_1"]
        assert len(worker.saved) <= 51 and worker.saved[-1][0] == 100.0
        assert sum(emit for _, _, emit in worker.saved) == 10  # one event per 10 % step
    finally:
        worker.stop()
        await asyncio.wait_for(runner, 5)
        await nc.close()


async def test_a_stopping_worker_naks_its_job_for_another_worker(nats_url):
    nc = await bus.connect(nats_url, "t")
    js = nc.jetstream()
    await bus.ensure_stream(js, SERVICE)
    statuses, started, finished = {}, asyncio.Event(), asyncio.Event()

    async def hang(worker, row, cancel, progress):
        started.set()
        await asyncio.sleep(60)

    async def finish(worker, row, cancel, progress):
        statuses[row["id"]] = "completed"
        finished.set()

    first = FakeWorker(js, statuses, hang)
    first_run = asyncio.create_task(first.run())
    await publish(js, "job_2")
    await asyncio.wait_for(started.wait(), 10)
    first_run.cancel()  # what the app does after the drain period
    await asyncio.gather(first_run, return_exceptions=True)
    second = FakeWorker(js, statuses, finish)
    second_run = asyncio.create_task(second.run())
    try:
        await asyncio.wait_for(finished.wait(), 2.5)  # well before ack_wait would redeliver
        assert second.processed == ["job_2"]
    finally:
        second.stop()
        await asyncio.wait_for(second_run, 5)
        await nc.close()


async def test_a_job_that_keeps_crashing_is_failed_after_bounded_redeliveries(nats_url, monkeypatch):
    monkeypatch.setattr(jobqueue, "MAX_DELIVERIES", 2)
    nc = await bus.connect(nats_url, "t")
    js = nc.jetstream()
    await bus.ensure_stream(js, SERVICE)
    statuses = {}

    async def crash(worker, row, cancel, progress):
        raise RuntimeError("a bug")

    worker = FakeWorker(js, statuses, crash)
    runner = asyncio.create_task(worker.run())
    try:
        await publish(js, "job_crash")
        for _ in range(100):
            if statuses.get("job_crash") == "failed":
                break
            await asyncio.sleep(0.1)
        assert worker.processed == ["job_crash", "job_crash"]
        assert worker.failed == ("job_crash", "internal_error")
    finally:
        worker.stop()
        await asyncio.wait_for(runner, 5)
        await nc.close()
