"""Conversions between Python values and the proto types the contract uses."""

from datetime import datetime

from google.protobuf import json_format, struct_pb2, timestamp_pb2


def timestamp(dt: datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(dt.replace(microsecond=dt.microsecond - dt.microsecond % 1000))
    return ts


def nullable(value) -> struct_pb2.Value:
    """A google.protobuf.Value printing as the value, or as JSON null for None.

    Datetimes become ISO-8601 UTC strings with a Z, as timestamps appear everywhere else."""
    v = struct_pb2.Value()
    if value is None:
        v.null_value = struct_pb2.NULL_VALUE
    elif isinstance(value, datetime):
        v.string_value = timestamp(value).ToJsonString()
    elif isinstance(value, bool):
        v.bool_value = value
    elif isinstance(value, int | float):
        v.number_value = value
    else:
        v.string_value = str(value)
    return v


def rest_json(message) -> dict:
    """A message as the REST faces print it: proto field names, fields without presence included."""
    return json_format.MessageToDict(message, preserving_proto_field_name=True,
                                     always_print_fields_with_no_presence=True)


def integral_numbers(value):
    """JSON that arrived as a protobuf Struct has every number as a double: 1920.0 → 1920."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: integral_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [integral_numbers(v) for v in value]
    return value
