"""Edge logic: readiness of every backend and the merged capabilities catalog."""

import asyncio
import time

import grpc
from google.protobuf import json_format
from grpc_health.v1 import health_pb2, health_pb2_grpc

from framelane.api.v1 import capabilities_pb2, capabilities_pb2_grpc
from framelane_core.config import BACKENDS
from framelane_core.descriptors import idempotency_catalog, load_contract
from framelane_core.errors import Unavailable


class Edge:
    """Asks the backends; channels are shared with the app's resources."""

    def __init__(self, channel_for, cache_seconds: float = 5.0):
        self.channel_for = channel_for
        self.cache_seconds = cache_seconds
        self._catalog: tuple[float, dict] | None = None
        self.idempotency = idempotency_catalog(load_contract())

    async def backend_health(self) -> dict[str, str]:
        """Each backend's grpc.health.v1 answer: serving, not_serving or unreachable."""

        async def check(name: str) -> str:
            stub = health_pb2_grpc.HealthStub(self.channel_for(name))
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1.0)
            except grpc.aio.AioRpcError:
                return "unreachable"
            return "serving" if reply.status == health_pb2.HealthCheckResponse.SERVING else "not_serving"

        states = await asyncio.gather(*(check(n) for n in BACKENDS))
        return dict(zip(BACKENDS, states, strict=True))

    async def ready(self) -> dict[str, str]:
        """Backend states when all serve; Unavailable (503) naming the ones that do not."""
        states = await self.backend_health()
        down = sorted(n for n, s in states.items() if s != "serving")
        if down:
            raise Unavailable(f"Not ready: {', '.join(down)}.", details={"backends": states})
        return states

    async def capabilities(self) -> dict:
        """Every backend's part merged into one catalog (cached for a few seconds)."""
        now = time.monotonic()
        if self._catalog and self._catalog[0] > now:
            return self._catalog[1]

        async def part(name: str) -> dict:
            stub = capabilities_pb2_grpc.CapabilitiesProviderStub(self.channel_for(name))
            try:
                reply = await stub.DescribeCapabilities(capabilities_pb2.DescribeCapabilitiesRequest(), timeout=5.0)
            except grpc.aio.AioRpcError as err:
                raise Unavailable(f"The {name} service did not answer: {err.code().name}.") from None
            return json_format.MessageToDict(reply)

        merged: dict = {"idempotency": self.idempotency}
        for piece in await asyncio.gather(*(part(n) for n in BACKENDS)):
            merged.update(piece)
        self._catalog = (now + self.cache_seconds, merged)
        return merged
