"""The work-queue loop every job worker shares (renders, tasks).

A durable JetStream pull consumer on a service's `*.queued` subject is shared by every worker
process, so each queued event goes to one of them. While a job runs the message is heart-beaten
(`in_progress`) so JetStream does not redeliver a long job; it is acked only after the job's
outcome is stored, so a worker that dies mid-job leaves it un-acked and JetStream redelivers it;
a worker shutting down mid-job naks it so another worker takes it at once.

Subclasses say how to claim a job (conditional UPDATE, emitting `processing` once), read its
status (the cancel watcher), save progress, and process it:

    class MyWorker(JobWorker):
        stream, subject, durable = "tasks", "framelane.tasks.v1.task.queued", "task-workers"
        async def claim(self, job_id): ...           # row, or None when terminal (redelivery)
        async def job_status(self, job_id): ...      # "processing" while it should go on
        async def save_progress(self, job_id, percent, stage, emit): ...
        async def process(self, row, cancel, progress): ...
        async def queue_stats(self): ...             # (queued jobs, oldest queued age in s), optional

Metrics (framelane_core.metrics, labelled with the subclass's `kind`): every job that reaches a
stored outcome counts in framelane_jobs_total and framelane_job_duration_seconds (the outcome is
the status the job has after `process`); every QUEUE_STATS_SECONDS the worker reads the queue's
depth and oldest age from its schema, so the gauges are right with every worker busy or idle.
"""

import asyncio
import logging
import os
import socket
import time

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from framelane.api.v1 import events_pb2, job_pb2
from framelane_core import metrics
from framelane_core.bus import consume
from framelane_core.context import job_id_var

log = logging.getLogger(__name__)
CANCEL_POLL_SECONDS = 0.5
# Deliveries of a job that crash unexpectedly before it is failed with internal_error.
MAX_DELIVERIES = 5
QUEUE_STATS_SECONDS = 5.0


class JobWorker:
    """Background runner of one worker process: one job at a time."""

    stream = ""  # the publishing service, whose stream holds the queued events
    subject = ""  # its `*.queued` subject
    durable = ""  # the consumer name shared by every worker of the kind
    kind = ""  # the job kind in metrics (render, task); "" records none

    def __init__(self, pool, js, ack_wait: float):
        self.pool, self.js, self.ack_wait = pool, js, ack_wait
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self._stopping = asyncio.Event()
        if self.kind:
            metrics.init_job_metrics(self.kind)

    # -- to implement -----------------------------------------------------------------------
    async def claim(self, job_id: str) -> dict | None:
        """Takes the job (queued/processing → processing); None when there is nothing to do."""
        raise NotImplementedError

    async def job_status(self, job_id: str) -> str | None:
        raise NotImplementedError

    async def save_progress(self, job_id: str, percent: float, stage: str, emit: bool) -> None:
        """Stores progress on the row; emits a progress event when `emit`."""
        raise NotImplementedError

    async def fail(self, job_id: str, code: str, message: str) -> None:
        """processing → failed with {code, message}, and its event (once)."""
        raise NotImplementedError

    async def process(self, row: dict, cancel: asyncio.Event, progress: "Progress") -> None:
        """Runs the claimed job to its outcome (stored by the subclass); stops soon after `cancel`."""
        raise NotImplementedError

    async def queue_stats(self) -> tuple[int, float] | None:
        """(jobs in queued status, seconds since the oldest of them was queued, 0 when none), read
        from the worker's own schema; None when the worker does not report them."""
        return None

    # -- the loop ---------------------------------------------------------------------------
    async def run(self) -> None:
        config = ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL,
                                ack_wait=self.ack_wait, max_deliver=-1)
        stats = asyncio.create_task(self._report_queue())
        try:
            await consume(self.js, self.stream, self.subject, self.durable, config, 1, self.handle_batch,
                          self._stopping)
        finally:
            stats.cancel()
            await asyncio.gather(stats, return_exceptions=True)

    async def _report_queue(self) -> None:
        """Sets the queue gauges every QUEUE_STATS_SECONDS until the worker stops."""
        while not self._stopping.is_set():
            try:
                stats = await self.queue_stats()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("reading queue stats failed", exc_info=True)
            else:
                if stats is None or not self.kind:
                    return
                queued, oldest_age = stats
                metrics.JOBS_QUEUED.labels(self.kind).set(queued)
                metrics.JOBS_OLDEST_QUEUED_AGE.labels(self.kind).set(max(oldest_age, 0.0))
            try:
                await asyncio.wait_for(self._stopping.wait(), QUEUE_STATS_SECONDS)
            except TimeoutError:
                pass

    async def handle_batch(self, msgs: list) -> None:
        for msg in msgs:
            await self.handle(msg)

    async def handle(self, msg) -> None:
        """Processes one queued event, heart-beating so JetStream does not redeliver a long job."""
        event = events_pb2.Event.FromString(msg.data)
        payload = job_pb2.JobEvent()
        event.payload.Unpack(payload)

        async def heartbeat():
            while True:
                await asyncio.sleep(self.ack_wait / 3)
                await msg.in_progress()

        beat = asyncio.create_task(heartbeat())
        token = job_id_var.set(payload.job.id)
        try:
            await self.execute(payload.job.id)
        except asyncio.CancelledError:
            await msg.nak()  # shutting down mid-job: hand it to another worker now
            raise
        except Exception:
            # Unexpected (a bug, or the database gone): retry with backoff, but a job that keeps
            # crashing must still reach a terminal state.
            attempt = msg.metadata.num_delivered
            log.exception("job crashed (delivery %d of %d)", attempt, MAX_DELIVERIES)
            if attempt < MAX_DELIVERIES:
                await msg.nak(delay=min(2.0**attempt, 60.0))
                return
            await self.fail(payload.job.id, "internal_error", "The job failed unexpectedly.")
        finally:
            beat.cancel()
            job_id_var.reset(token)
        await msg.ack()

    async def execute(self, job_id: str) -> None:
        """Claims the job and processes it with a cancel watcher and coalesced progress."""
        row = await self.claim(job_id)
        if row is None:
            return
        started = time.monotonic()
        cancel = asyncio.Event()
        watcher = asyncio.create_task(self._watch_cancel(job_id, cancel))
        try:
            await self.process(row, cancel, Progress(self, job_id))
        finally:
            watcher.cancel()
        await self._record_outcome(job_id, time.monotonic() - started)

    async def _record_outcome(self, job_id: str, seconds: float) -> None:
        """Counts the job under the outcome `process` stored (none while it is still processing)."""
        if not self.kind:
            return
        try:
            status = await self.job_status(job_id)
        except Exception:
            log.warning("reading the job's outcome for metrics failed", exc_info=True)
            return
        if status in metrics.JOB_OUTCOMES:
            metrics.JOBS.labels(self.kind, status).inc()
            metrics.JOB_SECONDS.labels(self.kind, status).observe(seconds)

    async def _watch_cancel(self, job_id: str, cancel: asyncio.Event) -> None:
        """Sets `cancel` within CANCEL_POLL_SECONDS of the job leaving `processing` (a DELETE)."""
        while True:
            await asyncio.sleep(CANCEL_POLL_SECONDS)
            if await self.job_status(job_id) != "processing":
                cancel.set()
                return

    def stop(self) -> None:
        self._stopping.set()


class Progress:
    """Progress callback: saves to the row at most every 2 % within a stage (always on a stage
    change) and asks for a progress event at most once per 10 % step."""

    def __init__(self, worker: JobWorker, job_id: str):
        self.worker, self.job_id = worker, job_id
        self.saved = (-100.0, "")
        self.event_step = 0

    async def __call__(self, percent: float, stage: str) -> None:
        percent = round(min(max(percent, 0.0), 100.0), 1)
        if stage == self.saved[1] and percent - self.saved[0] < 2.0:
            return
        self.saved = (percent, stage)
        step = int(percent // 10)
        emit = step > self.event_step
        if emit:
            self.event_step = step
        await self.worker.save_progress(self.job_id, percent, stage, emit)
