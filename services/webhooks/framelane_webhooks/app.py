"""Composition root of the webhooks service."""

from framelane_core import capabilities
from framelane_core.lifecycle import Resources, ServiceApp

EVENTS = [
    *(f"{kind}.{state}" for kind in ("render", "task")
      for state in ("queued", "processing", "progress", "completed", "failed", "cancelled")),
    "asset.ready",
]


def describe() -> dict:
    """The webhooks service's part of /v1/capabilities."""
    return {
        "webhooks": {
            "supported": False,
            "events": EVENTS,
            "signing": {"header": "Framelane-Signature", "scheme": "t=<unix>,v1=<hex HMAC-SHA256(secret, t.body)>",
                        "standard_webhooks": True},
        }
    }


class WebhooksApp(ServiceApp):
    name = "webhooks"
    migrations_package = "framelane_webhooks"

    def service_names(self) -> list[str]:
        return [capabilities.SERVICE_NAME]

    async def wire(self, res: Resources) -> list:
        capabilities.register(res.server, describe)
        return []
