"""`make fuzz`: schemathesis against /openapi.json of a fresh mesh, with a valid key and without.

Fails on any 5xx or any response that does not match the spec (errors included: they must be the
documented envelope). FUZZ_EXAMPLES sets the examples per operation (default 100)."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg

from framelane_core.config import SERVICE_PORTS
from framelane_core.devmesh import Infra, Mesh, free_port

ROOT = Path(__file__).resolve().parents[2]
CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance"


def schemathesis(base: str, examples: int, headers: list[str]) -> int:
    argv = [str(Path(sys.executable).parent / "schemathesis"), "run", f"{base}/openapi.json", "--checks", CHECKS,
            "--max-examples", str(examples), "--exclude-operation-id", "AccountService_DeleteWorkspace",
            "--seed", os.environ.get("FUZZ_SEED", "1"), "--no-color", *headers]
    return subprocess.run(argv, check=False).returncode


def main() -> int:
    examples = int(os.environ.get("FUZZ_EXAMPLES", "100"))
    run_dir = ROOT / ".run" / "fuzz"
    dbname = f"fl_fuzz_{uuid.uuid4().hex[:8]}"
    infra = Infra(run_dir, dbname, own_nats=True)
    infra.start()
    ports = {svc: (free_port(), free_port()) for svc in SERVICE_PORTS}
    mesh = Mesh(run_dir, infra.database_url, infra.nats_url, envoy_port=free_port(), admin_port=free_port(), ports=ports,
                extra_env={"FRAMELANE_LOG_LEVEL": "WARNING"})
    try:
        mesh.start(timeout=120)
        key = mesh.dev_key(run_dir / "dev-api-key")
        with_key = schemathesis(mesh.base_url, examples, ["-H", f"Authorization: Bearer {key}"])
        without_key = schemathesis(mesh.base_url, max(examples // 4, 10), [])
    finally:
        mesh.stop()
        infra.stop()
        admin = psycopg.conninfo.make_conninfo(infra.database_url, dbname="postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    print(f"\nfuzz: with a key exit {with_key}, without a key exit {without_key}")
    return with_key or without_key


if __name__ == "__main__":
    sys.exit(main())
