from datetime import UTC, datetime

import grpc
import pytest

from framelane.api.v1 import errors_pb2
from framelane_core.errors import InvalidRequest, RateLimited, from_rpc_error, to_status, violation
from framelane_usage.service import usage_period
from google.rpc import error_details_pb2


def test_status_carries_error_info_first_and_envelope_last():
    err = InvalidRequest("bad", details=[violation("$.name", "length", "too long")])
    status = to_status(err, "req_1")
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    info, env = error_details_pb2.ErrorInfo(), errors_pb2.ErrorEnvelope()
    status.details[0].Unpack(info)
    status.details[-1].Unpack(env)
    assert info.reason == "invalid_request"
    assert env.error.code == "invalid_request" and env.error.request_id == "req_1"
    assert env.error.details.list_value.values[0].struct_value["path"] == "$.name"


def test_details_default_to_null_and_retry_after_is_carried():
    env = errors_pb2.ErrorEnvelope()
    to_status(RateLimited("slow down", retry_after_seconds=7), "r").details[-1].Unpack(env)
    assert env.error.details.WhichOneof("kind") == "null_value"
    assert env.error.retry_after_seconds.value == 7


def test_usage_period_is_the_calendar_month_or_a_rolling_window():
    now = datetime(2026, 2, 14, 12, tzinfo=UTC)
    assert usage_period(None, now) == (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))
    start, end = usage_period("7d", now)
    assert (end - start).days == 7 and end == now
    with pytest.raises(InvalidRequest):
        usage_period("1y", now)


@pytest.mark.parametrize("status", [grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE])
def test_a_dependency_timing_out_or_down_is_unavailable_not_internal(status):
    error = from_rpc_error(grpc.aio.AioRpcError(status, grpc.aio.Metadata(), grpc.aio.Metadata(), details="x"))
    assert error.code == "unavailable" and error.grpc_code == grpc.StatusCode.UNAVAILABLE
