"""NATS JetStream: events written through a transactional outbox, published by a relay, and
applied by idempotent consumers.

Subjects are `framelane.<service>.v1.<event type>`, one stream per producing service, and the
event id is the JetStream `Nats-Msg-Id`, so a relay that publishes twice is de-duplicated."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import nats
from framelane.api.v1 import events_pb2
from google.protobuf import any_pb2, timestamp_pb2
from google.protobuf.message import Message
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    RetentionPolicy,
    StreamConfig,
)
from nats.js.errors import NotFoundError
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from framelane_core import db, metrics
from framelane_core.ids import new_id

log = logging.getLogger(__name__)
DUPLICATE_WINDOW_SECONDS = 120.0


def stream_name(service: str) -> str:
    return f"FRAMELANE_{service.upper()}"


def subject(service: str, event_type: str) -> str:
    return f"framelane.{service}.v1.{event_type}"


async def connect(url: str, name: str) -> nats.NATS:
    """A NATS connection that reconnects forever (a NATS restart must not kill a service)."""
    return await nats.connect(
        url, name=name, max_reconnect_attempts=-1, reconnect_time_wait=0.5, connect_timeout=5,
        allow_reconnect=True,
    )


async def ensure_stream(js, service: str, retention: RetentionPolicy = RetentionPolicy.LIMITS) -> None:
    """Creates (or updates) the service's event stream."""
    config = StreamConfig(
        name=stream_name(service),
        subjects=[f"framelane.{service}.v1.>"],
        retention=retention,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        max_age=7 * 24 * 3600,
    )
    try:
        await js.stream_info(config.name)
        await js.update_stream(config)
    except NotFoundError:
        await js.add_stream(config)


def make_event(event_type: str, workspace_id: str, payload: Message) -> events_pb2.Event:
    """A new event with a fresh id, stamped now."""
    packed = any_pb2.Any()
    packed.Pack(payload)
    created = timestamp_pb2.Timestamp()
    created.GetCurrentTime()
    return events_pb2.Event(
        id=new_id("evt"), type=event_type, created_at=created, workspace_id=workspace_id, payload=packed
    )


async def write_outbox(conn: AsyncConnection, service: str, event: events_pb2.Event) -> None:
    """Adds an event to the outbox inside the caller's transaction; the relay publishes it after commit."""
    await conn.execute(
        "INSERT INTO outbox (event_id, subject, payload) VALUES (%s, %s, %s)",
        (event.id, subject(service, event.type), event.SerializeToString()),
    )
    await conn.execute("SELECT pg_notify(current_schema() || '_outbox', '')")


class OutboxRelay:
    """Publishes outbox rows to JetStream in seq order and marks them published.

    Several replicas may run: rows are claimed with FOR UPDATE SKIP LOCKED. A row is marked only
    after JetStream acknowledged it, so a crash between the two publishes it again (de-duplicated
    by Nats-Msg-Id)."""

    def __init__(self, pool: AsyncConnectionPool, js, service: str, dsn: str, batch: int = 200,
                 schema: str | None = None):
        self.pool, self.js, self.service, self.dsn, self.batch = pool, js, service, dsn, batch
        self.channel = f"{schema or service}_outbox"  # write_outbox notifies its schema's channel
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        listener = asyncio.create_task(self._listen())
        try:
            while not self._stopping.is_set():
                try:
                    published = await self.relay_once()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.warning("outbox relay failed; retrying", exc_info=True)
                    published = 0
                    await asyncio.sleep(0.5)
                if published < self.batch:
                    self._wake.clear()
                    try:
                        await asyncio.wait_for(self._wake.wait(), timeout=1.0)
                    except TimeoutError:
                        pass
        finally:
            listener.cancel()

    async def relay_once(self) -> int:
        """Publishes one batch; returns how many rows it published."""
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT seq, event_id, subject, payload, created_at FROM outbox WHERE published_at IS NULL"
                " ORDER BY seq LIMIT %s FOR UPDATE SKIP LOCKED",
                (self.batch,),
            )
            rows = await cur.fetchall()
            if not rows:
                metrics.OUTBOX_LAG.labels(self.service).set(0)
                return 0
            acks = [
                self.js.publish(r["subject"], bytes(r["payload"]), headers={"Nats-Msg-Id": r["event_id"]})
                for r in rows
            ]
            await asyncio.gather(*acks)
            await conn.execute(
                "UPDATE outbox SET published_at = now() WHERE seq = ANY(%s)", ([r["seq"] for r in rows],)
            )
            metrics.EVENTS_PUBLISHED.labels(self.service).inc(len(rows))
            return len(rows)

    async def _listen(self) -> None:
        """Wakes the relay on NOTIFY so events go out in milliseconds, not at the next poll."""
        await db.wake_on_notify(self.dsn, self.channel, self._wake, self._stopping)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()


async def consume(js, source_service: str, subject: str, durable: str, config: ConsumerConfig, batch: int,
                  handle: Callable[[list], Awaitable[None]], stopping: asyncio.Event) -> None:
    """Feeds batches of messages of a durable pull consumer to `handle` until `stopping` is set.

    Creates the source stream if the producer has not yet (both sides create the same one),
    re-subscribes after any error, and unsubscribes when it ends."""
    sub = None
    try:
        while not stopping.is_set():
            try:
                if sub is None:
                    await ensure_stream(js, source_service)
                    sub = await js.pull_subscribe(subject, durable=durable, stream=stream_name(source_service),
                                                  config=config)
                try:
                    msgs = await sub.fetch(batch, timeout=1.0)
                except TimeoutError:
                    continue
                await handle(msgs)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("consumer %s failed; retrying", durable, exc_info=True)
                sub = None
                await asyncio.sleep(1.0)
    finally:
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()


Handler = Callable[[AsyncConnection, events_pb2.Event], Awaitable[None]]


class IdempotentConsumer:
    """A durable JetStream pull consumer that applies each event at most once.

    The handler runs inside a transaction that first records (consumer, event id) in
    processed_events; a redelivery or replay of the same id is acked without running it again.
    The message is acked only after that transaction committed."""

    def __init__(self, pool: AsyncConnectionPool, js, name: str, source_service: str,
                 filter_subject: str, handler: Handler, batch: int = 50):
        self.pool, self.js, self.name = pool, js, name
        self.source_service = source_service
        self.stream = stream_name(source_service)
        self.filter_subject, self.handler, self.batch = filter_subject, handler, batch
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        config = ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL, ack_wait=30,
                                max_deliver=-1)

        await consume(self.js, self.source_service, self.filter_subject, self.name, config, self.batch,
                      self.apply_batch, self._stopping)

    async def apply_batch(self, msgs: list) -> None:
        """Applies a fetched batch in one transaction (one commit for many events), then acks it.

        If any effect fails the batch rolls back and each event is applied on its own, so one bad
        event cannot hold the others back (it stays un-acked and is redelivered)."""
        try:
            async with self.pool.connection() as conn, conn.transaction():
                for msg in msgs:
                    await self._apply_in(conn, events_pb2.Event.FromString(msg.data))
        except Exception:
            if len(msgs) == 1:
                raise
            log.warning("consumer %s: batch failed, applying one by one", self.name, exc_info=True)
            for msg in msgs:
                await self.apply(msg.data)
                await msg.ack()
            return
        await asyncio.gather(*(msg.ack() for msg in msgs))

    async def apply(self, data: bytes) -> bool:
        """Applies one serialized event; returns False when it had been applied before."""
        async with self.pool.connection() as conn, conn.transaction():
            return await self._apply_in(conn, events_pb2.Event.FromString(data))

    async def _apply_in(self, conn: AsyncConnection, event: events_pb2.Event) -> bool:
        cur = await conn.execute(
            "INSERT INTO processed_events (consumer, event_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (self.name, event.id),
        )
        if cur.rowcount == 0:
            return False
        await self.handler(conn, event)
        return True

    def stop(self) -> None:
        self._stopping.set()
