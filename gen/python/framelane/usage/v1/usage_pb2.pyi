import datetime

from framelane.api.v1 import annotations_pb2 as _annotations_pb2
from google.api import annotations_pb2 as _annotations_pb2_1
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AdmitJobRequest(_message.Message):
    __slots__ = ("workspace_id", "job_id", "kind", "render_minutes", "credits", "workflow")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RENDER_MINUTES_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    job_id: str
    kind: str
    render_minutes: float
    credits: int
    workflow: str
    def __init__(self, workspace_id: _Optional[str] = ..., job_id: _Optional[str] = ..., kind: _Optional[str] = ..., render_minutes: _Optional[float] = ..., credits: _Optional[int] = ..., workflow: _Optional[str] = ...) -> None: ...

class TakeRateTokensRequest(_message.Message):
    __slots__ = ("key_id", "plan", "rate_class", "window_start")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    RATE_CLASS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    plan: str
    rate_class: str
    window_start: int
    def __init__(self, key_id: _Optional[str] = ..., plan: _Optional[str] = ..., rate_class: _Optional[str] = ..., window_start: _Optional[int] = ...) -> None: ...

class RateGrant(_message.Message):
    __slots__ = ("granted", "limit", "window_seconds", "window_taken")
    GRANTED_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    WINDOW_SECONDS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_TAKEN_FIELD_NUMBER: _ClassVar[int]
    granted: int
    limit: int
    window_seconds: int
    window_taken: int
    def __init__(self, granted: _Optional[int] = ..., limit: _Optional[int] = ..., window_seconds: _Optional[int] = ..., window_taken: _Optional[int] = ...) -> None: ...

class CreateBillingPortalSessionRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BillingPortalSession(_message.Message):
    __slots__ = ("url",)
    URL_FIELD_NUMBER: _ClassVar[int]
    url: str
    def __init__(self, url: _Optional[str] = ...) -> None: ...

class PreviewInvoiceRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InvoiceLine(_message.Message):
    __slots__ = ("description", "quantity", "unit", "unit_amount_usd", "amount_usd")
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    UNIT_AMOUNT_USD_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_USD_FIELD_NUMBER: _ClassVar[int]
    description: str
    quantity: float
    unit: str
    unit_amount_usd: float
    amount_usd: float
    def __init__(self, description: _Optional[str] = ..., quantity: _Optional[float] = ..., unit: _Optional[str] = ..., unit_amount_usd: _Optional[float] = ..., amount_usd: _Optional[float] = ...) -> None: ...

class InvoicePreview(_message.Message):
    __slots__ = ("plan", "period_start", "period_end", "currency", "lines", "total_usd")
    PLAN_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_USD_FIELD_NUMBER: _ClassVar[int]
    plan: str
    period_start: _timestamp_pb2.Timestamp
    period_end: _timestamp_pb2.Timestamp
    currency: str
    lines: _containers.RepeatedCompositeFieldContainer[InvoiceLine]
    total_usd: float
    def __init__(self, plan: _Optional[str] = ..., period_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., currency: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[InvoiceLine, _Mapping]]] = ..., total_usd: _Optional[float] = ...) -> None: ...

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
    __slots__ = ("render_minutes_remaining", "concurrency_limit", "active_jobs", "credits_reserved", "credit_balance")
    RENDER_MINUTES_REMAINING_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_LIMIT_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_JOBS_FIELD_NUMBER: _ClassVar[int]
    CREDITS_RESERVED_FIELD_NUMBER: _ClassVar[int]
    CREDIT_BALANCE_FIELD_NUMBER: _ClassVar[int]
    render_minutes_remaining: _struct_pb2.Value
    concurrency_limit: int
    active_jobs: int
    credits_reserved: int
    credit_balance: int
    def __init__(self, render_minutes_remaining: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., concurrency_limit: _Optional[int] = ..., active_jobs: _Optional[int] = ..., credits_reserved: _Optional[int] = ..., credit_balance: _Optional[int] = ...) -> None: ...

class GetWorkspaceUsageRequest(_message.Message):
    __slots__ = ("period",)
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    period: str
    def __init__(self, period: _Optional[str] = ...) -> None: ...

class WorkspaceUsage(_message.Message):
    __slots__ = ("period_start", "period_end", "render_minutes", "task_count", "egress_bytes", "plan", "render_minutes_limit", "render_minutes_reserved", "concurrency_limit", "active_jobs")
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    RENDER_MINUTES_FIELD_NUMBER: _ClassVar[int]
    TASK_COUNT_FIELD_NUMBER: _ClassVar[int]
    EGRESS_BYTES_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    RENDER_MINUTES_LIMIT_FIELD_NUMBER: _ClassVar[int]
    RENDER_MINUTES_RESERVED_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_LIMIT_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_JOBS_FIELD_NUMBER: _ClassVar[int]
    period_start: _timestamp_pb2.Timestamp
    period_end: _timestamp_pb2.Timestamp
    render_minutes: float
    task_count: int
    egress_bytes: float
    plan: str
    render_minutes_limit: _struct_pb2.Value
    render_minutes_reserved: float
    concurrency_limit: int
    active_jobs: int
    def __init__(self, period_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., render_minutes: _Optional[float] = ..., task_count: _Optional[int] = ..., egress_bytes: _Optional[float] = ..., plan: _Optional[str] = ..., render_minutes_limit: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., render_minutes_reserved: _Optional[float] = ..., concurrency_limit: _Optional[int] = ..., active_jobs: _Optional[int] = ...) -> None: ...

class GetCreditsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReserveCreditsRequest(_message.Message):
    __slots__ = ("workspace_id", "job_id", "credits")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    job_id: str
    credits: int
    def __init__(self, workspace_id: _Optional[str] = ..., job_id: _Optional[str] = ..., credits: _Optional[int] = ...) -> None: ...

class SettleCreditsRequest(_message.Message):
    __slots__ = ("job_id", "credits")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    credits: int
    def __init__(self, job_id: _Optional[str] = ..., credits: _Optional[int] = ...) -> None: ...

class RefundCreditsRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class GrantCreditsRequest(_message.Message):
    __slots__ = ("workspace_id", "grant_id", "credits", "reason")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    GRANT_ID_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    grant_id: str
    credits: int
    reason: str
    def __init__(self, workspace_id: _Optional[str] = ..., grant_id: _Optional[str] = ..., credits: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class CreditBalance(_message.Message):
    __slots__ = ("workspace_id", "balance", "credits_reserved", "credits_settled", "credits_refunded", "job_credits_reserved", "job_credits_settled", "job_credits_refunded")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    CREDITS_RESERVED_FIELD_NUMBER: _ClassVar[int]
    CREDITS_SETTLED_FIELD_NUMBER: _ClassVar[int]
    CREDITS_REFUNDED_FIELD_NUMBER: _ClassVar[int]
    JOB_CREDITS_RESERVED_FIELD_NUMBER: _ClassVar[int]
    JOB_CREDITS_SETTLED_FIELD_NUMBER: _ClassVar[int]
    JOB_CREDITS_REFUNDED_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    balance: int
    credits_reserved: int
    credits_settled: int
    credits_refunded: int
    job_credits_reserved: int
    job_credits_settled: int
    job_credits_refunded: int
    def __init__(self, workspace_id: _Optional[str] = ..., balance: _Optional[int] = ..., credits_reserved: _Optional[int] = ..., credits_settled: _Optional[int] = ..., credits_refunded: _Optional[int] = ..., job_credits_reserved: _Optional[int] = ..., job_credits_settled: _Optional[int] = ..., job_credits_refunded: _Optional[int] = ...) -> None: ...
