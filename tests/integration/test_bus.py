"""Outbox relay and idempotent consumer against real PostgreSQL and NATS JetStream."""

import asyncio

import psycopg

from framelane.usage.v1 import events_pb2
from framelane_core import bus, db


async def _setup(database_url, nats_url):
    await db.migrate(database_url, "usage", "framelane_usage")
    pool = await db.open_pool(database_url, "usage")
    nc = await bus.connect(nats_url, "test")
    js = nc.jetstream()
    await bus.ensure_stream(js, "usage")
    return pool, nc, js


async def test_migrations_apply_once(database_url):
    first = await db.migrate(database_url, "usage", "framelane_usage")
    assert first[:4] == ["core/0001_outbox.sql", "core/0002_idempotency.sql", "core/0003_idempotent_responses.sql",
                         "0001_accounts.sql"]
    assert first == sorted(first[:3]) + sorted(first[3:])  # core first, then the service's own, in order
    assert await db.migrate(database_url, "usage", "framelane_usage") == []


async def test_outbox_events_reach_jetstream_once_even_when_relayed_twice(database_url, nats_url):
    pool, nc, js = await _setup(database_url, nats_url)
    try:
        event = bus.make_event("workspace.updated", "ws_1", events_pb2.WorkspaceUpdated(name="n"))
        async with pool.connection() as conn, conn.transaction():
            await bus.write_outbox(conn, "usage", event)
        relay = bus.OutboxRelay(pool, js, "usage", db.schema_dsn(database_url, "usage"))
        assert await relay.relay_once() == 1
        assert await relay.relay_once() == 0
        # A crash after publishing but before marking: the row is published again, JetStream drops it.
        async with pool.connection() as conn:
            await conn.execute("UPDATE outbox SET published_at = NULL")
        assert await relay.relay_once() == 1
        info = await js.stream_info("FRAMELANE_USAGE")
        assert info.state.messages == 1
        sub = await js.pull_subscribe("framelane.usage.v1.>", durable="check", stream="FRAMELANE_USAGE")
        (msg,) = await sub.fetch(1, timeout=2)
        assert msg.subject == "framelane.usage.v1.workspace.updated"
        got = bus.events_pb2.Event.FromString(msg.data)
        assert got.id == event.id and got.workspace_id == "ws_1"
    finally:
        await nc.close()
        await pool.close()


async def test_rolled_back_transaction_publishes_nothing(database_url, nats_url):
    pool, nc, js = await _setup(database_url, nats_url)
    try:
        event = bus.make_event("workspace.updated", "ws_1", events_pb2.WorkspaceUpdated(name="n"))
        try:
            async with pool.connection() as conn, conn.transaction():
                await bus.write_outbox(conn, "usage", event)
                raise RuntimeError("the change failed")
        except RuntimeError:
            pass
        relay = bus.OutboxRelay(pool, js, "usage", db.schema_dsn(database_url, "usage"))
        assert await relay.relay_once() == 0
    finally:
        await nc.close()
        await pool.close()


async def test_running_relay_publishes_within_milliseconds_of_commit(database_url, nats_url):
    pool, nc, js = await _setup(database_url, nats_url)
    relay = bus.OutboxRelay(pool, js, "usage", db.schema_dsn(database_url, "usage"))
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.3)  # the relay is listening
        sub = await js.subscribe("framelane.usage.v1.>", stream="FRAMELANE_USAGE")
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with pool.connection() as conn, conn.transaction():
            await bus.write_outbox(conn, "usage", bus.make_event("workspace.deleted", "ws_2", events_pb2.WorkspaceDeleted()))
        await sub.next_msg(timeout=2)
        assert loop.time() - started < 0.5
    finally:
        relay.stop()
        task.cancel()
        await nc.close()
        await pool.close()


async def test_consumer_applies_a_replayed_event_once(database_url, nats_url):
    pool, nc, js = await _setup(database_url, nats_url)
    applied = []

    async def handler(conn, event):
        applied.append(event.id)
        await conn.execute("SELECT 1")

    consumer = bus.IdempotentConsumer(pool, js, "meter", "usage", "framelane.usage.v1.>", handler)
    try:
        event = bus.make_event("workspace.updated", "ws_1", events_pb2.WorkspaceUpdated(name="n"))
        assert await consumer.apply(event.SerializeToString()) is True
        assert await consumer.apply(event.SerializeToString()) is False
        assert applied == [event.id]

        async def failing(conn, ev):
            raise RuntimeError("effect failed")

        other = bus.make_event("workspace.updated", "ws_1", events_pb2.WorkspaceUpdated(name="m"))
        consumer.handler = failing
        try:
            await consumer.apply(other.SerializeToString())
        except RuntimeError:
            pass
        consumer.handler = handler
        # The failed effect rolled back its processed_events row, so a redelivery applies it.
        assert await consumer.apply(other.SerializeToString()) is True
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            cur = await conn.execute("SELECT count(*) FROM usage.processed_events")
            assert (await cur.fetchone())[0] == 2
    finally:
        await nc.close()
        await pool.close()


async def test_consumer_loop_receives_published_events(database_url, nats_url):
    pool, nc, js = await _setup(database_url, nats_url)
    seen = asyncio.Queue()

    async def handler(conn, event):
        await seen.put(event.type)

    consumer = bus.IdempotentConsumer(pool, js, "watch", "usage", "framelane.usage.v1.>", handler)
    task = asyncio.create_task(consumer.run())
    try:
        event = bus.make_event("workspace.deleted", "ws_3", events_pb2.WorkspaceDeleted())
        for _ in range(2):  # the second publish is de-duplicated by JetStream
            await js.publish("framelane.usage.v1.workspace.deleted", event.SerializeToString(),
                             headers={"Nats-Msg-Id": event.id})
        assert await asyncio.wait_for(seen.get(), 5) == "workspace.deleted"
        await asyncio.sleep(0.5)
        assert seen.empty()
    finally:
        consumer.stop()
        task.cancel()
        await nc.close()
        await pool.close()
