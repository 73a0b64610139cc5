"""Composition root of the webhooks service."""


from nats.js.api import RetentionPolicy

from framelane.beatapi.v1 import beatapi_pb2, beatapi_pb2_grpc
from framelane.webhooks.v1 import webhooks_pb2, webhooks_pb2_grpc
from framelane_core import capabilities, db
from framelane_core.bus import IdempotentConsumer
from framelane_core.fetch import Allow
from framelane_core.lifecycle import Resources, ServiceApp
from framelane_webhooks.config import WebhookSettings
from framelane_webhooks.dispatcher import Dispatcher
from framelane_webhooks.service import BEATAPI_EVENTS, NATIVE_EVENTS, Fanout, Webhooks
from framelane_webhooks.servicer import BeatWebhookServicer, WebhookServicer

# (producing service, subject filter) of the lifecycle events webhooks deliver.
SOURCES = (("renderer", "framelane.renderer.v1.render.>"), ("tasks", "framelane.tasks.v1.>"))


def describe(settings: WebhookSettings | None = None) -> dict:
    """The webhooks service's part of /v1/capabilities."""
    settings = settings or WebhookSettings()
    return {
        "webhooks": {
            "supported": True,
            "events": list(NATIVE_EVENTS),
            "beatapi_events": list(BEATAPI_EVENTS),
            "signing": {"header": "Framelane-Signature", "scheme": "t=<unix>,v1=<hex HMAC-SHA256(secret, t.body)>",
                        "standard_webhooks": True},
            "retries": {"schedule_seconds": list(settings.retry_schedule), "jitter": settings.jitter,
                        "timeout_seconds": settings.timeout_seconds, "honors_retry_after": True,
                        "beatapi_schedule_seconds": list(settings.beatapi_retry_schedule)},
            "disable_after_seconds": settings.disable_after_seconds,
            "progress_coalescing_percent": 10,
            "job_webhook_url": {"supported": True},
            "deliveries": {"list": True, "resend": True, "test": True},
        }
    }


class WebhooksApp(ServiceApp):
    name = "webhooks"
    migrations_package = "framelane_webhooks"
    stream_retention = RetentionPolicy.LIMITS

    def __init__(self, settings=None, webhook_settings: WebhookSettings | None = None):
        super().__init__(settings)
        self.webhook_settings = webhook_settings or WebhookSettings()

    def service_names(self) -> list[str]:
        return [webhooks_pb2.DESCRIPTOR.services_by_name["WebhookService"].full_name,
                beatapi_pb2.DESCRIPTOR.services_by_name["WebhookService"].full_name, capabilities.SERVICE_NAME]

    async def wire(self, res: Resources) -> list:
        allow = Allow.parse(self.settings.fetch_allow)
        self.webhooks = Webhooks(res.pool, allow)
        webhooks_pb2_grpc.add_WebhookServiceServicer_to_server(WebhookServicer(self.webhooks), res.server)
        beatapi_pb2_grpc.add_WebhookServiceServicer_to_server(BeatWebhookServicer(self.webhooks), res.server)
        capabilities.register(res.server, lambda: describe(self.webhook_settings))
        fanout = Fanout()
        consumers = [
            IdempotentConsumer(res.pool, res.js, f"webhooks-{source}", source, subject, fanout)
            for source, subject in SOURCES
        ]
        self.dispatcher = Dispatcher(res.pool, self.webhook_settings, allow,
                                     db.schema_dsn(self.settings.database_url, self.settings.schema),
                                     self.settings.schema)
        return [*consumers, self.dispatcher]
