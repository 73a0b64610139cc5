"""The webhooks service's `webhook.*` events, written through the outbox."""

from framelane.webhooks.v1 import events_pb2
from framelane_core.bus import make_event, write_outbox

SERVICE = "webhooks"


async def webhook_disabled(conn, endpoint: dict) -> None:
    payload = events_pb2.WebhookDisabled(
        webhook_id=endpoint["id"], url=endpoint["url"], reason=endpoint["disabled_reason"] or ""
    )
    await write_outbox(conn, SERVICE, make_event("webhook.disabled", endpoint["workspace_id"], payload))
