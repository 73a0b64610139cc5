"""SIGTERM drains every service cleanly: exit code 0, a "drained" line and no error in its log."""

import json
import signal

import pytest

from framelane_core.devmesh import SERVICES, WORKERS
from tests.e2e.conftest import start_mesh, stop_mesh


@pytest.fixture(scope="module")
def own_mesh(pg_base, tmp_path_factory):
    mesh, nats, name = start_mesh(pg_base, tmp_path_factory.mktemp("drain"))
    yield mesh
    stop_mesh(pg_base, mesh, nats, name)


@pytest.mark.parametrize("service", [*SERVICES, *(name for name, _ in WORKERS)])
def test_sigterm_drains_without_errors(own_mesh, service):
    assert own_mesh.stop_process(service, signal.SIGTERM, timeout=20) == 0
    lines = [json.loads(line) for line in (own_mesh.logs / f"{service}.log").read_text().splitlines()
             if line.startswith("{")]
    messages = [line["msg"] for line in lines]
    assert "drained" in messages
    assert not [line for line in lines if line["level"] in ("error", "critical")]
