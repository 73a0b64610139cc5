"""Each backend serves its part of GET /v1/capabilities through CapabilitiesProvider."""

from collections.abc import Callable

from google.protobuf import json_format, struct_pb2

from framelane.api.v1 import capabilities_pb2, capabilities_pb2_grpc


class CapabilitiesServicer(capabilities_pb2_grpc.CapabilitiesProviderServicer):
    """Serves the dict `describe()` returns, generated from the service's own tables."""

    def __init__(self, describe: Callable[[], dict]):
        self.describe = describe

    async def DescribeCapabilities(self, request: capabilities_pb2.DescribeCapabilitiesRequest, context):
        return json_format.ParseDict(self.describe(), struct_pb2.Struct())


SERVICE_NAME = capabilities_pb2.DESCRIPTOR.services_by_name["CapabilitiesProvider"].full_name


def register(server, describe: Callable[[], dict]) -> None:
    capabilities_pb2_grpc.add_CapabilitiesProviderServicer_to_server(CapabilitiesServicer(describe), server)
