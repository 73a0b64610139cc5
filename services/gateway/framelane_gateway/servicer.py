"""Thin handlers of SystemService."""

from google.api import httpbody_pb2
from google.protobuf import json_format, struct_pb2

from framelane.gateway.v1 import system_pb2, system_pb2_grpc
from framelane_core.descriptors import GEN_DIR
from framelane_gateway.service import Edge


class SystemServicer(system_pb2_grpc.SystemServiceServicer):
    def __init__(self, edge: Edge, version: str, git_commit: str):
        self.edge, self.version, self.git_commit = edge, version, git_commit
        self.openapi = (GEN_DIR / "openapi.json").read_bytes()

    async def GetCapabilities(self, request, context):
        return json_format.ParseDict(await self.edge.capabilities(), struct_pb2.Struct())

    async def Healthz(self, request, context):
        return system_pb2.HealthStatus(status="ok")

    async def Readyz(self, request, context):
        return system_pb2.HealthStatus(status="ok", backends=await self.edge.ready())

    async def GetVersion(self, request, context):
        return system_pb2.Version(version=self.version, api="v1", git_commit=self.git_commit)

    async def GetOpenApi(self, request, context):
        return httpbody_pb2.HttpBody(content_type="application/json", data=self.openapi)
