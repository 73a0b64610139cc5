import datetime

from framelane.api.v1 import annotations_pb2 as _annotations_pb2
from google.api import annotations_pb2 as _annotations_pb2_1
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AdmitRenderRequest(_message.Message):
    __slots__ = ("workspace_id", "job_id", "render_minutes")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    RENDER_MINUTES_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    job_id: str
    render_minutes: float
    def __init__(self, workspace_id: _Optional[str] = ..., job_id: _Optional[str] = ..., render_minutes: _Optional[float] = ...) -> None: ...

class Admission(_message.Message):
    __slots__ = ("render_minutes_remaining",)
    RENDER_MINUTES_REMAINING_FIELD_NUMBER: _ClassVar[int]
    render_minutes_remaining: _struct_pb2.Value
    def __init__(self, render_minutes_remaining: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class GetWorkspaceUsageRequest(_message.Message):
    __slots__ = ("period",)
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    period: str
    def __init__(self, period: _Optional[str] = ...) -> None: ...

class WorkspaceUsage(_message.Message):
    __slots__ = ("period_start", "period_end", "render_minutes", "task_count", "egress_bytes", "plan", "render_minutes_limit", "render_minutes_reserved")
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    RENDER_MINUTES_FIELD_NUMBER: _ClassVar[int]
    TASK_COUNT_FIELD_NUMBER: _ClassVar[int]
    EGRESS_BYTES_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    RENDER_MINUTES_LIMIT_FIELD_NUMBER: _ClassVar[int]
    RENDER_MINUTES_RESERVED_FIELD_NUMBER: _ClassVar[int]
    period_start: _timestamp_pb2.Timestamp
    period_end: _timestamp_pb2.Timestamp
    render_minutes: float
    task_count: int
    egress_bytes: float
    plan: str
    render_minutes_limit: _struct_pb2.Value
    render_minutes_reserved: float
    def __init__(self, period_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., render_minutes: _Optional[float] = ..., task_count: _Optional[int] = ..., egress_bytes: _Optional[float] = ..., plan: _Optional[str] = ..., render_minutes_limit: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., render_minutes_reserved: _Optional[float] = ...) -> None: ...
