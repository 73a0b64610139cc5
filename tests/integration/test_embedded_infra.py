"""`make run` on a machine with neither PostgreSQL nor NATS: both start embedded from packages."""

import asyncio

import nats
import psycopg

from framelane_core.devmesh import Infra


def test_embedded_postgres_and_nats_start_and_work(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("NATS_URL", raising=False)
    infra = Infra(tmp_path, "framelane", force_embedded=True)
    try:
        infra.start()
        assert infra.pg_server is not None and infra.nats_proc is not None
        with psycopg.connect(infra.database_url) as conn:
            assert conn.execute("SELECT current_database()").fetchone()[0] == "framelane"

        async def jetstream_round_trip():
            nc = await nats.connect(infra.nats_url)
            js = nc.jetstream()
            await js.add_stream(name="T", subjects=["t.>"])
            ack = await js.publish("t.x", b"1")
            await nc.close()
            return ack.seq

        assert asyncio.run(jetstream_round_trip()) == 1
    finally:
        infra.stop()
    assert infra.nats_proc.poll() is not None
