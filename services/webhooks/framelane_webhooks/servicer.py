"""Thin gRPC handlers of WebhookService: proto in, domain call, proto out."""

from google.protobuf import empty_pb2, json_format

from framelane.beatapi.v1 import beatapi_pb2, beatapi_pb2_grpc
from framelane.webhooks.v1 import webhooks_pb2, webhooks_pb2_grpc
from framelane_core.context import current_principal
from framelane_core.errors import InvalidRequest, NotFound, violation
from framelane_core.grpcserver import set_http_status
from framelane_core.protoconv import nullable, timestamp
from framelane_webhooks.service import BEATAPI_EVENTS, Webhooks
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


def _endpoint(row: dict, secret: str | None = None) -> beatapi_pb2.WebhookEndpoint:
    """A BeatAPI endpoint as that face shows it: the secret in full only when just created."""
    return beatapi_pb2.WebhookEndpoint(
        id=row["id"], object="webhook_endpoint", url=row["url"], description=row["description"],
        events=row["events"] or list(BEATAPI_EVENTS), status="active" if row["enabled"] else "disabled",
        secret=secret or mask(row["secret"]), created_at=int(row["created_at"].timestamp()),
        updated_at=int(row["updated_at"].timestamp()),
    )


class BeatWebhookServicer(beatapi_pb2_grpc.WebhookServiceServicer):
    """/beatapi/v1/webhooks: the workspace's BeatAPI endpoints (a native endpoint is not found here)."""

    def __init__(self, webhooks: Webhooks):
        self.webhooks = webhooks

    async def _own(self, webhook_id: str) -> dict:
        row = await self.webhooks.get(current_principal(), webhook_id)
        if row["face"] != "beatapi":
            raise NotFound(f"Webhook {webhook_id[:100]} not found.")
        return row

    async def ListWebhooks(self, request, context):
        rows, cursor = [], ""
        while True:  # BeatAPI's list is not paginated
            page, cursor = await self.webhooks.list_webhooks(current_principal(), "beatapi", 100, cursor)
            rows += page
            if not cursor:
                break
        return beatapi_pb2.WebhookListResponse(data=beatapi_pb2.WebhookEndpointList(
            object="list", data=[_endpoint(r) for r in rows]))

    async def CreateWebhook(self, request, context):
        row, secret = await self.webhooks.create(current_principal(), request.url, list(request.events),
                                                 request.description, "beatapi")
        await set_http_status(context, 201)
        return beatapi_pb2.WebhookResponse(data=_endpoint(row, secret))

    async def GetWebhook(self, request, context):
        return beatapi_pb2.WebhookResponse(data=_endpoint(await self._own(request.id)))

    async def UpdateWebhook(self, request, context):
        await self._own(request.id)
        enabled = None
        if request.HasField("status"):
            if request.status not in ("active", "disabled"):
                raise InvalidRequest("status must be active or disabled.",
                                     details=[violation("$.status", "enum", "Must be one of active, disabled.")])
            enabled = request.status == "active"
        row = await self.webhooks.update(
            current_principal(), request.id, url=request.url if request.HasField("url") else None,
            events=_event_list(request), description=request.description if request.HasField("description") else None,
            enabled=enabled)
        return beatapi_pb2.WebhookResponse(data=_endpoint(row))

    async def DeleteWebhook(self, request, context):
        await self._own(request.id)
        await self.webhooks.delete(current_principal(), request.id)
        return beatapi_pb2.DeletedResponse(data=beatapi_pb2.Deleted(id=request.id, deleted=True))
