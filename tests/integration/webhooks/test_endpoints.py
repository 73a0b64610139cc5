"""Endpoint CRUD, secrets, SSRF refusal, tenant isolation, ping and resend over gRPC."""

import json

import grpc
import pytest
from google.protobuf import struct_pb2
from google.rpc import error_details_pb2, status_pb2

from framelane.webhooks.v1 import webhooks_pb2
from tests.unit.webhooks.verifier import verify_framelane


def _reason(err: grpc.aio.AioRpcError) -> str:
    for k, v in err.trailing_metadata():
        if k == "grpc-status-details-bin":
            info = error_details_pb2.ErrorInfo()
            status_pb2.Status.FromString(v).details[0].Unpack(info)
            return info.reason
    return ""


async def _fails(call, code: grpc.StatusCode, reason: str):
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    assert (err.value.code(), _reason(err.value)) == (code, reason)


async def test_crud_with_the_secret_shown_only_at_creation_and_rotation(rig):
    await rig.start()
    stub, auth = rig.stub, rig.auth()
    first = await stub.CreateWebhook(webhooks_pb2.CreateWebhookRequest(
        url=rig.receiver.url("/a"), events=["render.completed", "render.completed", "task.failed"],
        description=" mine "), metadata=auth)
    assert first.id.startswith("wh_") and first.secret.startswith("whsec_")
    assert (list(first.events), first.description, first.enabled, first.face) == (
        ["render.completed", "task.failed"], "mine", True, "native")
    second = await stub.CreateWebhook(webhooks_pb2.CreateWebhookRequest(url=rig.receiver.url("/b")), metadata=auth)
    assert second.secret == first.secret  # one workspace secret signs every native endpoint

    got = await stub.GetWebhook(webhooks_pb2.GetWebhookRequest(webhook_id=first.id), metadata=auth)
    assert not got.HasField("secret") and got.last_delivery_at.WhichOneof("kind") == "null_value"
    page1 = await stub.ListWebhooks(webhooks_pb2.ListWebhooksRequest(limit=1), metadata=auth)
    assert [w.id for w in page1.data] == [second.id] and page1.has_more
    page2 = await stub.ListWebhooks(webhooks_pb2.ListWebhooksRequest(limit=1, cursor=page1.next_cursor.string_value),
                                    metadata=auth)
    assert [w.id for w in page2.data] == [first.id] and not page2.has_more

    events = struct_pb2.ListValue()
    events.extend(["asset.ready"])
    updated = await stub.UpdateWebhook(webhooks_pb2.UpdateWebhookRequest(
        webhook_id=first.id, events=events, enabled=False), metadata=auth)
    assert (list(updated.events), updated.enabled, updated.disabled_reason.string_value) == (
        ["asset.ready"], False, "manual")
    assert updated.description == "mine" and updated.url == first.url

    rotated = await stub.RotateWebhookSecret(webhooks_pb2.RotateWebhookSecretRequest(webhook_id=second.id),
                                             metadata=auth)
    assert rotated.secret.startswith("whsec_") and rotated.secret != first.secret
    await stub.TestWebhook(webhooks_pb2.TestWebhookRequest(webhook_id=second.id), metadata=auth)
    (ping,) = await rig.receiver.wait_for(1)
    assert verify_framelane(rotated.secret, ping.headers, ping.body)
    assert not verify_framelane(first.secret, ping.headers, ping.body)

    await stub.DeleteWebhook(webhooks_pb2.DeleteWebhookRequest(webhook_id=first.id), metadata=auth)
    await _fails(stub.GetWebhook(webhooks_pb2.GetWebhookRequest(webhook_id=first.id), metadata=auth),
                 grpc.StatusCode.NOT_FOUND, "not_found")


async def test_urls_that_are_not_public_http_are_refused(rig):
    await rig.start()
    for url in ("http://127.0.0.1:1/hook", "http://10.0.0.1/hook", "http://169.254.169.254/latest",
                "ftp://example.com/hook", "file:///etc/passwd"):
        await _fails(rig.stub.CreateWebhook(webhooks_pb2.CreateWebhookRequest(url=url), metadata=rig.auth()),
                     grpc.StatusCode.INVALID_ARGUMENT, "source_not_allowed")
    hook = await rig.stub.CreateWebhook(webhooks_pb2.CreateWebhookRequest(url=rig.receiver.url()), metadata=rig.auth())
    await _fails(rig.stub.UpdateWebhook(webhooks_pb2.UpdateWebhookRequest(webhook_id=hook.id, url="http://[::1]/x"),
                                        metadata=rig.auth()),
                 grpc.StatusCode.INVALID_ARGUMENT, "source_not_allowed")
    await _fails(rig.stub.CreateWebhook(webhooks_pb2.CreateWebhookRequest(url=rig.receiver.url(), events=["nope"]),
                                        metadata=rig.auth()),
                 grpc.StatusCode.INVALID_ARGUMENT, "invalid_request")


async def test_another_workspace_sees_nothing(rig):
    await rig.start()
    hook = await rig.stub.CreateWebhook(webhooks_pb2.CreateWebhookRequest(url=rig.receiver.url()), metadata=rig.auth(0))
    other = rig.auth(1)
    for call in (
        rig.stub.GetWebhook(webhooks_pb2.GetWebhookRequest(webhook_id=hook.id), metadata=other),
        rig.stub.UpdateWebhook(webhooks_pb2.UpdateWebhookRequest(webhook_id=hook.id, description="x"), metadata=other),
        rig.stub.DeleteWebhook(webhooks_pb2.DeleteWebhookRequest(webhook_id=hook.id), metadata=other),
        rig.stub.RotateWebhookSecret(webhooks_pb2.RotateWebhookSecretRequest(webhook_id=hook.id), metadata=other),
        rig.stub.ListDeliveries(webhooks_pb2.ListDeliveriesRequest(webhook_id=hook.id), metadata=other),
        rig.stub.TestWebhook(webhooks_pb2.TestWebhookRequest(webhook_id=hook.id), metadata=other),
    ):
        await _fails(call, grpc.StatusCode.NOT_FOUND, "not_found")
    listed = await rig.stub.ListWebhooks(webhooks_pb2.ListWebhooksRequest(), metadata=other)
    assert list(listed.data) == []
    await _fails(rig.stub.GetWebhook(webhooks_pb2.GetWebhookRequest(webhook_id=hook.id)),
                 grpc.StatusCode.UNAUTHENTICATED, "unauthorized")


async def test_ping_and_resend_keep_the_event_id_and_body(rig):
    await rig.start()
    hook = await rig.stub.CreateWebhook(webhooks_pb2.CreateWebhookRequest(url=rig.receiver.url()), metadata=rig.auth())
    ping = await rig.stub.TestWebhook(webhooks_pb2.TestWebhookRequest(webhook_id=hook.id), metadata=rig.auth())
    assert (ping.status, ping.event_type, ping.webhook_id) == ("pending", "ping", hook.id)
    (first,) = await rig.receiver.wait_for(1)
    body = json.loads(first.body)
    assert (body["id"], body["type"], body["data"]) == (ping.event_id, "ping", {"webhook_id": hook.id})
    again = await rig.stub.ResendDelivery(webhooks_pb2.ResendDeliveryRequest(webhook_id=hook.id, delivery_id=ping.id),
                                          metadata=rig.auth())
    assert again.id != ping.id and again.event_id == ping.event_id
    _, second = await rig.receiver.wait_for(2)
    assert second.body == first.body and second.headers["webhook-id"] == ping.event_id
    await _fails(rig.stub.ResendDelivery(webhooks_pb2.ResendDeliveryRequest(webhook_id=hook.id, delivery_id="dlv_x"),
                                         metadata=rig.auth()),
                 grpc.StatusCode.NOT_FOUND, "not_found")
