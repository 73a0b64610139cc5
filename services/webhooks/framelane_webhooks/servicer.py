"""Thin gRPC handlers of WebhookService: proto in, domain call, proto out."""

from google.protobuf import empty_pb2, json_format

from framelane.webhooks.v1 import webhooks_pb2, webhooks_pb2_grpc
from framelane_core.context import current_principal
from framelane_core.errors import InvalidRequest, violation
from framelane_core.grpcserver import set_http_status
from framelane_core.protoconv import nullable, timestamp
from framelane_webhooks.service import Webhooks
from framelane_webhooks.signing import mask


def _webhook(row: dict, secret: str | None = None) -> webhooks_pb2.Webhook:
    if secret is None and row["face"] == "beatapi":
        secret = mask(row["secret"])
    return webhooks_pb2.Webhook(
        id=row["id"], url=row["url"], events=row["events"], description=row["description"], enabled=row["enabled"],
        disabled_reason=nullable(row["disabled_reason"]), created_at=timestamp(row["created_at"]),
        updated_at=timestamp(row["updated_at"]), last_delivery_at=nullable(row["last_delivery_at"]),
        face=row["face"], secret=secret,
    )


def _attempt(row: dict) -> webhooks_pb2.DeliveryAttempt:
    return webhooks_pb2.DeliveryAttempt(
        attempt=row["attempt"], started_at=timestamp(row["started_at"]), status_code=nullable(row["status_code"]),
        latency_ms=row["latency_ms"], response_body=row["response_body"], error=nullable(row["error"]),
        retry_at=nullable(row["retry_at"]),
    )


def _delivery(row: dict) -> webhooks_pb2.Delivery:
    return webhooks_pb2.Delivery(
        id=row["id"], webhook_id=row["endpoint_id"], event_id=row["event_id"], event_type=row["event_type"],
        status=row["status"], attempt_count=row["attempt_count"],
        next_attempt_at=nullable(row["next_attempt_at"] if row["status"] == "pending" else None),
        created_at=timestamp(row["created_at"]), completed_at=nullable(row["completed_at"]),
        attempts=[_attempt(a) for a in row["attempts"]],
    )


def _event_list(request: webhooks_pb2.UpdateWebhookRequest) -> list[str] | None:
    if not request.HasField("events"):
        return None
    names = json_format.MessageToDict(request.events)
    if not all(isinstance(n, str) for n in names):
        raise InvalidRequest("events must be a list of event names.",
                             details=[violation("$.events", "type", "Must be a list of strings.")])
    return names


class WebhookServicer(webhooks_pb2_grpc.WebhookServiceServicer):
    def __init__(self, webhooks: Webhooks):
        self.webhooks = webhooks

    async def CreateWebhook(self, request, context):
        row, secret = await self.webhooks.create(
            current_principal(), request.url, list(request.events), request.description, request.face)
        await set_http_status(context, 201)
        return _webhook(row, secret)

    async def ListWebhooks(self, request, context):
        rows, next_cursor = await self.webhooks.list_webhooks(
            current_principal(), request.face, request.limit, request.cursor)
        return webhooks_pb2.ListWebhooksResponse(
            data=[_webhook(r) for r in rows], next_cursor=nullable(next_cursor), has_more=next_cursor is not None
        )

    async def GetWebhook(self, request, context):
        return _webhook(await self.webhooks.get(current_principal(), request.webhook_id))

    async def UpdateWebhook(self, request, context):
        row = await self.webhooks.update(
            current_principal(), request.webhook_id,
            url=request.url if request.HasField("url") else None,
            events=_event_list(request),
            description=request.description if request.HasField("description") else None,
            enabled=request.enabled if request.HasField("enabled") else None,
        )
        return _webhook(row)

    async def DeleteWebhook(self, request, context):
        await self.webhooks.delete(current_principal(), request.webhook_id)
        await set_http_status(context, 204)
        return empty_pb2.Empty()

    async def RotateWebhookSecret(self, request, context):
        secret = await self.webhooks.rotate_secret(current_principal(), request.webhook_id)
        return webhooks_pb2.WebhookSecret(secret=secret)

    async def ListDeliveries(self, request, context):
        rows, next_cursor = await self.webhooks.list_deliveries(
            current_principal(), request.webhook_id, request.status, request.limit, request.cursor)
        return webhooks_pb2.ListDeliveriesResponse(
            data=[_delivery(r) for r in rows], next_cursor=nullable(next_cursor), has_more=next_cursor is not None
        )

    async def ResendDelivery(self, request, context):
        row = await self.webhooks.resend(current_principal(), request.webhook_id, request.delivery_id)
        await set_http_status(context, 202)
        return _delivery(row)

    async def TestWebhook(self, request, context):
        row = await self.webhooks.test(current_principal(), request.webhook_id)
        await set_http_status(context, 202)
        return _delivery(row)
