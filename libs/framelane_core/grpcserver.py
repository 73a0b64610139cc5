"""The gRPC server every service runs: one interceptor (request id, auth, metrics, errors),
grpc.health.v1 and reflection. Method policy (public or not) is read from the proto options."""

import hashlib
import logging
import time
from contextvars import ContextVar

import grpc
import psycopg
import psycopg_pool
from google.api import annotations_pb2 as http_annotations_pb2
from google.protobuf import descriptor_pool, struct_pb2
from google.protobuf.message import DecodeError
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from framelane.api.v1 import annotations_pb2
from framelane_core import metrics
from framelane_core.auth import CachedAuthenticator
from framelane_core.context import principal_var, request_id_var
from framelane_core.errors import FramelaneError, Internal, InvalidRequest, Unavailable, to_status, violation
from framelane_core.idempotency import ResponseStore, idempotency_key
from framelane_core.ids import new_id
from framelane_core.ratelimit import RateLimiter

log = logging.getLogger(__name__)
HTTP_STATUS_HEADER = "x-fl-http-status"


class _Headers:
    """Response headers an RPC owes its caller (X-RateLimit-*), sent with the first initial metadata."""

    def __init__(self, headers: list[tuple[str, str]]):
        self.headers, self.sent = headers, False


_owed: ContextVar[_Headers | None] = ContextVar("framelane_owed_headers", default=None)


def _take_owed() -> list[tuple[str, str]]:
    """The headers this RPC still owes (empty once they went out with some initial metadata)."""
    owed = _owed.get()
    if owed is None or owed.sent:
        return []
    owed.sent = True
    return owed.headers


def stores_responses(full_method: str) -> bool:
    """True for an authenticated POST route whose Idempotency-Key the interceptor honours by storing
    its response (method_policy.idempotency unset); job creations do it themselves ("transaction")."""
    name = full_method.lstrip("/").replace("/", ".")
    try:
        method = descriptor_pool.Default().FindMethodByName(name)
    except KeyError:
        return False
    options = method.GetOptions()
    policy = options.Extensions[annotations_pb2.method_policy]
    return bool(options.Extensions[http_annotations_pb2.http].post) and not policy.public and not policy.idempotency


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


def method_body_field(full_method: str) -> str:
    """The request field the REST body maps to (google.api.http `body`: "spec", "params"), or ""."""
    try:
        method = descriptor_pool.Default().FindMethodByName(full_method.lstrip("/").replace("/", "."))
    except KeyError:
        return ""
    body = method.GetOptions().Extensions[http_annotations_pb2.http].body
    return "" if body == "*" else body


async def set_http_status(context: grpc.aio.ServicerContext, status: int, location: str | None = None) -> None:
    """Asks the REST gateway to answer `status` (201, 202, 204, 302...) for this success, with a
    Location header for redirects."""
    headers = [(HTTP_STATUS_HEADER, str(status))] + ([("location", location)] if location else [])
    await context.send_initial_metadata(headers + _take_owed())


# What a request deserializer answers for bytes that are no message of its type (the transcoder
# passes a path or query parameter's bytes on as they are, valid UTF-8 or not).
_UNDECODABLE = object()


def _lenient(deserialize):
    """The method's request deserializer, answering _UNDECODABLE where it would raise."""
    if deserialize is None:
        return None

    def parse(raw: bytes):
        try:
            return deserialize(raw)
        except DecodeError:
            return _UNDECODABLE
    return parse


def _first(paths) -> str | None:
    return next((p for p in paths if p is not None), None)


def nul_path(value, path: str = "$") -> str | None:
    """The JSON path of the first string in a request that holds a NUL character (PostgreSQL can
    store none), or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, struct_pb2.Value):
        kind = value.WhichOneof("kind")
        return nul_path(getattr(value, kind), path) if kind else None
    if isinstance(value, struct_pb2.ListValue):
        return _first(nul_path(v, f"{path}[{i}]") for i, v in enumerate(value.values))
    if isinstance(value, struct_pb2.Struct):
        return _first(nul_path(k, f"{path}.{k}") or nul_path(v, f"{path}.{k}") for k, v in value.fields.items())
    if not hasattr(value, "ListFields"):  # numbers, booleans, bytes
        return None
    for field, item in value.ListFields():
        at = f"{path}.{field.name}"
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            found = _first(nul_path(k, f"{at}.{k}") or nul_path(v, f"{at}.{k}") for k, v in item.items())
        elif field.is_repeated:
            found = _first(nul_path(v, f"{at}[{i}]") for i, v in enumerate(item))
        else:
            found = nul_path(item, at)
        if found is not None:
            return found
    return None


def _check_request(request, body_field: str) -> None:
    """Refuses (422 invalid_request) what no handler can take: bytes that are no message, text with
    NUL. Paths are the client's: inside the REST body when the body is one field of the request."""
    if request is _UNDECODABLE:
        raise InvalidRequest("The request is not valid: text must be UTF-8.", details=[
            violation("$", "invalid_encoding", "Path, query and body text must be valid UTF-8.")])
    if (path := nul_path(request)) is not None:
        if body_field and (path + ".").startswith(f"$.{body_field}."):
            path = "$" + path[len(body_field) + 2:]
        raise InvalidRequest("Text must not contain NUL characters.", details=[
            violation(path, "invalid_character", "Must not contain NUL (U+0000) characters.")])


def _metadata_value(context, key: str) -> str | None:
    for k, v in context.invocation_metadata() or ():
        if k == key:
            return v
    return None


class CoreInterceptor(grpc.aio.ServerInterceptor):
    """Per RPC: request id into the log context, API key to principal, metrics, and every
    exception turned into a google.rpc.Status (never a traceback to the client)."""

    def __init__(self, service: str, authenticator: CachedAuthenticator | None,
                 rate_limiter: RateLimiter | None = None, responses: ResponseStore | None = None):
        self.service = service
        self.authenticator = authenticator
        self.rate_limiter = rate_limiter
        self.responses = responses
        self._public: dict[str, bool] = {}
        self._rate_class: dict[str, str] = {}
        self._body_field: dict[str, str] = {}

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
        if method not in self._body_field:
            self._body_field[method] = method_body_field(method)
        body_field = self._body_field[method]
        limiter = self.rate_limiter if needs_auth else None
        inner = handler.unary_unary
        short = method.rsplit("/", 1)[-1]
        responses = self.responses if needs_auth and self.responses is not None and stores_responses(method) else None

        async def wrapper(request, context):
            request_id = _metadata_value(context, "x-request-id") or new_id("req")
            rid_token = request_id_var.set(request_id)
            principal_token = principal_var.set(None)
            owed_token = _owed.set(None)
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            try:
                if needs_auth:
                    principal = await self.authenticator.authenticate(_metadata_value(context, "authorization"))
                    principal_var.set(principal)
                    if limiter is not None:
                        quota = await limiter.check(principal, rate_class)
                        if quota is not None:
                            _owed.set(_Headers(quota.headers()))
                _check_request(request, body_field)
                if responses is not None and (key := idempotency_key(context)) is not None:
                    reply = await self._idempotent(responses, principal.workspace_id, short, key, request, context,
                                                   inner)
                else:
                    reply = await inner(request, context)
                if owed := _take_owed():
                    await context.send_initial_metadata(owed)
                return reply
            except FramelaneError as err:
                code = err.grpc_code
                await self._abort(context, err, request_id)
            except grpc.aio.AbortError:
                code = context.code() or grpc.StatusCode.UNKNOWN
                raise
            except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as exc:
                # PostgreSQL restarting, failing over or out of connections: transient, so 503 (retry).
                code = grpc.StatusCode.UNAVAILABLE
                log.warning("database unavailable in %s: %s", method, type(exc).__name__)
                await self._abort(context, Unavailable("The database is unavailable; retry the request."), request_id)
            except Exception:
                code = grpc.StatusCode.INTERNAL
                log.exception("unhandled error in %s", method)
                await self._abort(context, Internal("Internal error."), request_id)
            finally:
                metrics.RPC_HANDLED.labels(self.service, short, code.name).inc()
                metrics.RPC_SECONDS.labels(self.service, short).observe(time.perf_counter() - started)
                _owed.reset(owed_token)
                principal_var.reset(principal_token)
                request_id_var.reset(rid_token)

        serialize = handler.response_serializer
        return grpc.unary_unary_rpc_method_handler(
            wrapper, request_deserializer=_lenient(handler.request_deserializer),
            # A replayed answer is the stored bytes themselves.
            response_serializer=(lambda r: r if isinstance(r, bytes) else serialize(r)) if responses else serialize,
        )

    @staticmethod
    async def _idempotent(responses: ResponseStore, ws_id: str, method: str, key: str, request, context, inner):
        """Runs the POST once per Idempotency-Key: a replay answers the stored response (200)."""
        body_hash = hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest()
        stored = await responses.begin(ws_id, method, key, body_hash)
        if stored is not None:
            return stored
        try:
            reply = await inner(request, context)
        except BaseException:
            await responses.release(ws_id, method, key)
            raise
        await responses.finish(ws_id, method, key, reply.SerializeToString())
        return reply

    @staticmethod
    async def _abort(context, err: FramelaneError, request_id: str):
        status = to_status(err, request_id)
        if owed := _take_owed():  # errors report the key's budget too
            await context.send_initial_metadata(owed)
        await context.abort(
            err.grpc_code, err.message,
            trailing_metadata=(("grpc-status-details-bin", status.SerializeToString()),),
        )


def build_server(service: str, authenticator: CachedAuthenticator | None, service_names: list[str],
                 rate_limiter: RateLimiter | None = None, responses: ResponseStore | None = None):
    """A grpc.aio server with the core interceptor, health and reflection registered.

    Returns (server, health_servicer); the caller registers its servicers and binds a port."""
    server = grpc.aio.server(
        interceptors=[CoreInterceptor(service, authenticator, rate_limiter, responses)],
        options=[("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", 64 * 1024 * 1024)],
    )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection([*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    return server, health_servicer


SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
