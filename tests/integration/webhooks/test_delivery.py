"""Delivery of lifecycle events from JetStream to endpoints and job URLs: signing, fan-out,
retries on the configured schedule, Retry-After, dead letters, restarts and fairness."""

import asyncio
import json
from datetime import datetime

import grpc
import psycopg
import pytest

from framelane.webhooks.v1 import webhooks_pb2
from tests.unit.webhooks.verifier import verify_beatapi, verify_framelane, verify_standard


async def _create(rig, path="/a", workspace=0, **fields):
    request = webhooks_pb2.CreateWebhookRequest(url=rig.receiver.url(path), **fields)
    return await rig.stub.CreateWebhook(request, metadata=rig.auth(workspace))


async def _deliveries(rig, webhook_id, workspace=0):
    reply = await rig.stub.ListDeliveries(webhooks_pb2.ListDeliveriesRequest(webhook_id=webhook_id, limit=100),
                                          metadata=rig.auth(workspace))
    return list(reply.data)


async def _until(predicate, timeout=10.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


def _when(value) -> datetime:
    return datetime.fromisoformat(value.string_value.replace("Z", "+00:00"))


async def test_event_reaches_matching_endpoints_and_the_job_url_signed_with_the_workspace_secret(rig):
    await rig.start()
    every = await _create(rig, "/every")
    await _create(rig, "/failed-only", events=["render.failed"])
    await _create(rig, "/other-workspace", workspace=1)
    event = await rig.publish("render.completed", data={"id": "render_1", "status": "completed",
                                                         "progress_percent": 100, "metadata": {"k": "v"}},
                              webhook_url=rig.receiver.url("/job"))
    got = {r.path: r for r in await rig.receiver.wait_for(2)}
    assert set(got) == {"/every", "/job"}
    for r in got.values():
        assert verify_framelane(every.secret, r.headers, r.body)
        assert verify_standard(every.secret, r.headers, r.body)
        assert not verify_framelane(every.secret, r.headers, r.body + b" ")
        assert r.headers["webhook-id"] == event.id
        assert json.loads(r.body) == {
            "id": event.id, "type": "render.completed", "created_at": event.created_at.ToJsonString()[:23] + "Z",
            "data": {"id": "render_1", "status": "completed", "progress_percent": 100, "metadata": {"k": "v"}},
        }
    await asyncio.sleep(0.5)
    assert len(rig.receiver.received) == 2


async def test_beatapi_endpoints_get_their_own_event_names_headers_and_secret(rig):
    await rig.start()
    native = await _create(rig, "/native")
    beat = await _create(rig, "/beat", face="beatapi")
    assert beat.secret.startswith("whsec_") and beat.secret != native.secret
    listed = await rig.stub.GetWebhook(webhooks_pb2.GetWebhookRequest(webhook_id=beat.id), metadata=rig.auth())
    assert listed.secret == f"whsec_****{beat.secret[-4:]}"
    task = {"id": "task_1", "object": "task", "status": "succeeded"}
    event = await rig.publish("task.completed", data={"id": "task_1", "status": "completed"}, beatapi_data=task)
    got = {r.path: r for r in await rig.receiver.wait_for(2)}
    b = got["/beat"]
    assert verify_beatapi(beat.secret, b.headers, b.body) and verify_standard(beat.secret, b.headers, b.body)
    assert not verify_beatapi(native.secret, b.headers, b.body)
    assert b.headers["x-beatapi-event"] == "task.succeeded"
    body = json.loads(b.body)
    assert body == {"id": event.id, "event": "task.succeeded", "created_at": event.created_at.seconds, "data": task}
    assert verify_framelane(native.secret, got["/native"].headers, got["/native"].body)


async def test_a_receiver_failing_three_times_gets_the_event_on_the_fourth_attempt(rig):
    answers = iter([500, 500, 500])
    rig.receiver.respond = lambda r: (next(answers, 200), {}, b"nope")
    schedule = (0.3, 0.6, 0.9, 5.0)
    await rig.start(retry_schedule=schedule, jitter=0.1)
    hook = await _create(rig)
    event = await rig.publish("render.failed")
    got = await rig.receiver.wait_for(4, timeout=10)
    assert {r.headers["webhook-id"] for r in got} == {event.id}
    assert all(verify_framelane(hook.secret, r.headers, r.body) for r in got)
    assert len({r.body for r in got}) == 1
    for i in range(3):
        assert schedule[i] * 0.85 <= got[i + 1].at - got[i].at <= schedule[i] * 1.1 + 0.5

    async def delivered():
        (d,) = await _deliveries(rig, hook.id)
        return d.status == "delivered"

    await _until(delivered)
    (d,) = await _deliveries(rig, hook.id)
    assert (d.event_id, d.event_type, d.attempt_count) == (event.id, "render.failed", 4)
    assert d.next_attempt_at.WhichOneof("kind") == "null_value"
    assert [a.status_code.number_value for a in d.attempts] == [500, 500, 500, 200]
    assert d.attempts[0].response_body == "nope"
    for i, a in enumerate(d.attempts[:3]):
        gap = (_when(a.retry_at) - a.started_at.ToDatetime().astimezone(_when(a.retry_at).tzinfo)).total_seconds()
        assert schedule[i] * 0.85 <= gap <= schedule[i] * 1.1 + 0.1
    assert d.attempts[3].retry_at.WhichOneof("kind") == "null_value"


async def test_retry_after_is_honoured(rig):
    answers = iter([(503, {"Retry-After": "1"}, b"busy")])
    rig.receiver.respond = lambda r: next(answers, (200, {}, b""))
    await rig.start(retry_schedule=(0.1,))
    await _create(rig)
    await rig.publish("render.queued")
    first, second = await rig.receiver.wait_for(2)
    assert 0.95 <= second.at - first.at <= 1.6


async def test_a_delivery_failing_every_attempt_is_dead_lettered(rig):
    rig.receiver.respond = lambda r: (500, {}, b"")
    await rig.start(retry_schedule=(0.2, 0.2))
    hook = await _create(rig)
    await rig.publish("render.failed")
    await rig.receiver.wait_for(3)

    async def dead():
        (d,) = await _deliveries(rig, hook.id)
        return d.status == "dead_lettered"

    await _until(dead)
    (d,) = await _deliveries(rig, hook.id)
    assert d.attempt_count == 3 and d.completed_at.string_value
    assert [a.retry_at.WhichOneof("kind") for a in d.attempts] == ["string_value", "string_value", "null_value"]
    await asyncio.sleep(0.5)
    assert len(rig.receiver.received) == 3


async def test_an_endpoint_failing_past_the_limit_is_disabled_announced_and_resumes_when_enabled(rig):
    rig.receiver.respond = lambda r: (500, {}, b"")
    await rig.start(retry_schedule=(0.2,) * 10, disable_after_seconds=0.5)
    hook = await _create(rig)
    await rig.publish("render.failed")

    async def disabled():
        got = await rig.stub.GetWebhook(webhooks_pb2.GetWebhookRequest(webhook_id=hook.id), metadata=rig.auth())
        return not got.enabled and got.disabled_reason.string_value == "failing"

    await _until(disabled)
    sub = await rig.js.pull_subscribe("framelane.webhooks.v1.>", durable="check", stream="FRAMELANE_WEBHOOKS")
    (msg,) = await sub.fetch(1, timeout=5)
    assert msg.subject == "framelane.webhooks.v1.webhook.disabled"
    await asyncio.sleep(0.5)
    sent = len(rig.receiver.received)
    await rig.publish("render.failed")
    await asyncio.sleep(0.5)
    assert len(rig.receiver.received) == sent
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await rig.stub.TestWebhook(webhooks_pb2.TestWebhookRequest(webhook_id=hook.id), metadata=rig.auth())
    assert err.value.code() == grpc.StatusCode.ABORTED

    rig.receiver.respond = lambda r: (200, {}, b"")
    enabled = await rig.stub.UpdateWebhook(webhooks_pb2.UpdateWebhookRequest(webhook_id=hook.id, enabled=True),
                                           metadata=rig.auth())
    assert enabled.enabled and enabled.disabled_reason.WhichOneof("kind") == "null_value"
    await rig.receiver.wait_for(sent + 1)
    await _until(lambda: _all_delivered(rig, hook.id))


async def _all_delivered(rig, webhook_id):
    return {d.status for d in await _deliveries(rig, webhook_id)} == {"delivered"}


async def test_a_restart_between_attempts_loses_nothing(rig):
    answers = iter([500])
    rig.receiver.respond = lambda r: (next(answers, 200), {}, b"")
    await rig.start(retry_schedule=(1.0,))
    hook = await _create(rig)
    event = await rig.publish("render.completed")
    await rig.receiver.wait_for(1)
    await _until(lambda: _has_attempts(rig, hook.id, 1))
    await rig.app.stop()
    rig.app = None
    await rig.start(retry_schedule=(1.0,))
    _, second = await rig.receiver.wait_for(2, timeout=5)
    assert second.headers["webhook-id"] == event.id
    await _until(lambda: _has_attempts(rig, hook.id, 2))


async def _has_attempts(rig, webhook_id, n):
    found = await _deliveries(rig, webhook_id)
    return bool(found) and len(found[0].attempts) == n


async def test_a_delivery_interrupted_by_a_stop_is_sent_again_after_restart(rig):
    async def hang(received):
        await asyncio.sleep(30)
        return 200, {}, b""

    rig.receiver.respond = hang
    await rig.start()
    await _create(rig)
    await rig.publish("render.completed")
    await rig.receiver.wait_for(1)
    await rig.app.stop()
    rig.app = None
    rig.receiver.respond = lambda r: (204, {}, b"")
    await rig.start()
    await rig.receiver.wait_for(2, timeout=5)


async def test_a_slow_endpoint_does_not_delay_the_others(rig):
    async def answer(received):
        if received.path == "/slow":
            await asyncio.sleep(3)
        return 204, {}, b""

    rig.receiver.respond = answer
    await rig.start(concurrency=8, endpoint_concurrency=2)
    await _create(rig, "/slow")
    await _create(rig, "/fast")
    started = asyncio.get_running_loop().time()
    for i in range(30):
        await rig.publish("render.progress", data={"id": f"render_{i}", "progress_percent": 50})
    await rig.receiver.wait_for(30, path="/fast", timeout=5)
    assert asyncio.get_running_loop().time() - started < 2.5
    assert len(rig.receiver.to("/slow")) <= 2


async def test_progress_events_are_coalesced_to_one_per_ten_percent(rig):
    await rig.start()
    await _create(rig)
    for percent in (1, 4, 9, 10, 12, 19.5, 35, 34, 100):
        await rig.publish("render.progress", data={"id": "render_p", "progress_percent": percent})
    await rig.publish("render.completed", data={"id": "render_p", "progress_percent": 100})
    got = await rig.receiver.wait_for(5)
    await asyncio.sleep(0.5)
    sent = [json.loads(r.body) for r in rig.receiver.received]
    assert sorted(b["data"]["progress_percent"] for b in sent if b["type"] == "render.progress") == [1, 10, 35, 100]
    assert [b["type"] for b in sent].count("render.completed") == 1 and len(got) == 5


async def test_ssrf_is_checked_again_at_delivery(rig, database_url):
    await rig.start()
    await rig.publish("render.completed", webhook_url="http://127.0.0.1:9/elsewhere")

    async def refused():
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            cur = await conn.execute("SELECT error FROM webhooks.delivery_attempts")
            return [row[0] for row in await cur.fetchall()]

    await _until(refused)
    (error,) = await refused()
    assert error.startswith("source_not_allowed")
