"""API key authentication for every service: `authorization: Bearer fl_...` metadata resolved to a
workspace by the usage service, cached briefly (revocation is effective within the cache TTL)."""

import asyncio
import time
from collections.abc import Awaitable, Callable

import grpc

from framelane.usage.v1 import account_pb2, account_pb2_grpc
from framelane_core import metrics
from framelane_core.context import Principal
from framelane_core.errors import FramelaneError, Unauthorized, from_rpc_error

Resolver = Callable[[str], Awaitable[Principal]]


def bearer_token(authorization: str | None) -> str:
    """The key from an Authorization header value, or Unauthorized."""
    if not authorization:
        raise Unauthorized("Missing Authorization header.")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization header must be 'Bearer <api key>'.")
    return token.strip()


class CachedAuthenticator:
    """Resolves keys through `resolver`, remembering answers (and refusals) for `ttl` seconds.

    Concurrent lookups of one key share a single call to the resolver."""

    def __init__(self, resolver: Resolver, ttl: float, service: str, clock=time.monotonic):
        self.resolver, self.ttl, self.service, self.clock = resolver, ttl, service, clock
        self._cache: dict[str, tuple[float, Principal | FramelaneError]] = {}
        self._inflight: dict[str, asyncio.Future] = {}

    async def authenticate(self, authorization: str | None) -> Principal:
        key = bearer_token(authorization)
        now = self.clock()
        hit = self._cache.get(key)
        if hit and hit[0] > now:
            metrics.AUTH_CACHE.labels(self.service, "hit").inc()
            return self._unwrap(hit[1])
        metrics.AUTH_CACHE.labels(self.service, "miss").inc()
        pending = self._inflight.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._resolve(key))
            self._inflight[key] = pending
            pending.add_done_callback(lambda _: self._inflight.pop(key, None))
        return self._unwrap(await asyncio.shield(pending))

    async def _resolve(self, key: str) -> Principal | FramelaneError:
        try:
            result: Principal | FramelaneError = await self.resolver(key)
        except (Unauthorized, FramelaneError) as err:
            if err.grpc_code not in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
                raise
            result = err
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (self.clock() + self.ttl, result)
        return result

    @staticmethod
    def _unwrap(result: Principal | FramelaneError) -> Principal:
        if isinstance(result, FramelaneError):
            raise result
        return result


class UsageResolver:
    """Asks the usage service's AccountService.Authenticate over gRPC."""

    def __init__(self, channel: grpc.aio.Channel):
        self.stub = account_pb2_grpc.AccountServiceStub(channel)

    async def __call__(self, key: str) -> Principal:
        try:
            p = await self.stub.Authenticate(account_pb2.AuthenticateRequest(api_key=key), timeout=5)
        except grpc.aio.AioRpcError as err:
            raise from_rpc_error(err) from None
        return Principal(workspace_id=p.workspace_id, key_id=p.key_id, plan=p.plan)
