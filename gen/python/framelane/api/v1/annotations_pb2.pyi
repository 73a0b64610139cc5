from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor
SERVICE_POLICY_FIELD_NUMBER: _ClassVar[int]
service_policy: _descriptor.FieldDescriptor
METHOD_POLICY_FIELD_NUMBER: _ClassVar[int]
method_policy: _descriptor.FieldDescriptor
FIELD_SCHEMA_FIELD_NUMBER: _ClassVar[int]
field_schema: _descriptor.FieldDescriptor

class MethodPolicy(_message.Message):
    __slots__ = ("public", "success_status", "rate_class", "internal", "idempotency")
    PUBLIC_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_STATUS_FIELD_NUMBER: _ClassVar[int]
    RATE_CLASS_FIELD_NUMBER: _ClassVar[int]
    INTERNAL_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_FIELD_NUMBER: _ClassVar[int]
    public: bool
    success_status: int
    rate_class: str
    internal: bool
    idempotency: str
    def __init__(self, public: _Optional[bool] = ..., success_status: _Optional[int] = ..., rate_class: _Optional[str] = ..., internal: _Optional[bool] = ..., idempotency: _Optional[str] = ...) -> None: ...

class FieldSchema(_message.Message):
    __slots__ = ("enum", "format", "value_type", "description", "minimum", "maximum", "min_length", "max_length")
    ENUM_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    VALUE_TYPE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_FIELD_NUMBER: _ClassVar[int]
    MAXIMUM_FIELD_NUMBER: _ClassVar[int]
    MIN_LENGTH_FIELD_NUMBER: _ClassVar[int]
    MAX_LENGTH_FIELD_NUMBER: _ClassVar[int]
    enum: _containers.RepeatedScalarFieldContainer[str]
    format: str
    value_type: str
    description: str
    minimum: float
    maximum: float
    min_length: int
    max_length: int
    def __init__(self, enum: _Optional[_Iterable[str]] = ..., format: _Optional[str] = ..., value_type: _Optional[str] = ..., description: _Optional[str] = ..., minimum: _Optional[float] = ..., maximum: _Optional[float] = ..., min_length: _Optional[int] = ..., max_length: _Optional[int] = ...) -> None: ...

class ServicePolicy(_message.Message):
    __slots__ = ("owner",)
    OWNER_FIELD_NUMBER: _ClassVar[int]
    owner: str
    def __init__(self, owner: _Optional[str] = ...) -> None: ...
