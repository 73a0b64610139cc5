"""`make bench-load`: a mixed client load on a fresh mesh at a fixed offered rate for 2 minutes
(BENCH_LOAD_SECONDS or --seconds to change it): small renders and super-resolution tasks created,
long-polled with ?wait=, listed and downloaded (the 302 and the signed blob it points to), as a
client of the REST face would. Reports per operation the throughput, error rate and latency
percentiles, and per job kind how long jobs took from queued to completed.

Open loop: each operation is started on its own fixed schedule whether or not earlier ones have
answered, so a slow mesh shows up as latency and errors rather than as a lower offered rate."""

import argparse
import asyncio
import functools
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import psycopg

from framelane_core.config import SERVICE_PORTS
from framelane_core.devmesh import Infra, Mesh, free_port

ROOT = Path(__file__).resolve().parents[1]
TERMINAL = ("completed", "failed", "cancelled")
RENDER = {"width": 64, "height": 64, "frame_rate": 10, "duration": 1, "output_format": "mp4",
          "elements": [{"type": "text", "text": "load", "duration": 1, "font_size": 16}]}
# What an operation answers when there was nothing to do yet (no finished job to download).
SKIP = "skip"
# Offered requests per second of each operation (times --scale).
RATES = {"create render": 0.5, "create task": 0.25, "poll (?wait=)": 2.0, "list": 2.0, "download": 1.0}


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class Load:
    """The client side: the operations, what they learned about jobs, and their measurements."""

    def __init__(self, http: httpx.AsyncClient, media: str, wait: float, rates: dict[str, float]):
        self.http, self.media, self.wait, self.rates = http, media, wait, rates
        self.live: dict[str, str] = {}  # job id -> "renders" | "tasks", not seen terminal yet
        self.done: list[tuple[str, str]] = []  # (collection, id) of completed jobs
        self.latencies: dict[str, list[float]] = {name: [] for name in RATES}
        self.errors: dict[str, Counter] = {name: Counter() for name in RATES}
        self.skipped: Counter = Counter()

    @staticmethod
    def problem(resp: httpx.Response, expected: int) -> str | None:
        if resp.status_code == expected:
            return None
        try:
            return f"{resp.status_code} {resp.json()['error']['code']}"
        except (ValueError, KeyError, TypeError):
            return str(resp.status_code)

    # Each operation answers None when it went as a client expects, else what went wrong.

    async def create_render(self) -> str | None:
        resp = await self.http.post("/v1/renders", json=RENDER)
        if resp.status_code == 202:
            self.live[resp.json()["id"]] = "renders"
        return self.problem(resp, 202)

    async def create_task(self) -> str | None:
        resp = await self.http.post("/v1/tasks/super-resolution", json={"source_url": f"{self.media}/still.png",
                                                                         "scale": 2})
        if resp.status_code == 202:
            self.live[resp.json()["id"]] = "tasks"
        return self.problem(resp, 202)

    async def poll(self) -> str | None:
        if self.live:
            job_id = random.choice(list(self.live))
            collection = self.live[job_id]
        elif self.done:
            collection, job_id = random.choice(self.done)
        else:
            return SKIP
        resp = await self.http.get(f"/v1/{collection}/{job_id}", params={"wait": self.wait})
        if resp.status_code == 200 and resp.json()["status"] in TERMINAL and self.live.pop(job_id, None):
            if resp.json()["status"] == "completed":
                self.done.append((collection, job_id))
        return self.problem(resp, 200)

    async def list(self) -> str | None:
        resp = await self.http.get(f"/v1/{random.choice(('renders', 'tasks'))}", params={"limit": 20})
        return self.problem(resp, 200)

    async def download(self) -> str | None:
        if not self.done:
            return SKIP
        collection, job_id = random.choice(self.done)
        resp = await self.http.get(f"/v1/{collection}/{job_id}/download")
        if resp.status_code != 302:
            return self.problem(resp, 302)
        blob = await self.http.get(resp.headers["location"])
        return self.problem(blob, 200) or (None if blob.content else "empty body")

    async def timed(self, name: str, operation) -> None:
        started = time.perf_counter()
        try:
            error = await operation()
        except httpx.HTTPError as err:
            error = type(err).__name__
        if error == SKIP:
            self.skipped[name] += 1
            return
        self.latencies[name].append(time.perf_counter() - started)
        if error is not None:
            self.errors[name][error] += 1

    async def drive(self, name: str, operation, rate: float, stop_at: float) -> None:
        """Starts `operation` every 1/rate seconds until stop_at, never waiting for one to answer."""
        running: set[asyncio.Task] = set()
        next_at = time.perf_counter()
        while next_at < stop_at:
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            task = asyncio.create_task(self.timed(name, operation))
            running.add(task)
            task.add_done_callback(running.discard)
            next_at += 1 / rate
        await asyncio.gather(*running)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def job_times(http: httpx.AsyncClient, collection: str) -> tuple[Counter, list[float]]:
    """(jobs by status, queued-to-completed seconds of the completed ones), from the list pages."""
    statuses, seconds, cursor = Counter(), [], None
    while True:
        page = (await http.get(f"/v1/{collection}", params={"limit": 100, **({"cursor": cursor} if cursor else {})})).json()
        for job in page["data"]:
            statuses[job["status"]] += 1
            if job["status"] == "completed":
                created, completed = (datetime.fromisoformat(job[k].replace("Z", "+00:00")) for k in
                                      ("created_at", "completed_at"))
                seconds.append((completed - created).total_seconds())
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return statuses, seconds


async def run(mesh: Mesh, key: str, media: str, seconds: float, wait: float, drain: float, scale: float) -> dict:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    async with httpx.AsyncClient(base_url=mesh.base_url, timeout=60, limits=limits,
                                 headers={"Authorization": f"Bearer {key}"}) as http:
        load = Load(http, media, wait, {name: rate * scale for name, rate in RATES.items()})
        operations = {"create render": load.create_render, "create task": load.create_task,
                      "poll (?wait=)": load.poll, "list": load.list, "download": load.download}
        started = time.perf_counter()
        stop_at = started + seconds
        await asyncio.gather(*(load.drive(name, op, load.rates[name], stop_at) for name, op in operations.items()))
        elapsed = time.perf_counter() - started
        deadline = time.perf_counter() + drain  # let the last jobs finish before counting them
        while load.live and time.perf_counter() < deadline:
            await asyncio.gather(*(load.poll() for _ in range(min(len(load.live), 8))))
        jobs = {c: await job_times(http, c) for c in ("renders", "tasks")}
    rows = []
    for name in RATES:
        lat, errors = load.latencies[name], sum(load.errors[name].values())
        rows.append({
            "operation": name, "offered_per_s": load.rates[name], "requests": len(lat), "errors": errors,
            "error_rate": errors / len(lat) if lat else 0.0, "throughput_per_s": (len(lat) - errors) / elapsed,
            "p50_ms": 1000 * percentile(lat, 0.50), "p95_ms": 1000 * percentile(lat, 0.95),
            "p99_ms": 1000 * percentile(lat, 0.99), "max_ms": 1000 * max(lat, default=float("nan")),
            "error_codes": dict(load.errors[name]), "skipped": load.skipped[name],
        })
    job_rows = [{"kind": c, **{s: n for s, n in statuses.items()}, "total": sum(statuses.values()),
                 "p50_s": statistics.median(secs) if secs else float("nan"), "p95_s": percentile(secs, 0.95)}
                for c, (statuses, secs) in jobs.items()]
    return {"seconds": seconds, "elapsed": elapsed, "wait": wait, "cores": os.cpu_count(), "operations": rows,
            "jobs": job_rows}


def report(result: dict) -> str:
    lines = [f"\n{result['elapsed']:.0f} s at a fixed offered rate (open loop) on {result['cores']} cores, "
             f"polls with ?wait={result['wait']:g}\n",
             "| operation | offered /s | requests | errors | error rate | ok /s | p50 ms | p95 ms | p99 ms | max ms |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in result["operations"]:
        lines.append(f"| {r['operation']} | {r['offered_per_s']:g} | {r['requests']} | {r['errors']} | "
                     f"{100 * r['error_rate']:.1f} % | {r['throughput_per_s']:.2f} | {r['p50_ms']:.0f} | "
                     f"{r['p95_ms']:.0f} | {r['p99_ms']:.0f} | {r['max_ms']:.0f} |")
    lines += ["", "| jobs | created | completed | failed | unfinished | queued → completed p50 s | p95 s |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for j in result["jobs"]:
        unfinished = j["total"] - sum(j.get(s, 0) for s in TERMINAL)
        lines.append(f"| {j['kind']} | {j['total']} | {j.get('completed', 0)} | {j.get('failed', 0)} | {unfinished} | "
                     f"{j['p50_s']:.2f} | {j['p95_s']:.2f} |")
    if result["exited"]:
        lines += ["", f"WARNING: processes exited during the run (see .run/bench-load/logs): {result['exited']}"]
    failures = {r["operation"]: r["error_codes"] for r in result["operations"] if r["error_codes"]}
    if failures:
        lines += ["", f"errors by code: {json.dumps(failures)}"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_LOAD_SECONDS", "120")))
    parser.add_argument("--wait", type=float, default=5.0, help="?wait= of the polls (seconds)")
    parser.add_argument("--drain", type=float, default=60.0, help="seconds to let the last jobs finish")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every offered rate")
    ns = parser.parse_args()
    run_dir = ROOT / ".run" / "bench-load"
    media = run_dir / "media"
    media.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=s=64x64:d=1", "-frames:v", "1",
                    str(media / "still.png")], check=True)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(media)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    media_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    dbname = f"fl_bench_{uuid.uuid4().hex[:8]}"
    infra = Infra(run_dir, dbname, own_nats=True)
    infra.start()
    ports = {svc: (free_port(), free_port()) for svc in SERVICE_PORTS}
    mesh = Mesh(run_dir, infra.database_url, infra.nats_url, envoy_port=free_port(), admin_port=free_port(), ports=ports,
                extra_env={"FRAMELANE_LOG_LEVEL": "WARNING", "FRAMELANE_FETCH_ALLOW": media_url.removeprefix("http://")})
    try:
        mesh.start(timeout=120)
        key = mesh.dev_key(run_dir / "dev-api-key")
        with psycopg.connect(infra.database_url, autocommit=True) as conn:  # limits far above the offered load
            conn.execute("UPDATE usage.workspaces SET plan = 'enterprise'")
        result = asyncio.run(run(mesh, key, media_url, ns.seconds, ns.wait, ns.drain, ns.scale))
        # A worker that died (e.g. its port taken at start) makes the numbers meaningless: say so.
        result["exited"] = {name: proc.returncode for name, proc in mesh.procs.items() if proc.poll() is not None}
    finally:
        mesh.stop()
        infra.stop()
        httpd.shutdown()
        admin = psycopg.conninfo.make_conninfo(infra.database_url, dbname="postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    print(report(result))
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "load.json").write_text(json.dumps(result, indent=2) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
