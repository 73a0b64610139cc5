"""The whole mesh as child processes on free ports, with its own database and nats-server."""

import uuid

import httpx
import psycopg
import pytest

from framelane_core.config import SERVICE_PORTS
from framelane_core.devmesh import Mesh, free_port
from tests.conftest import NatsServer, _with_db


def start_mesh(pg_base, run_dir) -> tuple[Mesh, NatsServer, str]:
    name = f"fl_e2e_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_with_db(pg_base, "postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    nats = NatsServer(run_dir / "js").start()
    ports = {svc: (free_port(), free_port()) for svc in SERVICE_PORTS}
    mesh = Mesh(run_dir, _with_db(pg_base, name), nats.url, envoy_port=free_port(), admin_port=free_port(),
                ports=ports, extra_env={"FRAMELANE_DRAIN_SECONDS": "5"})
    mesh.start(timeout=60)
    return mesh, nats, name


def stop_mesh(pg_base, mesh: Mesh, nats: NatsServer, name: str) -> None:
    mesh.stop()
    nats.stop()
    with psycopg.connect(_with_db(pg_base, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def mesh(pg_base, tmp_path_factory):
    mesh, nats, name = start_mesh(pg_base, tmp_path_factory.mktemp("mesh"))
    yield mesh
    stop_mesh(pg_base, mesh, nats, name)


@pytest.fixture(scope="session")
def api_key(mesh, tmp_path_factory) -> str:
    return mesh.dev_key(tmp_path_factory.mktemp("key") / "dev-api-key")


@pytest.fixture
def http(mesh):
    with httpx.Client(base_url=mesh.base_url, timeout=30) as client:
        yield client


@pytest.fixture
def authed(mesh, api_key):
    with httpx.Client(base_url=mesh.base_url, timeout=30, headers={"Authorization": f"Bearer {api_key}"}) as client:
        yield client
