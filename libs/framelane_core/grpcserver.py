"""The gRPC server every service runs: one interceptor (request id, auth, metrics, errors),
grpc.health.v1 and reflection. Method policy (public or not) is read from the proto options."""

import logging
import time

import grpc
from google.protobuf import descriptor_pool
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from framelane.api.v1 import annotations_pb2
from framelane_core import metrics
from framelane_core.auth import CachedAuthenticator
from framelane_core.context import principal_var, request_id_var
from framelane_core.errors import FramelaneError, Internal, to_status
from framelane_core.ids import new_id
from framelane_core.ratelimit import RateLimiter

log = logging.getLogger(__name__)
HTTP_STATUS_HEADER = "x-fl-http-status"


def method_is_public(full_method: str) -> bool:
    """True when the method needs no API key: marked public, or not one of ours (health, reflection)."""
    name = full_method.lstrip("/").replace("/", ".")
    if not name.startswith("framelane."):
        return True
    try:
        method = descriptor_pool.Default().FindMethodByName(name)
    except KeyError:
        return False
    return method.GetOptions().Extensions[annotations_pb2.method_policy].public


def method_rate_class(full_method: str) -> str:
    """The method's method_policy.rate_class ("default" when unset or not one of ours)."""
    try:
        method = descriptor_pool.Default().FindMethodByName(full_method.lstrip("/").replace("/", "."))
    except KeyError:
        return "default"
    return method.GetOptions().Extensions[annotations_pb2.method_policy].rate_class or "default"


async def set_http_status(context: grpc.aio.ServicerContext, status: int, location: str | None = None) -> None:
    """Asks the REST gateway to answer `status` (201, 202, 204, 302...) for this success, with a
    Location header for redirects."""
    headers = [(HTTP_STATUS_HEADER, str(status))] + ([("location", location)] if location else [])
    await context.send_initial_metadata(headers)


def _metadata_value(context, key: str) -> str | None:
    for k, v in context.invocation_metadata() or ():
        if k == key:
            return v
    return None


class CoreInterceptor(grpc.aio.ServerInterceptor):
    """Per RPC: request id into the log context, API key to principal, metrics, and every
    exception turned into a google.rpc.Status (never a traceback to the client)."""

    def __init__(self, service: str, authenticator: CachedAuthenticator | None,
                 rate_limiter: RateLimiter | None = None):
        self.service = service
        self.authenticator = authenticator
        self.rate_limiter = rate_limiter
        self._public: dict[str, bool] = {}
        self._rate_class: dict[str, str] = {}

    async def intercept_service(self, continuation, details):
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        method = details.method
        if method not in self._public:
            self._public[method] = method_is_public(method)
        needs_auth = not self._public[method] and self.authenticator is not None
        if method not in self._rate_class:
            self._rate_class[method] = method_rate_class(method)
        rate_class = self._rate_class[method]
        limiter = self.rate_limiter if needs_auth else None
        inner = handler.unary_unary
        short = method.rsplit("/", 1)[-1]

        async def wrapper(request, context):
            request_id = _metadata_value(context, "x-request-id") or new_id("req")
            rid_token = request_id_var.set(request_id)
            principal_token = principal_var.set(None)
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            try:
                if needs_auth:
                    principal = await self.authenticator.authenticate(_metadata_value(context, "authorization"))
                    principal_var.set(principal)
                    if limiter is not None:
                        await limiter.check(principal, rate_class)
                return await inner(request, context)
            except FramelaneError as err:
                code = err.grpc_code
                await self._abort(context, err, request_id)
            except grpc.aio.AbortError:
                code = context.code() or grpc.StatusCode.UNKNOWN
                raise
            except Exception:
                code = grpc.StatusCode.INTERNAL
                log.exception("unhandled error in %s", method)
                await self._abort(context, Internal("Internal error."), request_id)
            finally:
                metrics.RPC_HANDLED.labels(self.service, short, code.name).inc()
                metrics.RPC_SECONDS.labels(self.service, short).observe(time.perf_counter() - started)
                principal_var.reset(principal_token)
                request_id_var.reset(rid_token)

        return grpc.unary_unary_rpc_method_handler(
            wrapper, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    @staticmethod
    async def _abort(context, err: FramelaneError, request_id: str):
        status = to_status(err, request_id)
        await context.abort(
            err.grpc_code, err.message,
            trailing_metadata=(("grpc-status-details-bin", status.SerializeToString()),),
        )


def build_server(service: str, authenticator: CachedAuthenticator | None, service_names: list[str],
                 rate_limiter: RateLimiter | None = None):
    """A grpc.aio server with the core interceptor, health and reflection registered.

    Returns (server, health_servicer); the caller registers its servicers and binds a port."""
    server = grpc.aio.server(
        interceptors=[CoreInterceptor(service, authenticator, rate_limiter)],
        options=[("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", 64 * 1024 * 1024)],
    )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection([*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    return server, health_servicer


SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
