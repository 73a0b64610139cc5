from framelane.api.v1 import annotations_pb2 as _annotations_pb2
from google.api import annotations_pb2 as _annotations_pb2_1
from google.api import httpbody_pb2 as _httpbody_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListWorkflowsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Workflow(_message.Message):
    __slots__ = ("id", "object", "name", "description")
    ID_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    id: str
    object: str
    name: str
    description: str
    def __init__(self, id: _Optional[str] = ..., object: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class WorkflowList(_message.Message):
    __slots__ = ("object", "data")
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    object: str
    data: _containers.RepeatedCompositeFieldContainer[Workflow]
    def __init__(self, object: _Optional[str] = ..., data: _Optional[_Iterable[_Union[Workflow, _Mapping]]] = ...) -> None: ...

class WorkflowListResponse(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: WorkflowList
    def __init__(self, data: _Optional[_Union[WorkflowList, _Mapping]] = ...) -> None: ...

class CreateTaskRequest(_message.Message):
    __slots__ = ("params",)
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    params: _struct_pb2.Struct
    def __init__(self, params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class GetTaskRequest(_message.Message):
    __slots__ = ("task_id",)
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    def __init__(self, task_id: _Optional[str] = ...) -> None: ...

class TaskUsage(_message.Message):
    __slots__ = ("credits_reserved", "credits_settled", "credits_refunded", "credits_charged", "billable_duration_seconds")
    CREDITS_RESERVED_FIELD_NUMBER: _ClassVar[int]
    CREDITS_SETTLED_FIELD_NUMBER: _ClassVar[int]
    CREDITS_REFUNDED_FIELD_NUMBER: _ClassVar[int]
    CREDITS_CHARGED_FIELD_NUMBER: _ClassVar[int]
    BILLABLE_DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    credits_reserved: int
    credits_settled: int
    credits_refunded: int
    credits_charged: int
    billable_duration_seconds: int
    def __init__(self, credits_reserved: _Optional[int] = ..., credits_settled: _Optional[int] = ..., credits_refunded: _Optional[int] = ..., credits_charged: _Optional[int] = ..., billable_duration_seconds: _Optional[int] = ...) -> None: ...

class Task(_message.Message):
    __slots__ = ("id", "object", "workflow", "status", "stage", "created_at", "updated_at", "completed_at", "output", "usage", "request_id", "error_code", "error_message")
    ID_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    id: str
    object: str
    workflow: str
    status: str
    stage: str
    created_at: int
    updated_at: int
    completed_at: _struct_pb2.Value
    output: _struct_pb2.Value
    usage: TaskUsage
    request_id: str
    error_code: _struct_pb2.Value
    error_message: _struct_pb2.Value
    def __init__(self, id: _Optional[str] = ..., object: _Optional[str] = ..., workflow: _Optional[str] = ..., status: _Optional[str] = ..., stage: _Optional[str] = ..., created_at: _Optional[int] = ..., updated_at: _Optional[int] = ..., completed_at: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., output: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., usage: _Optional[_Union[TaskUsage, _Mapping]] = ..., request_id: _Optional[str] = ..., error_code: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., error_message: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class TaskResponse(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: Task
    def __init__(self, data: _Optional[_Union[Task, _Mapping]] = ...) -> None: ...

class File(_message.Message):
    __slots__ = ("id", "object", "url", "key", "mime_type", "size_bytes", "purpose", "created_at", "audio_duration_seconds", "audio_duration_source")
    ID_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    MIME_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    AUDIO_DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    AUDIO_DURATION_SOURCE_FIELD_NUMBER: _ClassVar[int]
    id: str
    object: str
    url: str
    key: str
    mime_type: str
    size_bytes: int
    purpose: str
    created_at: int
    audio_duration_seconds: _struct_pb2.Value
    audio_duration_source: _struct_pb2.Value
    def __init__(self, id: _Optional[str] = ..., object: _Optional[str] = ..., url: _Optional[str] = ..., key: _Optional[str] = ..., mime_type: _Optional[str] = ..., size_bytes: _Optional[int] = ..., purpose: _Optional[str] = ..., created_at: _Optional[int] = ..., audio_duration_seconds: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., audio_duration_source: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class FileResponse(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: File
    def __init__(self, data: _Optional[_Union[File, _Mapping]] = ...) -> None: ...

class GetUsageRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Concurrency(_message.Message):
    __slots__ = ("limit", "active")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    limit: int
    active: int
    def __init__(self, limit: _Optional[int] = ..., active: _Optional[int] = ...) -> None: ...

class WorkflowUsage(_message.Message):
    __slots__ = ("workflow", "tasks", "credits_settled")
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    CREDITS_SETTLED_FIELD_NUMBER: _ClassVar[int]
    workflow: str
    tasks: int
    credits_settled: int
    def __init__(self, workflow: _Optional[str] = ..., tasks: _Optional[int] = ..., credits_settled: _Optional[int] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ("object", "credit_balance", "total_tasks", "credits_settled", "credits_refunded", "concurrency", "by_workflow")
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    CREDIT_BALANCE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TASKS_FIELD_NUMBER: _ClassVar[int]
    CREDITS_SETTLED_FIELD_NUMBER: _ClassVar[int]
    CREDITS_REFUNDED_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    BY_WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    object: str
    credit_balance: int
    total_tasks: int
    credits_settled: int
    credits_refunded: int
    concurrency: Concurrency
    by_workflow: _containers.RepeatedCompositeFieldContainer[WorkflowUsage]
    def __init__(self, object: _Optional[str] = ..., credit_balance: _Optional[int] = ..., total_tasks: _Optional[int] = ..., credits_settled: _Optional[int] = ..., credits_refunded: _Optional[int] = ..., concurrency: _Optional[_Union[Concurrency, _Mapping]] = ..., by_workflow: _Optional[_Iterable[_Union[WorkflowUsage, _Mapping]]] = ...) -> None: ...

class UsageResponse(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: Usage
    def __init__(self, data: _Optional[_Union[Usage, _Mapping]] = ...) -> None: ...

class WebhookEndpoint(_message.Message):
    __slots__ = ("id", "object", "url", "description", "events", "status", "secret", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    object: str
    url: str
    description: str
    events: _containers.RepeatedScalarFieldContainer[str]
    status: str
    secret: str
    created_at: int
    updated_at: int
    def __init__(self, id: _Optional[str] = ..., object: _Optional[str] = ..., url: _Optional[str] = ..., description: _Optional[str] = ..., events: _Optional[_Iterable[str]] = ..., status: _Optional[str] = ..., secret: _Optional[str] = ..., created_at: _Optional[int] = ..., updated_at: _Optional[int] = ...) -> None: ...

class WebhookEndpointList(_message.Message):
    __slots__ = ("object", "data")
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    object: str
    data: _containers.RepeatedCompositeFieldContainer[WebhookEndpoint]
    def __init__(self, object: _Optional[str] = ..., data: _Optional[_Iterable[_Union[WebhookEndpoint, _Mapping]]] = ...) -> None: ...

class WebhookListResponse(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: WebhookEndpointList
    def __init__(self, data: _Optional[_Union[WebhookEndpointList, _Mapping]] = ...) -> None: ...

class WebhookResponse(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: WebhookEndpoint
    def __init__(self, data: _Optional[_Union[WebhookEndpoint, _Mapping]] = ...) -> None: ...

class ListWebhooksRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CreateWebhookRequest(_message.Message):
    __slots__ = ("url", "description", "events")
    URL_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    url: str
    description: str
    events: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, url: _Optional[str] = ..., description: _Optional[str] = ..., events: _Optional[_Iterable[str]] = ...) -> None: ...

class GetWebhookRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class UpdateWebhookRequest(_message.Message):
    __slots__ = ("id", "url", "description", "status", "events")
    ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    url: str
    description: str
    status: str
    events: _struct_pb2.ListValue
    def __init__(self, id: _Optional[str] = ..., url: _Optional[str] = ..., description: _Optional[str] = ..., status: _Optional[str] = ..., events: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ...) -> None: ...

class DeleteWebhookRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class Deleted(_message.Message):
    __slots__ = ("id", "deleted")
    ID_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    id: str
    deleted: bool
    def __init__(self, id: _Optional[str] = ..., deleted: _Optional[bool] = ...) -> None: ...

class DeletedResponse(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: Deleted
    def __init__(self, data: _Optional[_Union[Deleted, _Mapping]] = ...) -> None: ...
