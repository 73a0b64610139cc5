"""Pins the gRPC → HTTP mapping of google/rpc/code.proto, and the contract's own statuses, through
a real Envoy built by the same generator, in front of a test service that fails as asked."""

import asyncio
import importlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import grpc
import httpx
import pytest

from framelane_core import protogen
from framelane_core.descriptors import Contract
from framelane_core.devmesh import free_port
from framelane_core.errors import HTTP_STATUS_BY_CODE, FramelaneError
from framelane_core.grpcserver import build_server
from framelane_gateway.envoy import EnvoyLayout, build_config

TEST_PROTOS = Path(__file__).resolve().parents[1] / "protos"

CODE_PROTO = {  # google/rpc/code.proto, "HTTP Mapping" of each code
    "OK": 200, "CANCELLED": 499, "UNKNOWN": 500, "INVALID_ARGUMENT": 400, "DEADLINE_EXCEEDED": 504,
    "NOT_FOUND": 404, "ALREADY_EXISTS": 409, "PERMISSION_DENIED": 403, "UNAUTHENTICATED": 401,
    "RESOURCE_EXHAUSTED": 429, "FAILED_PRECONDITION": 400, "ABORTED": 409, "OUT_OF_RANGE": 400,
    "UNIMPLEMENTED": 501, "INTERNAL": 500, "UNAVAILABLE": 503, "DATA_LOSS": 500,
}


@pytest.fixture(scope="module")
async def fault_gateway(tmp_path_factory):
    out = tmp_path_factory.mktemp("faults")
    shutil.copytree(protogen.PROTOS, out / "protos")
    shutil.copytree(TEST_PROTOS / "framelane" / "testing", out / "protos" / "framelane" / "testing")
    protogen.generate(out / "gen", protos_root=out / "protos")
    sys.path.insert(0, str(out / "gen" / "python"))
    pb2 = importlib.import_module("framelane.testing.v1.faults_pb2")
    pb2_grpc = importlib.import_module("framelane.testing.v1.faults_pb2_grpc")

    class Faults(pb2_grpc.FaultServiceServicer):
        async def Raise(self, request, context):
            code = next(c for c in grpc.StatusCode if c.value[0] == request.grpc_code)
            if code == grpc.StatusCode.OK:
                return pb2.RaiseResponse(ok="yes")
            error = FramelaneError("asked to fail", code=request.error_code or "test_failure")
            error.grpc_code = code
            raise error

    server, _ = build_server("testing", None, [])
    pb2_grpc.add_FaultServiceServicer_to_server(Faults(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    envoy_port, admin_port = free_port(), free_port()
    layout = EnvoyLayout("127.0.0.1", envoy_port, admin_port, str(out / "gen" / "descriptors.pb"),
                         upstreams=(("gateway", f"127.0.0.1:{port}"),))
    config = out / "envoy.json"
    config.write_text(json.dumps(build_config(layout, Contract((out / "gen" / "descriptors.pb").read_bytes()))))
    envoy = subprocess.Popen([str(Path(sys.executable).parent / "envoy"), "-c", str(config), "--log-level", "warn",
                              "--base-id", str(admin_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{envoy_port}"
    deadline = time.monotonic() + 20
    async with httpx.AsyncClient() as client:
        while True:
            try:
                await client.get(base + "/v1/testing/raise/0", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.1)
    yield base
    envoy.terminate()
    envoy.wait(10)
    await server.stop(0)
    sys.path.remove(str(out / "gen" / "python"))


@pytest.mark.parametrize("name,status", sorted(CODE_PROTO.items()))
async def test_grpc_code_maps_to_http_status(fault_gateway, name, status):
    number = grpc.StatusCode[name].value[0]
    async with httpx.AsyncClient() as client:
        resp = await client.get(f"{fault_gateway}/v1/testing/raise/{number}")
    assert resp.status_code == status
    assert resp.headers["x-request-id"]
    if status == 200:
        assert resp.json() == {"ok": "yes"}
    else:
        error = resp.json()["error"]
        assert error["code"] == "test_failure" and error["request_id"] == resp.headers["x-request-id"]
        assert not any(h.startswith("grpc-") for h in resp.headers)


@pytest.mark.parametrize("code,status", sorted(HTTP_STATUS_BY_CODE.items()))
async def test_contract_codes_keep_their_own_status(fault_gateway, code, status):
    async with httpx.AsyncClient() as client:
        resp = await client.get(f"{fault_gateway}/v1/testing/raise/9", params={"error_code": code})
    assert resp.status_code == status
    assert resp.json()["error"]["code"] == code
