from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WebhookPayload(_message.Message):
    __slots__ = ("data", "webhook_url", "beatapi_data")
    DATA_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_URL_FIELD_NUMBER: _ClassVar[int]
    BEATAPI_DATA_FIELD_NUMBER: _ClassVar[int]
    data: _struct_pb2.Struct
    webhook_url: str
    beatapi_data: _struct_pb2.Struct
    def __init__(self, data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., webhook_url: _Optional[str] = ..., beatapi_data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class WebhookDisabled(_message.Message):
    __slots__ = ("webhook_id", "url", "reason")
    WEBHOOK_ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    webhook_id: str
    url: str
    reason: str
    def __init__(self, webhook_id: _Optional[str] = ..., url: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...
