"""Composition root of the renderer."""

from nats.js.api import RetentionPolicy

from framelane_core import capabilities
from framelane_core.lifecycle import Resources, ServiceApp


def describe() -> dict:
    """The renderer's part of /v1/capabilities."""
    return {"renders": {"supported": False, "endpoints": ["/v1/renders", "/v1/preview"]}}


class RendererApp(ServiceApp):
    name = "renderer"
    migrations_package = "framelane_renderer"
    stream_retention = RetentionPolicy.LIMITS

    def service_names(self) -> list[str]:
        return [capabilities.SERVICE_NAME]

    async def wire(self, res: Resources) -> list:
        capabilities.register(res.server, describe)
        return []
