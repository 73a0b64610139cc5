import datetime

from framelane.api.v1 import annotations_pb2 as _annotations_pb2
from google.api import annotations_pb2 as _annotations_pb2_1
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ApiKey(_message.Message):
    __slots__ = ("id", "name", "key_prefix", "created_at", "last_used_at", "revoked_at", "key")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KEY_PREFIX_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_USED_AT_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    key_prefix: str
    created_at: _timestamp_pb2.Timestamp
    last_used_at: _struct_pb2.Value
    revoked_at: _struct_pb2.Value
    key: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., key_prefix: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_used_at: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., revoked_at: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., key: _Optional[str] = ...) -> None: ...

class CreateApiKeyRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListApiKeysRequest(_message.Message):
    __slots__ = ("limit", "cursor")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    limit: int
    cursor: str
    def __init__(self, limit: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class ListApiKeysResponse(_message.Message):
    __slots__ = ("data", "next_cursor", "has_more")
    DATA_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    data: _containers.RepeatedCompositeFieldContainer[ApiKey]
    next_cursor: _struct_pb2.Value
    has_more: bool
    def __init__(self, data: _Optional[_Iterable[_Union[ApiKey, _Mapping]]] = ..., next_cursor: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., has_more: _Optional[bool] = ...) -> None: ...

class RevokeApiKeyRequest(_message.Message):
    __slots__ = ("key_id",)
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    def __init__(self, key_id: _Optional[str] = ...) -> None: ...

class Workspace(_message.Message):
    __slots__ = ("id", "name", "plan", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    plan: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., plan: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetWorkspaceRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UpdateWorkspaceRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteWorkspaceRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AuthenticateRequest(_message.Message):
    __slots__ = ("api_key",)
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    api_key: str
    def __init__(self, api_key: _Optional[str] = ...) -> None: ...

class Principal(_message.Message):
    __slots__ = ("workspace_id", "key_id", "plan")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    key_id: str
    plan: str
    def __init__(self, workspace_id: _Optional[str] = ..., key_id: _Optional[str] = ..., plan: _Optional[str] = ...) -> None: ...

class SignupRequest(_message.Message):
    __slots__ = ("workspace_name", "email")
    WORKSPACE_NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    workspace_name: str
    email: str
    def __init__(self, workspace_name: _Optional[str] = ..., email: _Optional[str] = ...) -> None: ...

class SignupResponse(_message.Message):
    __slots__ = ("workspace", "api_key", "email_verification")
    WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    EMAIL_VERIFICATION_FIELD_NUMBER: _ClassVar[int]
    workspace: Workspace
    api_key: ApiKey
    email_verification: str
    def __init__(self, workspace: _Optional[_Union[Workspace, _Mapping]] = ..., api_key: _Optional[_Union[ApiKey, _Mapping]] = ..., email_verification: _Optional[str] = ...) -> None: ...

class VerifySignupRequest(_message.Message):
    __slots__ = ("email", "otp_code")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    OTP_CODE_FIELD_NUMBER: _ClassVar[int]
    email: str
    otp_code: str
    def __init__(self, email: _Optional[str] = ..., otp_code: _Optional[str] = ...) -> None: ...

class VerifySignupResponse(_message.Message):
    __slots__ = ("workspace", "email_verification")
    WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    EMAIL_VERIFICATION_FIELD_NUMBER: _ClassVar[int]
    workspace: Workspace
    email_verification: str
    def __init__(self, workspace: _Optional[_Union[Workspace, _Mapping]] = ..., email_verification: _Optional[str] = ...) -> None: ...
