from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class ApiKeyCreated(_message.Message):
    __slots__ = ("key_id", "name")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    name: str
    def __init__(self, key_id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class ApiKeyRevoked(_message.Message):
    __slots__ = ("key_id",)
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    def __init__(self, key_id: _Optional[str] = ...) -> None: ...

class WorkspaceUpdated(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class WorkspaceDeleted(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
