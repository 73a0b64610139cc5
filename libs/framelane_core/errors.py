"""The domain exception tree. Each error carries a gRPC code and a stable string code; the server
interceptor turns it into google.rpc.Status with ErrorInfo and the REST error envelope.

    FramelaneError
      InvalidRequest (422 invalid_request, with violations), BadRequest (400)
      Unauthorized (401), Forbidden (403), NotFound (404), Conflict (409), NotReady (409),
      PaymentRequired (402), RateLimited (429), Unavailable (503), Internal (500)
"""

from typing import Any

import grpc
from google.protobuf import any_pb2, json_format, struct_pb2
from google.rpc import error_details_pb2, status_pb2

from framelane.api.v1 import errors_pb2

ERROR_DOMAIN = "framelane.io"


class FramelaneError(Exception):
    """An error a client may see: gRPC code, stable code string, message and details."""

    grpc_code = grpc.StatusCode.INTERNAL
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None,
                 retry_after_seconds: int | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details
        self.retry_after_seconds = retry_after_seconds


class BadRequest(FramelaneError):
    grpc_code = grpc.StatusCode.INVALID_ARGUMENT
    code = "bad_request"


class InvalidRequest(FramelaneError):
    """A well-formed request that breaks the schema; details list each violation with its path."""

    grpc_code = grpc.StatusCode.INVALID_ARGUMENT
    code = "invalid_request"


class Unauthorized(FramelaneError):
    grpc_code = grpc.StatusCode.UNAUTHENTICATED
    code = "unauthorized"


class Forbidden(FramelaneError):
    grpc_code = grpc.StatusCode.PERMISSION_DENIED
    code = "forbidden"


class NotFound(FramelaneError):
    grpc_code = grpc.StatusCode.NOT_FOUND
    code = "not_found"


class Conflict(FramelaneError):
    grpc_code = grpc.StatusCode.ABORTED
    code = "conflict"


class NotReady(FramelaneError):
    grpc_code = grpc.StatusCode.FAILED_PRECONDITION
    code = "not_ready"


class PaymentRequired(FramelaneError):
    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED
    code = "quota_exceeded"


class RateLimited(FramelaneError):
    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED
    code = "rate_limited"


class Unavailable(FramelaneError):
    grpc_code = grpc.StatusCode.UNAVAILABLE
    code = "unavailable"


class Internal(FramelaneError):
    grpc_code = grpc.StatusCode.INTERNAL
    code = "internal_error"


# HTTP status of each stable code on the REST faces where it differs from the gRPC code's own
# mapping (google/rpc/code.proto). The Envoy configuration generator reads this table.
HTTP_STATUS_BY_CODE = {
    "invalid_request": 422,
    "unsupported_content_type": 422,
    "source_not_allowed": 422,
    "source_not_found": 422,
    "invalid_source": 422,
    "codec_unsupported": 422,
    "quota_exceeded": 402,
    "insufficient_credits": 402,
    "conflict": 409,
    "idempotency_conflict": 409,
    "not_cancellable": 409,
    "not_ready": 409,
    "rate_limited": 429,
    "concurrency_exceeded": 429,
    "email_not_verified": 403,
    "invalid_otp": 400,
    "otp_expired": 410,
}


def violation(path: str, code: str, message: str) -> dict:
    """One entry of InvalidRequest details."""
    return {"path": path, "code": code, "message": message}


def to_status(error: FramelaneError, request_id: str) -> status_pb2.Status:
    """The google.rpc.Status for an error: ErrorInfo first, the REST envelope last."""
    body = errors_pb2.ErrorBody(code=error.code, message=error.message, request_id=request_id)
    if error.details is None:
        body.details.null_value = struct_pb2.NULL_VALUE
    else:
        json_format.ParseDict(error.details, body.details)
    if error.retry_after_seconds is not None:
        body.retry_after_seconds.value = int(error.retry_after_seconds)
    info = error_details_pb2.ErrorInfo(reason=error.code, domain=ERROR_DOMAIN)
    if error.retry_after_seconds is not None:
        info.metadata["retry_after_seconds"] = str(int(error.retry_after_seconds))
    details = []
    for message in (info, errors_pb2.ErrorEnvelope(error=body)):
        packed = any_pb2.Any()
        packed.Pack(message)
        details.append(packed)
    return status_pb2.Status(code=error.grpc_code.value[0], message=error.message, details=details)


def from_rpc_error(err: grpc.aio.AioRpcError) -> FramelaneError:
    """Turns an error from another service back into the domain error it came from."""
    code = "internal_error"
    details = None
    retry_after = None
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for packed in status.details:
                if packed.Is(errors_pb2.ErrorEnvelope.DESCRIPTOR):
                    env = errors_pb2.ErrorEnvelope()
                    packed.Unpack(env)
                    code = env.error.code
                    details = json_format.MessageToDict(env.error.details) if env.error.HasField("details") else None
                    if env.error.HasField("retry_after_seconds"):
                        retry_after = env.error.retry_after_seconds.value
    for cls in FramelaneError.__subclasses__():
        if cls.grpc_code == err.code() and cls.code == code:
            return cls(err.details() or "", details=details, retry_after_seconds=retry_after)
    if err.code() == grpc.StatusCode.DEADLINE_EXCEEDED and code == "internal_error":
        # A service this one called did not answer in time: transient, so 503 unavailable (retry), not 504/500.
        return Unavailable("A service did not answer in time; retry the request.", details=details,
                           retry_after_seconds=retry_after)
    if err.code() == grpc.StatusCode.UNAVAILABLE and code == "internal_error":
        code = "unavailable"
    error = FramelaneError(err.details() or "", code=code, details=details, retry_after_seconds=retry_after)
    error.grpc_code = err.code()
    return error
