"""The whole mesh as child processes on free ports, with its own database and nats-server."""

import asyncio
import functools
import subprocess
import threading
import uuid
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import psycopg
import pytest

from framelane_core.config import SERVICE_PORTS
from framelane_core.devmesh import Mesh, free_port
from tests.conftest import NatsServer, _with_db


def start_mesh(pg_base, run_dir, extra_env: dict | None = None) -> tuple[Mesh, NatsServer, str]:
    name = f"fl_e2e_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_with_db(pg_base, "postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    nats = NatsServer(run_dir / "js").start()
    ports = {svc: (free_port(), free_port()) for svc in SERVICE_PORTS}
    mesh = Mesh(run_dir, _with_db(pg_base, name), nats.url, envoy_port=free_port(), admin_port=free_port(),
                ports=ports, extra_env={"FRAMELANE_DRAIN_SECONDS": "5", **(extra_env or {})})
    try:
        mesh.start(timeout=60)
    except BaseException:  # a mesh that fails to start leaves no process and no database behind
        stop_mesh(pg_base, mesh, nats, name)
        raise
    return mesh, nats, name


def stop_mesh(pg_base, mesh: Mesh, nats: NatsServer, name: str) -> None:
    mesh.stop()
    nats.stop()
    with psycopg.connect(_with_db(pg_base, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _make_media(folder: Path) -> None:
    """Sources for render tests, generated with FFmpeg's lavfi (no download)."""
    lavfi = {
        "red.mp4": ["-f", "lavfi", "-i", "color=red:s=320x240:r=30:d=3", "-f", "lavfi", "-i", "sine=f=440:d=3"],
        "blue.mp4": ["-f", "lavfi", "-i", "color=blue:s=320x240:r=30:d=3", "-f", "lavfi", "-i", "sine=f=660:d=3"],
        "green.png": ["-f", "lavfi", "-i", "color=0x00ff00:s=160x120:d=1", "-frames:v", "1"],
        "tone.wav": ["-f", "lavfi", "-i", "sine=f=330:d=6"],
    }
    for name, args in lavfi.items():
        codec = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"] if name.endswith(".mp4") else []
        subprocess.run(["ffmpeg", "-v", "error", "-y", *args, *codec, str(folder / name)], check=True)


class _Quiet(SimpleHTTPRequestHandler):
    def do_GET(self):
        # /__redirect/<url>: a 302 to <url> (tests of redirect hops towards refused addresses).
        if self.path.startswith("/__redirect/"):
            self.send_response(302)
            self.send_header("Location", self.path.removeprefix("/__redirect/"))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    """The folder media_server serves; tests may add their own generated files to it."""
    folder = tmp_path_factory.mktemp("media")
    _make_media(folder)
    return folder


@pytest.fixture(scope="session")
def media_server(media_dir):
    """Generated media served over HTTP on 127.0.0.1 (the mesh is allowed to fetch from it)."""
    folder = media_dir
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class Receiver:
    """A webhook receiver on 127.0.0.1 that records every request (path, headers, body)."""

    def __init__(self):
        self.requests: list[tuple[str, dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                receiver.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture(scope="session")
def webhook_receiver():
    receiver = Receiver()
    yield receiver
    receiver.httpd.shutdown()


@pytest.fixture(scope="session")
def mesh(pg_base, tmp_path_factory, media_server, webhook_receiver):
    allow = media_server.removeprefix("http://") + "," + webhook_receiver.url.removeprefix("http://")
    mesh, nats, name = start_mesh(pg_base, tmp_path_factory.mktemp("mesh"),
                                  {"FRAMELANE_FETCH_ALLOW": allow, "FRAMELANE_JOB_ACK_WAIT_SECONDS": "6",
                                   "FRAMELANE_EGRESS_REPORT_SECONDS": "0.5", "FRAMELANE_UPLOAD_WAIT_SECONDS": "12"})
    yield mesh
    stop_mesh(pg_base, mesh, nats, name)


@pytest.fixture(scope="session")
def api_key(mesh) -> str:
    """The suite's workspace: enterprise, so the plan's concurrency and rate limits never interfere
    with tests of other things (their own tests use workspaces on the plan they test)."""
    return new_workspace_key(mesh, "enterprise")


@pytest.fixture
def http(mesh):
    with httpx.Client(base_url=mesh.base_url, timeout=30) as client:
        yield client


@pytest.fixture
def authed(mesh, api_key):
    with httpx.Client(base_url=mesh.base_url, timeout=30, headers={"Authorization": f"Bearer {api_key}"}) as client:
        yield client


def new_workspace_key(mesh: Mesh, plan: str = "pro") -> str:
    """A fresh workspace on `plan` and its key (signup is not there yet to make one)."""
    from framelane_core import db  # noqa: PLC0415
    from framelane_usage.service import Accounts  # noqa: PLC0415

    async def create() -> str:
        pool = await db.open_pool(mesh.env["DATABASE_URL"], "usage", min_size=1, max_size=1)
        try:
            _, _, key = await Accounts(pool).create_workspace(f"{plan} workspace", plan=plan)
            return key
        finally:
            await pool.close()

    return asyncio.run(create())
