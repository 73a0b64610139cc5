"""`make bench-webhooks`: webhook deliveries per second and event-to-delivery latency, with 1 and
100 endpoints, from lifecycle events published to JetStream (as the renderer publishes them) to a
receiver on 127.0.0.1 that verifies both signatures of every request.

The webhooks service runs as its own process (`python -m framelane_webhooks`); the producer and
the receiver share this one. Two runs per endpoint count: a burst (every event published at
once: the most deliveries per second) and a paced run at a fixed offered rate (the latency a
delivery sees when the service keeps up)."""

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the receiver and verifier the tests use

from framelane.api.v1 import job_pb2  # noqa: E402
from framelane_core import bus, db  # noqa: E402
from framelane_core.context import Principal  # noqa: E402
from framelane_core.devmesh import Infra, _port_open, free_port  # noqa: E402
from framelane_core.fetch import Allow  # noqa: E402
from framelane_webhooks.service import Webhooks  # noqa: E402
from tests.integration.webhooks.receiver import Receiver  # noqa: E402
from tests.unit.webhooks.verifier import verify_framelane, verify_standard  # noqa: E402


class Bench:
    def __init__(self, receiver: Receiver, js, secrets: dict[str, str]):
        self.receiver, self.js, self.secrets = receiver, js, secrets
        self.published: dict[str, float] = {}  # event id -> time.time() at publish
        self.latencies: list[float] = []
        self.bad = 0
        self.count = 0
        self.done = asyncio.Event()
        self.expected = 0
        receiver.respond = self.respond

    def respond(self, received):
        secret = self.secrets[received.path.split("/")[1]]
        if not (verify_framelane(secret, received.headers, received.body)
                and verify_standard(secret, received.headers, received.body)):
            self.bad += 1
            return 401, {}, b""
        sent = self.published.get(received.headers["webhook-id"])
        if sent is not None:
            self.latencies.append(received.at - sent)
            self.count += 1
            if self.count >= self.expected:
                self.done.set()
        return 204, {}, b""

    async def publish(self, workspace_id: str, n: int) -> None:
        job = job_pb2.Job(id=f"render_{n}", kind="render", workspace_id=workspace_id, status="completed",
                          progress_percent=100)
        job.metadata.update({"bench": True, "n": n})
        event = bus.make_event("render.completed", workspace_id, job_pb2.JobEvent(job=job))
        self.published[event.id] = time.time()
        await self.js.publish(bus.subject("renderer", event.type), event.SerializeToString(),
                              headers={"Nats-Msg-Id": event.id})

    async def run(self, workspace_id: str, endpoints: int, deliveries: int, rate: float | None) -> dict:
        """Publishes deliveries/endpoints events (all at once, or paced at `rate` deliveries/s)."""
        self.published.clear()
        self.latencies.clear()
        self.count, self.expected = 0, deliveries
        self.done.clear()
        events = deliveries // endpoints
        start = time.time()
        if rate is None:
            for i in range(0, events, 200):
                await asyncio.gather(*(self.publish(workspace_id, n) for n in range(i, min(i + 200, events))))
        else:
            interval = endpoints / rate
            for n in range(events):
                await asyncio.sleep(max(0.0, start + n * interval - time.time()))
                await self.publish(workspace_id, n)
        await asyncio.wait_for(self.done.wait(), 120)
        elapsed = max(r.at for r in self.receiver.received[-deliveries:]) - start
        self.receiver.received.clear()
        ordered = sorted(self.latencies)
        return {
            "endpoints": endpoints, "mode": "burst" if rate is None else f"paced {rate:.0f}/s",
            "deliveries": deliveries, "deliveries_per_s": deliveries / elapsed,
            "p50_ms": 1000 * statistics.median(ordered), "p99_ms": 1000 * ordered[int(0.99 * (len(ordered) - 1))],
            "bad_signatures": self.bad,
        }


async def bench(database_url: str, nats_url: str, run_dir: Path, deliveries: int, rate: float) -> list[dict]:
    receiver = await Receiver().start()
    await db.migrate(database_url, "webhooks", "framelane_webhooks")
    pool = await db.open_pool(database_url, "webhooks", min_size=1, max_size=2)
    env = {**os.environ, "DATABASE_URL": database_url, "NATS_URL": nats_url, "FRAMELANE_LOG_LEVEL": "WARNING",
           "FRAMELANE_FETCH_ALLOW": f"127.0.0.1:{receiver.port}", "FRAMELANE_WEBHOOKS_GRPC_PORT": str(free_port()),
           "FRAMELANE_WEBHOOKS_METRICS_PORT": str(free_port())}
    nc = await bus.connect(nats_url, "bench-producer")
    js = nc.jetstream()
    await bus.ensure_stream(js, "renderer")
    secrets, workspaces = {}, {}
    webhooks = Webhooks(pool, Allow.parse(env["FRAMELANE_FETCH_ALLOW"]))
    for count in (1, 100):
        ws = f"ws_bench{count}_{uuid.uuid4().hex[:6]}"
        workspaces[count] = ws
        for i in range(count):
            _, secret = await webhooks.create(Principal(ws, "key_bench", "pro"), receiver.url(f"/{ws}/{i}"), [], "", "")
            secrets[ws] = secret
    await pool.close()
    log = open(run_dir / "webhooks.log", "ab")  # noqa: SIM115 - lives as long as the process
    service = subprocess.Popen([sys.executable, "-m", "framelane_webhooks"], env=env, stdout=log, stderr=log)
    runner = Bench(receiver, js, secrets)
    try:
        await runner.run(workspaces[1], 1, 200, None)  # warm the connections and the JetStream consumer
        results = []
        for count in (1, 100):
            results.append(await runner.run(workspaces[count], count, deliveries, None))
            results.append(await runner.run(workspaces[count], count, deliveries, rate))
        return results
    finally:
        service.terminate()
        service.wait(20)
        await nc.close()
        await receiver.stop()


def start_nats(run_dir: Path) -> tuple[subprocess.Popen, str]:
    """A nats-server of our own: on a shared one, another mesh's webhooks service would share the
    durable consumer and take half of the events."""
    port = free_port()
    binary = shutil.which("nats-server", path=str(Path(sys.executable).parent)) or "nats-server"
    store = run_dir / "nats"
    shutil.rmtree(store, ignore_errors=True)
    proc = subprocess.Popen([binary, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not _port_open("127.0.0.1", port):
        if time.monotonic() > deadline:
            raise RuntimeError("nats-server did not start")
        time.sleep(0.05)
    return proc, f"nats://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deliveries", type=int, default=5000, help="deliveries per row")
    parser.add_argument("--rate", type=float, default=500.0, help="offered deliveries/s of the paced rows")
    ns = parser.parse_args()
    run_dir = ROOT / ".run" / "bench-webhooks"
    run_dir.mkdir(parents=True, exist_ok=True)
    dbname = f"fl_bench_{uuid.uuid4().hex[:8]}"
    nats, nats_url = start_nats(run_dir)
    infra = Infra(run_dir, dbname)
    infra.start()
    try:
        results = asyncio.run(bench(infra.database_url, nats_url, run_dir, ns.deliveries, ns.rate))
    finally:
        infra.stop()
        nats.terminate()
        nats.wait(10)
        admin = psycopg.conninfo.make_conninfo(infra.database_url, dbname="postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    print(f"\nWebhook deliveries on {os.cpu_count()} cores, {ns.deliveries} deliveries per row, "
          "every signature verified by the receiver\n")
    print("| endpoints | publishing | deliveries/s | p50 ms | p99 ms | bad signatures |\n|---:|---|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['endpoints']} | {r['mode']} | {r['deliveries_per_s']:.0f} | {r['p50_ms']:.1f} | "
              f"{r['p99_ms']:.1f} | {r['bad_signatures']} |")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "webhooks.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
