from framelane.api.v1 import annotations_pb2 as _annotations_pb2
from google.api import annotations_pb2 as _annotations_pb2_1
from google.api import httpbody_pb2 as _httpbody_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class GetCapabilitiesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class HealthzRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReadyzRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetVersionRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetOpenApiRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class HealthStatus(_message.Message):
    __slots__ = ("status", "backends")
    class BackendsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    STATUS_FIELD_NUMBER: _ClassVar[int]
    BACKENDS_FIELD_NUMBER: _ClassVar[int]
    status: str
    backends: _containers.ScalarMap[str, str]
    def __init__(self, status: _Optional[str] = ..., backends: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Version(_message.Message):
    __slots__ = ("version", "api", "git_commit")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    API_FIELD_NUMBER: _ClassVar[int]
    GIT_COMMIT_FIELD_NUMBER: _ClassVar[int]
    version: str
    api: str
    git_commit: str
    def __init__(self, version: _Optional[str] = ..., api: _Optional[str] = ..., git_commit: _Optional[str] = ...) -> None: ...
