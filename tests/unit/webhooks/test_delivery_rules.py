"""Pure delivery rules: backoff with jitter, Retry-After, progress steps and envelopes."""

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from google.protobuf import struct_pb2

from framelane.api.v1 import job_pb2
from framelane.webhooks.v1 import events_pb2
from framelane_core import bus
from framelane_webhooks.config import DEFAULT_RETRY_SCHEDULE, parse_schedule
from framelane_webhooks.dispatcher import next_delay, retry_after_seconds
from framelane_webhooks.service import beatapi_body, native_body, progress_step, unpack_payload

NOW = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def test_backoff_follows_the_schedule_with_bounded_jitter_then_gives_up():
    schedule = (30.0, 120.0, 600.0)
    assert next_delay(1, schedule, None, 0.1, rand=lambda: 0.5) == 30.0
    assert next_delay(2, schedule, None, 0.1, rand=lambda: 0.0) == pytest.approx(108.0)
    assert next_delay(3, schedule, None, 0.1, rand=lambda: 1.0) == pytest.approx(660.0)
    assert next_delay(4, schedule, None, 0.1) is None
    assert next_delay(1, schedule, 7.0, 0.1) == 7.0
    assert next_delay(1, schedule, 10**9, 0.1) == 24 * 3600


def test_the_default_schedule_spans_at_least_a_day():
    schedule = parse_schedule(DEFAULT_RETRY_SCHEDULE)
    assert schedule[:3] == (30, 120, 600) and sum(schedule) >= 24 * 3600
    assert parse_schedule("0.5, 1,2") == (0.5, 1.0, 2.0)
    with pytest.raises(ValueError):
        parse_schedule("1,-1")


def test_retry_after_in_seconds_or_as_a_date():
    assert retry_after_seconds("120", NOW) == 120
    assert retry_after_seconds(format_datetime(NOW + timedelta(seconds=90), usegmt=True), NOW) == pytest.approx(90, abs=1)
    assert retry_after_seconds(format_datetime(NOW - timedelta(hours=1), usegmt=True), NOW) == 0
    assert retry_after_seconds("soon", NOW) is None and retry_after_seconds(None, NOW) is None


def test_progress_steps_are_tenths():
    assert [progress_step({"progress_percent": p}) for p in (0, 9.9, 10, 55, 100, 140)] == [0, 0, 1, 5, 10, 10]
    assert progress_step({"id": "render_1"}) is None


def test_envelopes_of_both_faces():
    assert json.loads(native_body("evt_1", "render.completed", NOW, {"a": 1})) == {
        "id": "evt_1", "type": "render.completed", "created_at": "2026-01-02T03:04:05.678Z", "data": {"a": 1}}
    assert json.loads(beatapi_body("evt_1", "task.succeeded", NOW, {"a": 1})) == {
        "id": "evt_1", "event": "task.succeeded", "created_at": int(NOW.timestamp()), "data": {"a": 1}}


def test_job_events_give_the_job_as_get_prints_it():
    job = job_pb2.Job(id="render_1", kind="render", status="processing", progress_percent=40)
    job.created_at.FromJsonString("2026-01-02T03:04:05.678Z")
    job.output.null_value = struct_pb2.NULL_VALUE
    job.metadata.update({"order": 7})
    data, url, beatapi = unpack_payload(bus.make_event(
        "render.progress", "ws_1", job_pb2.JobEvent(job=job, webhook_url="https://example.com/h", output_duration=3)))
    assert data == {"id": "render_1", "kind": "render", "workspace_id": "", "status": "processing",
                    "created_at": "2026-01-02T03:04:05.678Z", "progress_percent": 40, "output": None,
                    "metadata": {"order": 7}, "warnings": []}
    assert (url, beatapi) == ("https://example.com/h", None)


def test_payloads_give_their_json_with_integers_kept_integral():
    payload = events_pb2.WebhookPayload(webhook_url="https://example.com/h")
    payload.data.update({"id": "render_1", "output": {"width": 1920, "duration": 2.5}, "error": None})
    data, url, beatapi = unpack_payload(bus.make_event("render.completed", "ws_1", payload))
    assert data == {"id": "render_1", "output": {"width": 1920, "duration": 2.5}, "error": None}
    assert (url, beatapi) == ("https://example.com/h", None)

    other = struct_pb2.Struct()
    other.update({"source_url": "https://cdn/x.mp4", "size_bytes": 10})
    assert unpack_payload(bus.make_event("asset.ready", "ws_1", other)) == (
        {"source_url": "https://cdn/x.mp4", "size_bytes": 10}, "", None)

    unknown = bus.make_event("asset.ready", "ws_1", other)
    unknown.payload.type_url = "type.googleapis.com/nowhere.Unknown"
    assert unpack_payload(unknown) is None
