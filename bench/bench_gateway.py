"""`make bench-gateway`: GET /v1/workspace through Envoy (HTTP → gRPC → PostgreSQL) against the
direct gRPC call of the same RPC, in the same run, at concurrency 1 and 32 on loopback.

Both sides are driven by the same kind of client (asyncio in one process: a minimal keep-alive
HTTP/1.1 client and grpc.aio), so the difference is what Envoy and transcoding add."""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import grpc
import psycopg

from framelane.usage.v1 import account_pb2, account_pb2_grpc
from framelane_core.config import SERVICE_PORTS
from framelane_core.devmesh import Infra, Mesh, free_port

ROOT = Path(__file__).resolve().parents[1]


async def http_worker(port: int, key: str, stop_at: float, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = (f"GET /v1/workspace HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {key}\r\n\r\n").encode()
    try:
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head.decode(errors="replace"))
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length")))
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
    finally:
        writer.close()


async def grpc_worker(stub, key: str, stop_at: float, latencies: list[float]) -> None:
    metadata = (("authorization", f"Bearer {key}"),)
    request = account_pb2.GetWorkspaceRequest()
    while time.perf_counter() < stop_at:
        t0 = time.perf_counter()
        await stub.GetWorkspace(request, metadata=metadata)
        latencies.append(time.perf_counter() - t0)


async def measure(kind: str, concurrency: int, seconds: float, mesh: Mesh, key: str) -> dict:
    latencies: list[float] = []
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{mesh.ports['usage'][0]}")
    stub = account_pb2_grpc.AccountServiceStub(channel)
    start = time.perf_counter()
    stop_at = start + seconds
    if kind == "envoy":
        workers = [http_worker(mesh.envoy_port, key, stop_at, latencies) for _ in range(concurrency)]
    else:
        workers = [grpc_worker(stub, key, stop_at, latencies) for _ in range(concurrency)]
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - start
    await channel.close()
    latencies.sort()
    return {
        "path": "HTTP via Envoy" if kind == "envoy" else "direct gRPC",
        "concurrency": concurrency,
        "requests": len(latencies),
        "req_per_s": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
    }


async def run_all(mesh: Mesh, key: str, seconds: float) -> list[dict]:
    await measure("envoy", 4, 1.0, mesh, key)  # warm the pools and caches
    await measure("grpc", 4, 1.0, mesh, key)
    results = []
    for concurrency in (1, 32):
        for kind in ("grpc", "envoy"):
            results.append(await measure(kind, concurrency, seconds, mesh, key))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0)
    ns = parser.parse_args()
    run_dir = ROOT / ".run" / "bench-gateway"
    dbname = f"fl_bench_{uuid.uuid4().hex[:8]}"
    infra = Infra(run_dir, dbname, own_nats=True)
    infra.start()
    ports = {svc: (free_port(), free_port()) for svc in SERVICE_PORTS}
    mesh = Mesh(run_dir, infra.database_url, infra.nats_url, envoy_port=free_port(), admin_port=free_port(), ports=ports,
                extra_env={"FRAMELANE_LOG_LEVEL": "WARNING"})
    try:
        mesh.start(timeout=120)
        key = mesh.dev_key(run_dir / "dev-api-key")
        # Enterprise: its per-key "default" rate limit (600,000/min) stays above what any loopback run
        # sends, so the benchmark measures the limiter's fast path instead of its 429s.
        with psycopg.connect(infra.database_url, autocommit=True) as conn:
            conn.execute("UPDATE usage.workspaces SET plan = 'enterprise'")
        results = asyncio.run(run_all(mesh, key, ns.seconds))
    finally:
        mesh.stop()
        infra.stop()
        admin = psycopg.conninfo.make_conninfo(infra.database_url, dbname="postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    print(f"\nGET /v1/workspace on {os.cpu_count()} cores, {ns.seconds:.0f} s per row\n")
    print("| path | concurrency | req/s | p50 ms | p99 ms |\n|---|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['path']} | {r['concurrency']} | {r['req_per_s']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} |")
    by = {(r["path"], r["concurrency"]): r for r in results}
    for c in (1, 32):
        envoy, direct = by[("HTTP via Envoy", c)], by[("direct gRPC", c)]
        print(f"\nconcurrency {c}: Envoy adds {envoy['p50_ms'] - direct['p50_ms']:+.2f} ms p50; "
              f"throughput ratio Envoy/direct = {envoy['req_per_s'] / direct['req_per_s']:.2f}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "gateway.json").write_text(json.dumps(results, indent=2))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
