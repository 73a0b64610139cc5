from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class EgressServed(_message.Message):
    __slots__ = ("bytes", "responses")
    BYTES_FIELD_NUMBER: _ClassVar[int]
    RESPONSES_FIELD_NUMBER: _ClassVar[int]
    bytes: int
    responses: int
    def __init__(self, bytes: _Optional[int] = ..., responses: _Optional[int] = ...) -> None: ...
