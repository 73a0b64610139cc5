"""Composition root of the gateway's edge service (Envoy itself is started beside it)."""

from framelane.gateway.v1 import system_pb2, system_pb2_grpc
from framelane_core.lifecycle import Resources, ServiceApp
from framelane_core.storage import storage_from_settings
from framelane_gateway.blobs import BlobServer
from framelane_gateway.egress import EgressMeter
from framelane_gateway.service import Edge
from framelane_gateway.servicer import SystemServicer


class GatewayApp(ServiceApp):
    name = "gateway"
    uses_database = False

    def service_names(self) -> list[str]:
        return [system_pb2.DESCRIPTOR.services_by_name["SystemService"].full_name]

    async def wire(self, res: Resources) -> list:
        edge = Edge(res.channel)
        servicer = SystemServicer(edge, self.settings.version, self.settings.git_commit)
        system_pb2_grpc.add_SystemServiceServicer_to_server(servicer, res.server)
        egress = EgressMeter(res.js, self.settings.egress_report_seconds)
        self.blobs = BlobServer(storage_from_settings(self.settings), self.settings.grpc_host,
                                self.settings.gateway_http_port, res.channel("tasks"), egress=egress)
        return [self.blobs, egress]

    async def stop(self) -> None:
        await super().stop()
        await self.blobs.close()
