"""`make chaos`: kill -9 the mesh's processes in turn (and freeze a render worker past its ack wait),
and restart its PostgreSQL and NATS, while about a hundred renders and tasks are in flight; then
prove that nothing was lost or done twice.

Everything runs on loopback and is owned by this script: an embedded PostgreSQL (pgserver) and a
nats-server (devmesh.Infra), the mesh on free ports (devmesh.Mesh, two render and two task
workers), a media server and a webhook receiver. Clients retry each POST with the same
Idempotency-Key until it is accepted (202, or 200 for a replay), as a real client does, so the
accepted jobs are exactly those a client was told about. The script plays the supervisor: every
killed process is started again after a second.

Afterwards, from the database, the storage folder and what the receiver got: every accepted job
reached a terminal state, with one terminal event and one output; the meters and the credit ledger
equal what the completed jobs imply; every webhook event was delivered; storage holds nothing that
belongs to no job. Prints a table of the faults and one of the checks, and exits 1 when a check
fails. CHAOS_KEEP=1 keeps the run folder (logs, database) even when every check passes."""

import asyncio
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from http.server import ThreadingHTTPServer
from pathlib import Path

import grpc
import httpx
import psycopg
from grpc_health.v1 import health_pb2, health_pb2_grpc
from psycopg.rows import dict_row

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # the media server, receiver and verifier the tests use

from framelane.api.v1 import events_pb2, job_pb2  # noqa: E402
from framelane_core import db  # noqa: E402
from framelane_core.config import SERVICE_PORTS  # noqa: E402
from framelane_core.devmesh import Infra, Mesh, free_port  # noqa: E402
from framelane_usage.credits import Credits  # noqa: E402
from framelane_usage.service import Accounts  # noqa: E402
from tests.e2e.conftest import _make_media, _Quiet  # noqa: E402
from tests.integration.webhooks.receiver import Receiver  # noqa: E402
from tests.unit.webhooks.verifier import verify_framelane  # noqa: E402

TERMINAL = ("completed", "failed", "cancelled")
# Jobs kept in flight (accepted, not terminal) from the start to the last fault: before each fault the
# clients top up to IN_FLIGHT and then send BURST more, so that POSTs are in flight when a process
# dies (KILL_DELAYS: how long after the burst it dies, so the kills land in different phases).
IN_FLIGHT, BURST, MAX_JOBS = 100, 6, 240
KILL_DELAYS = (0.02, 0.05, 0.1, 0.2)
# The mix, per block of 25 jobs: 16 renders, 8 super-resolutions, 1 transcription; and first, two
# music videos (credits), so that a workflow follows its render through the faults.
MIX = ["render"] * 16 + ["super_resolution"] * 8 + ["transcribe"]
MUSIC_VIDEOS_AT = (0, 1)
CANCEL_EVERY = 16  # every 16th render, and the second music video, are cancelled by their client
WORKSPACES = 3  # enterprise workspaces, 50 active jobs each
GRANT = 10_000  # credits of each workspace
RESTART_AFTER_SECONDS = 1.0  # how long the supervisor takes to start a killed process again
INFRA_DOWN_SECONDS = 3.0  # how long NATS and PostgreSQL stay down
ACK_WAIT_SECONDS = 6  # FRAMELANE_JOB_ACK_WAIT_SECONDS: a silent worker's job goes to another after this
FREEZE_SECONDS = ACK_WAIT_SECONDS + 3
RENDER_WORKERS = 2  # a frozen worker's render goes to the other one
TASK_WORKERS = 2  # a workflow holds its worker while its render runs
# Where a worker's current job shows as `processing` with its worker_id (host:pid).
BUSY_TABLE = {"renderer_worker": "renderer.renders", "tasks_worker": "tasks.tasks"}
SUBMIT_DEADLINE_SECONDS = 180.0
RECOVERY_TIMEOUT_SECONDS = 90.0
SETTLE_TIMEOUT_SECONDS = 240.0  # for every job to reach a terminal state after the last fault
SETTLE_AFTER_TERMINAL_SECONDS = 60.0  # then for events, meters, webhooks and admissions to settle
TERMINAL_CHECK = 2  # the index of "accepted jobs in a terminal state" among the checks
# The endpoint hears every lifecycle event but progress (coalesced; job URLs get those).
ENDPOINT_EVENTS = [f"{kind}.{state}" for kind in ("render", "task")
                   for state in ("queued", "processing", "completed", "failed", "cancelled")]


@dataclass
class Job:
    """One job a client submits: its POST, and what the client learnt."""

    n: int
    path: str
    body: dict
    workspace: int
    cancel: bool = False
    key: str = field(default_factory=lambda: f"chaos-{uuid.uuid4()}")
    id: str = ""
    attempts: list[str] = field(default_factory=list)  # what each POST got: a status, or the transport error
    replayed: bool = False
    answered: bool = False  # the POST loop ended: accepted, or refused for good
    cancelled_by_client: bool = False
    error: str = ""

    @property
    def collection(self) -> str:
        """Where the job is read and cancelled: /v1/renders or /v1/tasks."""
        return "/v1/renders" if self.path == "/v1/renders" else "/v1/tasks"


@dataclass
class Fault:
    name: str
    at: float = 0.0  # seconds since the load started
    in_flight: int = 0  # accepted jobs not terminal yet when it struck
    down: float = 0.0  # seconds from the kill to the restart
    recovered: float | None = None  # seconds from the kill to the first job event delivered after the restart
    note: str = ""


@dataclass
class Check:
    name: str
    expected: object
    observed: object

    @property
    def ok(self) -> bool:
        return self.expected == self.observed


class Chaos:
    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.jobs: list[Job] = []  # the jobs whose POSTs started
        self.faults: list[Fault] = []
        self.keys: list[str] = []
        self.workspace_ids: list[str] = []
        self.secrets: list[str] = []
        self.t0 = 0.0
        self.phases: dict[str, float] = {}  # seconds since the load started (the mesh's start: before it)
        self.infra: Infra | None = None
        self.mesh: Mesh | None = None
        self.media_httpd: ThreadingHTTPServer | None = None
        self.orphans: list[str] = []
        self.duplicates = 0

    # -- setup -------------------------------------------------------------------------------
    def start(self) -> None:
        media = self.run_dir / "media"
        media.mkdir(parents=True)
        _make_media(media)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=f=220:d=11", "-f", "lavfi",
                        "-i", "anoisesrc=d=11:a=0.3", "-filter_complex", "amix=inputs=2,volume=2",
                        str(media / "beat.wav")], check=True)
        self.media_httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(media)))
        threading.Thread(target=self.media_httpd.serve_forever, daemon=True).start()
        self.media = f"http://127.0.0.1:{self.media_httpd.server_address[1]}"
        self.infra = Infra(self.run_dir, "framelane", force_embedded=True, own_nats=True)
        self.infra.start()

    async def start_mesh(self) -> None:
        self.receiver = await Receiver().start()
        allow = f"127.0.0.1:{self.media_httpd.server_address[1]},127.0.0.1:{self.receiver.port}"
        ports = {svc: (free_port(), free_port()) for svc in SERVICE_PORTS}
        self.mesh = Mesh(self.run_dir, self.infra.database_url, self.infra.nats_url, envoy_port=free_port(),
                         admin_port=free_port(), ports=ports, extra_env={
                             "FRAMELANE_FETCH_ALLOW": allow, "FRAMELANE_JOB_ACK_WAIT_SECONDS": str(ACK_WAIT_SECONDS),
                             "FRAMELANE_DRAIN_SECONDS": "5", "FRAMELANE_WEBHOOK_TIMEOUT_SECONDS": "5",
                             "FRAMELANE_WEBHOOK_RETRY_SCHEDULE": "1,2,4,8,15,30,30,30",
                             # A create that dies after admission gives its admission back after this.
                             "FRAMELANE_ADMISSION_CONFIRM_SECONDS": "20"})
        started = time.monotonic()
        await asyncio.to_thread(self.mesh.start, 120)
        for _ in range(RENDER_WORKERS - 1):
            self.mesh.add_worker("renderer_worker")
        for _ in range(TASK_WORKERS - 1):
            self.mesh.add_worker("tasks_worker")
        self.phases["mesh"] = time.monotonic() - started
        for _ in range(WORKSPACES):
            key, ws_id = await self._workspace()
            self.keys.append(key)
            self.workspace_ids.append(ws_id)
        async with self.client() as client:
            for i in range(WORKSPACES):
                created = await client.post("/v1/webhooks", headers=self._auth(i), json={
                    "url": self.receiver.url(f"/endpoint/{i}"), "events": ENDPOINT_EVENTS})
                assert created.status_code == 201, created.text
                self.secrets.append(created.json()["secret"])

    async def _workspace(self) -> tuple[str, str]:
        """An enterprise workspace (50 jobs at a time) with GRANT credits, and its key."""
        pool = await db.open_pool(self.infra.database_url, "usage", min_size=1, max_size=1)
        try:
            ws, _, key = await Accounts(pool).create_workspace("chaos", plan="enterprise")
            await Credits(pool).grant(ws["id"], f"chaos:{ws['id']}", GRANT, "chaos")
            return key, ws["id"]
        finally:
            await pool.close()

    def plan_jobs(self) -> list[Job]:
        """MAX_JOBS jobs in submission order; only those the load needs are sent."""
        m = self.media
        planned = []
        renders = 0
        for n in range(MAX_JOBS):
            kind = "music_video" if n in MUSIC_VIDEOS_AT else MIX[(n * 7) % len(MIX)]  # interleaved
            ws = n % WORKSPACES
            hook = self.receiver.url(f"/job/{ws}")
            if kind == "render":
                renders += 1
                duration = 1 + (n // WORKSPACES) % 2
                job = Job(n, "/v1/renders", {
                    "width": 320, "height": 240, "frame_rate": 15, "duration": duration, "output_format": "mp4",
                    "webhook_url": hook, "metadata": {"chaos": str(n)},
                    "elements": [
                        {"type": "video", "source_url": f"{m}/{'red' if n % 3 else 'blue'}.mp4", "duration": duration,
                         "volume": 0},
                        {"type": "text", "text": f"#{n}", "duration": duration, "font_size": 32},
                    ]}, ws, cancel=renders % CANCEL_EVERY == 0)
            elif kind == "super_resolution":
                job = Job(n, "/v1/tasks/super-resolution", {
                    "source_url": f"{m}/green.png", "scale": 2, "model": "fast", "webhook_url": hook,
                    "metadata": {"chaos": str(n)}}, ws)
            elif kind == "transcribe":
                job = Job(n, "/v1/tasks/transcribe", {"source_url": f"{m}/tone.wav", "webhook_url": hook}, ws)
            else:
                job = Job(n, "/v1/tasks/music-video", {
                    "images": [f"{m}/green.png"], "audio_url": f"{m}/beat.wav", "prompt": "hard cuts",
                    "resolution": "540p", "aspect_ratio": "16:9", "webhook_url": hook}, ws,
                    cancel=n == MUSIC_VIDEOS_AT[-1])  # its credits are refunded
            planned.append(job)
        return planned

    # -- clients -----------------------------------------------------------------------------
    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.mesh.base_url, timeout=30)

    def _auth(self, ws: int) -> dict:
        return {"Authorization": f"Bearer {self.keys[ws]}"}

    async def submit(self, client: httpx.AsyncClient, job: Job) -> None:
        """POSTs the job until it is accepted, retrying what a client retries (no answer, 409
        conflict while the first attempt is in flight, 429, 5xx) with the same Idempotency-Key."""
        deadline = time.monotonic() + SUBMIT_DEADLINE_SECONDS
        headers = {**self._auth(job.workspace), "Idempotency-Key": job.key}
        while time.monotonic() < deadline:
            wait = min(0.25 * 2 ** min(len(job.attempts), 4), 3.0)
            try:
                resp = await client.post(job.path, json=job.body, headers=headers)
            except httpx.TransportError as err:
                job.attempts.append(type(err).__name__)
                job.error = job.attempts[-1]
                await asyncio.sleep(wait)
                continue
            if resp.status_code in (200, 201, 202):
                job.attempts.append(str(resp.status_code))
                job.id, job.replayed, job.error = resp.json()["id"], resp.status_code == 200, ""
                break
            job.error = f"{resp.status_code} {resp.text[:200]}"
            code = _error_code(resp)
            job.attempts.append(f"{resp.status_code} {code}")
            if resp.status_code == 429 or resp.status_code >= 500 or code == "conflict":
                await asyncio.sleep(min(float(resp.headers.get("retry-after") or wait), 5.0))
                continue
            break  # refused for good: a failed check
        job.answered = True
        if job.id and job.cancel:
            await asyncio.sleep(0.5)
            await self.cancel(client, job)

    async def cancel(self, client: httpx.AsyncClient, job: Job) -> None:
        """DELETE until an answer: 200 (cancelled) or 409 (it had finished already)."""
        deadline = time.monotonic() + SUBMIT_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            try:
                resp = await client.delete(f"{job.collection}/{job.id}", headers=self._auth(job.workspace))
            except httpx.TransportError:
                await asyncio.sleep(1.0)
                continue
            if resp.status_code == 200:
                job.cancelled_by_client = True
                return
            if resp.status_code == 409:
                return
            await asyncio.sleep(1.0)

    # -- faults ------------------------------------------------------------------------------
    async def inject_faults(self) -> None:
        steps = [
            ("kill -9 a render worker", "renderer_worker", self._kill),
            ("freeze a render worker (SIGSTOP) past its ack wait", "renderer_worker", self._freeze),
            ("kill -9 a task worker", "tasks_worker", self._kill),
            ("kill -9 the renderer service", "renderer", self._kill),
            ("kill -9 the usage service", "usage", self._kill),
            ("kill -9 the webhooks service", "webhooks", self._kill),
            ("kill -9 the gateway (Envoy)", "envoy", self._kill),
            ("restart NATS (kill -9)", "", self._restart_nats),
            ("restart PostgreSQL (immediate stop)", "", self._restart_postgres),
        ]
        while not all(j.answered for j in self.jobs):  # the first hundred are in
            await asyncio.sleep(0.2)
        for i, (name, target, action) in enumerate(steps):
            if target in BUSY_TABLE:  # a worker is hit while it holds a job
                target = await self._busy_worker(target)
                name = f"{name} ({target})"
            await self.top_up(BURST)
            await asyncio.sleep(KILL_DELAYS[i % len(KILL_DELAYS)])
            fault = Fault(name, at=time.monotonic() - self.t0, in_flight=await self._in_flight())
            self.faults.append(fault)
            started = time.monotonic()
            await action(target)
            fault.down = time.monotonic() - started
            try:
                await asyncio.wait_for(self._recovered(time.time()), RECOVERY_TIMEOUT_SECONDS)
                fault.recovered = time.monotonic() - started
            except TimeoutError:
                fault.note = "no job event delivered after the restart"
            await asyncio.sleep(2)

    async def _kill(self, name: str) -> None:
        """SIGKILL, then the supervisor starts the process again RESTART_AFTER_SECONDS later."""
        self.mesh.procs[name].kill()
        await asyncio.to_thread(self.mesh.procs[name].wait)
        await asyncio.sleep(RESTART_AFTER_SECONDS)
        if name == "envoy":
            self.mesh.start_envoy()
        else:
            self.mesh.start_service(name)

    async def _freeze(self, name: str) -> None:
        """A stalled process (a long GC pause, a frozen VM): JetStream hands its job to another
        worker while it sleeps, and then it wakes up and finishes the job too."""
        self.mesh.procs[name].send_signal(signal.SIGSTOP)
        await asyncio.sleep(FREEZE_SECONDS)
        self.mesh.procs[name].send_signal(signal.SIGCONT)

    async def _restart_nats(self, _: str) -> None:
        await asyncio.to_thread(self.infra.restart_nats, INFRA_DOWN_SECONDS)

    async def _restart_postgres(self, _: str) -> None:
        await asyncio.to_thread(self.infra.restart_postgres, INFRA_DOWN_SECONDS)

    async def _busy_worker(self, kind: str, timeout: float = 60) -> str:
        """A process of the worker kind that holds a job in `processing` (waits for one)."""
        deadline = time.monotonic() + timeout
        while True:
            rows = await self.query(f"SELECT worker_id FROM {BUSY_TABLE[kind]} WHERE status = 'processing'")
            pids = {r["worker_id"].rpartition(":")[2] for r in rows if r["worker_id"]}
            names = [n for n, p in self.mesh.procs.items() if n.partition("-")[0] == kind and str(p.pid) in pids]
            if names or time.monotonic() > deadline:
                return names[0] if names else kind
            await asyncio.sleep(0.1)

    async def _in_flight(self) -> int:
        ids = [j.id for j in self.jobs if j.id]
        rows = await self.query("SELECT count(*) AS n FROM renderer.renders WHERE id = ANY(%(ids)s) AND status IN"
                                " ('queued', 'processing') UNION ALL SELECT count(*) FROM tasks.tasks"
                                " WHERE id = ANY(%(ids)s) AND status IN ('queued', 'processing')", {"ids": ids})
        return sum(r["n"] for r in rows)

    async def _recovered(self, since: float) -> None:
        """Every process serves again, and a job event made after `since` reached the receiver."""
        while not await self._healthy():
            await asyncio.sleep(0.2)
        seen = 0
        while True:
            for r in self.receiver.received[seen:]:
                created = json.loads(r.body)["created_at"]
                if datetime.fromisoformat(created).timestamp() > since:
                    return
            seen = len(self.receiver.received)
            await asyncio.sleep(0.2)

    async def _healthy(self) -> bool:
        for name, (port, _) in {**self.mesh.ports, **self.mesh.replica_ports}.items():
            try:
                async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                    answer = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
                if answer.status != health_pb2.HealthCheckResponse.SERVING:
                    return False
            except grpc.aio.AioRpcError:
                return False
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                return (await client.get(f"{self.mesh.base_url}/readyz")).status_code == 200
        except httpx.TransportError:
            return False

    # -- observation -------------------------------------------------------------------------
    async def query(self, sql: str, args=()) -> list[dict]:
        """Rows from the mesh's database, retried while it restarts."""
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.infra.database_url, row_factory=dict_row,
                                                                 autocommit=True) as conn:
                    return await (await conn.execute(sql, args)).fetchall()
            except psycopg.OperationalError:
                await asyncio.sleep(0.5)

    def release(self, count: int) -> None:
        """Starts the POSTs of the next `count` planned jobs."""
        for job in self._unsent[:count]:
            self.jobs.append(job)
            self._submits.append(asyncio.create_task(self.submit(self._clients[job.workspace], job)))
        del self._unsent[:count]

    async def top_up(self, extra: int) -> None:
        """Sends enough jobs to have IN_FLIGHT in flight (POSTs not answered yet count), plus `extra`."""
        sending = sum(1 for j in self.jobs if not j.answered)
        self.release(max(IN_FLIGHT - await self._in_flight() - sending, 0) + extra)

    async def run_load(self, planned: list[Job]) -> None:
        self.t0 = time.monotonic()
        self._clients = [self.client() for _ in range(WORKSPACES)]
        self._unsent, self._submits = planned, []
        self.release(len(MUSIC_VIDEOS_AT))  # first in the task queue
        while not all(j.answered for j in self.jobs):
            await asyncio.sleep(0.1)
        self.release(IN_FLIGHT - len(MUSIC_VIDEOS_AT))
        await self.inject_faults()
        self.phases["faults"] = time.monotonic() - self.t0
        await asyncio.gather(*self._submits)
        for client in self._clients:
            await client.aclose()

    async def settle(self) -> list[Check]:
        """Checks until they all pass (events, meters and webhooks settle after the last job) or
        the deadline passes; returns the last result."""
        deadline = time.monotonic() + SETTLE_TIMEOUT_SECONDS
        while True:
            checks = await self.checks()
            if "terminal" not in self.phases and checks[TERMINAL_CHECK].ok:
                self.phases["terminal"] = time.monotonic() - self.t0
                deadline = min(deadline, time.monotonic() + SETTLE_AFTER_TERMINAL_SECONDS)
            if all(c.ok for c in checks) or time.monotonic() > deadline:
                self.phases["checked"] = time.monotonic() - self.t0
                return checks
            await asyncio.sleep(2)

    async def checks(self) -> list[Check]:
        ws_ids = self.workspace_ids
        accepted = {j.id: j for j in self.jobs if j.id}
        renders = {r["id"]: r for r in await self.query(
            "SELECT id, workspace_id, status, output, parent_id FROM renderer.renders WHERE workspace_id = ANY(%s)",
            (ws_ids,))}
        tasks = {r["id"]: r for r in await self.query(
            "SELECT id, workspace_id, status, output, task_type, credits_reserved FROM tasks.tasks"
            " WHERE workspace_id = ANY(%s)", (ws_ids,))}
        jobs = {**renders, **tasks}
        top = {i: r for i, r in jobs.items() if not r.get("parent_id")}
        events = await self._events()
        checks = [
            Check("jobs accepted (202, or 200 on a retry)", len(self.jobs), len(accepted)),
            Check("jobs created = jobs accepted (one per Idempotency-Key)", sorted(accepted), sorted(top)),
            Check("accepted jobs in a terminal state", len(accepted),  # TERMINAL_CHECK
                  sum(1 for i in accepted if jobs.get(i, {}).get("status") in TERMINAL)),
            Check("jobs failed", 0, sum(1 for r in jobs.values() if r["status"] == "failed")),
            Check("jobs cancelled that no client cancelled", 0, sum(
                1 for i, r in top.items()
                if r["status"] == "cancelled" and not (i in accepted and accepted[i].cancelled_by_client))),
        ]
        per_job = defaultdict(Counter)
        for e in events.values():
            per_job[e["job_id"]][e["state"]] += 1
        checks += [
            Check("jobs with exactly one queued event", len(jobs),
                  sum(1 for i in jobs if per_job[i]["queued"] == 1)),
            Check("jobs with exactly one terminal event, matching the row", len(jobs), sum(
                1 for i, r in jobs.items()
                if sum(per_job[i][s] for s in TERMINAL) == 1 and per_job[i][r["status"]] == 1)),
            Check("events published to NATS", len(events), sum(1 for e in events.values() if e["published"])),
        ]
        checks += self._storage_checks(renders, tasks)
        checks += await self._meter_checks(renders, tasks)
        checks += await self._webhook_checks(events)
        checks.append(Check("mesh processes running at the end (no crash loop)", len(self.mesh.procs),
                            sum(1 for p in self.mesh.procs.values() if p.poll() is None)))
        return checks

    async def _events(self) -> dict[str, dict]:
        """Every lifecycle event in the renderer's and the tasks service's outboxes."""
        found = {}
        for schema in ("renderer", "tasks"):
            for row in await self.query(f"SELECT event_id, payload, published_at FROM {schema}.outbox"):
                event = events_pb2.Event.FromString(bytes(row["payload"]))
                if event.workspace_id not in self.workspace_ids:
                    continue
                payload = job_pb2.JobEvent()
                event.payload.Unpack(payload)
                found[event.id] = {"type": event.type, "state": event.type.partition(".")[2],
                                   "job_id": payload.job.id, "workspace_id": event.workspace_id,
                                   "webhook_url": payload.webhook_url, "published": row["published_at"] is not None}
        return found

    def _storage_checks(self, renders: dict, tasks: dict) -> list[Check]:
        """Every completed job's output keys are stored (with the size recorded); nothing else is."""
        storage = self.run_dir / "storage"
        wanted: dict[str, int | None] = {}
        for job in (*renders.values(), *tasks.values()):
            if job["status"] != "completed":
                continue
            out = job["output"]
            wanted[out["key"]] = out.get("size_bytes")
            for k, v in out.items():
                if k.endswith("_key") and v:
                    wanted[v] = None
        files = {str(p.relative_to(storage)): p.stat().st_size for p in storage.rglob("*")
                 if p.is_file() and not p.relative_to(storage).parts[0].startswith(".")}
        present = sum(1 for k, size in wanted.items() if k in files and (size is None or files[k] == size))
        orphans = sorted(set(files) - set(wanted))
        self.orphans = orphans
        return [Check("outputs stored for completed jobs (size as recorded)", len(wanted), present),
                Check("orphan files in storage", 0, len(orphans))]

    async def _meter_checks(self, renders: dict, tasks: dict) -> list[Check]:
        readings = await self.query("SELECT meter, workspace_id, job_id, quantity FROM usage.meter_readings"
                                    " WHERE workspace_id = ANY(%s)", (self.workspace_ids,))
        ledger = await self.query("SELECT workspace_id, job_id, kind, amount, charged FROM usage.credit_ledger"
                                  " WHERE workspace_id = ANY(%s)", (self.workspace_ids,))
        billed_renders = {i: r for i, r in renders.items() if r["status"] == "completed" and not r["parent_id"]}
        done_tasks = {i: r for i, r in tasks.items() if r["status"] == "completed"}
        by_job = Counter((r["meter"], r["job_id"]) for r in readings)
        expect_minutes, seen_minutes, expect_tasks, seen_tasks, expect_credits, seen_credits = [], [], [], [], [], []
        api_usage = []
        async with self.client() as client:
            for n, ws in enumerate(self.workspace_ids):
                expect_minutes.append(round(sum(r["output"]["duration"] for r in billed_renders.values()
                                                if r["workspace_id"] == ws) / 60, 4))
                seen_minutes.append(round(sum(r["quantity"] for r in readings
                                              if r["workspace_id"] == ws and r["meter"] == "render_minutes"), 4))
                expect_tasks.append(sum(1 for r in done_tasks.values() if r["workspace_id"] == ws))
                seen_tasks.append(int(sum(r["quantity"] for r in readings
                                          if r["workspace_id"] == ws and r["meter"] == "tasks")))
                charged = sum(r["credits_reserved"] for r in done_tasks.values() if r["workspace_id"] == ws)
                expect_credits.append(GRANT - charged)
                seen_credits.append(sum(r["amount"] for r in ledger if r["workspace_id"] == ws))
                usage = (await client.get("/v1/workspace/usage", headers=self._auth(n))).json()
                credits = (await client.get("/v1/workspace/credits", headers=self._auth(n))).json()
                api_usage.append((usage.get("render_minutes"), usage.get("task_count"),
                                  usage.get("render_minutes_reserved"), usage.get("active_jobs"),
                                  int(credits.get("balance", -1))))
        ledger_by_job = defaultdict(dict)
        for r in ledger:
            ledger_by_job[r["job_id"]][r["kind"]] = r
        priced = {i: r for i, r in tasks.items() if r["credits_reserved"]}
        ledger_ok = sum(1 for i, r in priced.items() if _ledger_ok(r, ledger_by_job[i]))
        return [
            Check("render minutes metered (per workspace)", expect_minutes, seen_minutes),
            Check("one render-minutes reading per completed render, none else", sorted(billed_renders),
                  sorted(j for (m, j), c in by_job.items() if m == "render_minutes" for _ in range(c))),
            Check("task count metered (per workspace)", expect_tasks, seen_tasks),
            Check("one task reading per completed task, none else", sorted(done_tasks),
                  sorted(j for (m, j), c in by_job.items() if m == "tasks" for _ in range(c))),
            Check("credit balance from the ledger (per workspace)", expect_credits, seen_credits),
            Check("priced tasks reserved once and settled or refunded once", len(priced), ledger_ok),
            Check("GET /v1/workspace/usage and /credits agree (minutes, tasks, reserved, active, balance)",
                  [(m, t, 0, 0, c) for m, t, c in zip(expect_minutes, expect_tasks, expect_credits)], api_usage),
        ]

    async def _webhook_checks(self, events: dict) -> list[Check]:
        deliveries = await self.query(
            "SELECT url, event_id, status FROM webhooks.deliveries WHERE workspace_id = ANY(%s)", (self.workspace_ids,))
        expected = set()
        for event_id, e in events.items():
            ws = self.workspace_ids.index(e["workspace_id"])
            if e["state"] != "progress":
                expected.add((f"/endpoint/{ws}", event_id))
                if e["webhook_url"]:
                    expected.add((f"/job/{ws}", event_id))
        expected |= {(_path(d["url"]), d["event_id"]) for d in deliveries}
        received = Counter()
        bad_signatures = 0
        for r in self.receiver.received:
            body = json.loads(r.body)
            received[(r.path, body["id"])] += 1
            ws = int(r.path.rsplit("/", 1)[1])
            bad_signatures += not verify_framelane(self.secrets[ws], r.headers, r.body, now=r.at)
        self.duplicates = sum(c - 1 for c in received.values())
        return [
            Check("webhook events delivered (endpoint + job URLs, by event id)", len(expected),
                  len(expected & set(received))),
            Check("webhooks received that no event explains", 0, len(set(received) - expected)),
            Check("deliveries not delivered (pending or dead-lettered)", 0,
                  sum(1 for d in deliveries if d["status"] != "delivered")),
            Check("webhook signatures that do not verify", 0, bad_signatures),
        ]

    # -- report ------------------------------------------------------------------------------
    def report(self, checks: list[Check], elapsed: float) -> None:
        print("\nFaults injected (times in seconds since the load started)\n")
        print("| # | fault | at | jobs in flight | down | recovered after | note |")
        print("|---|---|---:|---:|---:|---:|---|")
        for i, f in enumerate(self.faults, 1):
            rec = f"{f.recovered:.1f}" if f.recovered is not None else "–"
            print(f"| {i} | {f.name} | {f.at:.1f} | {f.in_flight} | {f.down:.1f} | {rec} | {f.note} |")
        retried = [j for j in self.jobs if len(j.attempts) > 1]
        answers = Counter(a for j in retried for a in j.attempts[:-1])
        print(f"\n{len(self.jobs)} jobs; {len(retried)} POSTs retried with their Idempotency-Key (answers before "
              f"acceptance: {', '.join(f'{k} x{v}' for k, v in sorted(answers.items())) or 'none'}; "
              f"{sum(j.replayed for j in self.jobs)} accepted as a 200 replay); "
              f"{sum(j.cancelled_by_client for j in self.jobs)} cancelled by their client; "
              f"{self.duplicates} duplicate webhook deliveries (same event id).")
        p = self.phases
        print(f"Mesh up in {p.get('mesh', 0):.0f} s; from the first POST: faults over at {p.get('faults', 0):.0f} s, "
              f"every job terminal at {p.get('terminal', float('nan')):.0f} s, checks settled at "
              f"{p.get('checked', float('nan')):.0f} s.\n")
        print("| check | expected | observed | pass |")
        print("|---|---:|---:|---|")
        for c in checks:
            print(f"| {c.name} | {_short(c.expected)} | {_short(c.observed)} | {'yes' if c.ok else 'NO'} |")
        failed = [c for c in checks if not c.ok]
        for c in failed:
            print(f"\nFAILED: {c.name}\n  expected: {c.expected}\n  observed: {c.observed}")
        if self.orphans:
            print("orphans:", self.orphans[:20])
        for j in self.jobs:
            if not j.id:
                print(f"job {j.n} {j.path} never accepted: {j.error}")
        print(f"\nchaos: {len(checks) - len(failed)}/{len(checks)} checks passed in {elapsed:.0f} s")


def _error_code(resp: httpx.Response) -> str:
    try:
        return resp.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return "?"


def _ledger_ok(task: dict, rows: dict) -> bool:
    reserved = task["credits_reserved"]
    if rows.get("reserve", {}).get("amount") != -reserved:
        return False
    if task["status"] == "completed":
        return set(rows) == {"reserve", "settle"} and rows["settle"]["charged"] == reserved
    return set(rows) == {"reserve", "refund"} and rows["refund"]["amount"] == reserved


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def _short(value) -> str:
    """A value for the table: lists of ids as their length, other lists as they are."""
    if isinstance(value, list) and value and isinstance(value[0], str):
        return str(len(value))
    return str(value).replace("|", "/")


async def run(chaos: Chaos) -> list[Check]:
    try:
        await chaos.start_mesh()
        await chaos.run_load(chaos.plan_jobs())
        return await chaos.settle()
    finally:  # inside the loop, so the receiver sees the webhooks service close its connections
        if chaos.mesh is not None:
            await asyncio.to_thread(chaos.mesh.stop)


def main() -> int:
    for name in ("DATABASE_URL", "NATS_URL"):  # the suite restarts its own servers, never shared ones
        os.environ.pop(name, None)
    run_dir = ROOT / ".run" / "chaos"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    started = time.monotonic()
    chaos = Chaos(run_dir)
    checks: list[Check] = []
    try:
        chaos.start()
        checks = asyncio.run(run(chaos))
    finally:
        if chaos.mesh is not None:
            chaos.mesh.stop()  # already stopped unless the run was interrupted
        if chaos.infra is not None:
            chaos.infra.stop()
        if chaos.media_httpd is not None:
            chaos.media_httpd.shutdown()
    chaos.report(checks, time.monotonic() - started)
    ok = bool(checks) and all(c.ok for c in checks)
    if ok and os.environ.get("CHAOS_KEEP") != "1":
        shutil.rmtree(run_dir, ignore_errors=True)
    else:
        print(f"run folder kept: {run_dir}")
    return 0 if ok else 1


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
