from framelane.api.v1 import annotations_pb2 as _annotations_pb2
from framelane.api.v1 import job_pb2 as _job_pb2
from google.api import annotations_pb2 as _annotations_pb2_1
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import wrappers_pb2 as _wrappers_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateRenderRequest(_message.Message):
    __slots__ = ("spec",)
    SPEC_FIELD_NUMBER: _ClassVar[int]
    spec: _struct_pb2.Struct
    def __init__(self, spec: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ListRendersRequest(_message.Message):
    __slots__ = ("limit", "cursor", "status")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    limit: int
    cursor: str
    status: str
    def __init__(self, limit: _Optional[int] = ..., cursor: _Optional[str] = ..., status: _Optional[str] = ...) -> None: ...

class GetRenderRequest(_message.Message):
    __slots__ = ("id", "wait")
    ID_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    id: str
    wait: float
    def __init__(self, id: _Optional[str] = ..., wait: _Optional[float] = ...) -> None: ...

class CancelRenderRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetRenderDownloadRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class PreviewRequest(_message.Message):
    __slots__ = ("render_request", "dry_run", "at")
    RENDER_REQUEST_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    render_request: _struct_pb2.Struct
    dry_run: bool
    at: _wrappers_pb2.DoubleValue
    def __init__(self, render_request: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., dry_run: _Optional[bool] = ..., at: _Optional[_Union[_wrappers_pb2.DoubleValue, _Mapping]] = ...) -> None: ...

class PreviewResponse(_message.Message):
    __slots__ = ("valid", "violations", "warnings", "duration", "render_minutes", "preview")
    VALID_FIELD_NUMBER: _ClassVar[int]
    VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    RENDER_MINUTES_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    violations: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    warnings: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    duration: float
    render_minutes: float
    preview: _struct_pb2.Value
    def __init__(self, valid: _Optional[bool] = ..., violations: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., warnings: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., duration: _Optional[float] = ..., render_minutes: _Optional[float] = ..., preview: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class SubmitChildRenderRequest(_message.Message):
    __slots__ = ("workspace_id", "parent_id", "spec")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    parent_id: str
    spec: _struct_pb2.Struct
    def __init__(self, workspace_id: _Optional[str] = ..., parent_id: _Optional[str] = ..., spec: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ChildRenderRequest(_message.Message):
    __slots__ = ("workspace_id", "render_id", "wait")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    RENDER_ID_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    render_id: str
    wait: float
    def __init__(self, workspace_id: _Optional[str] = ..., render_id: _Optional[str] = ..., wait: _Optional[float] = ...) -> None: ...
