"""The webhooks service in-process on a real gRPC port, beside the usage service it authenticates
through, with a receiver on 127.0.0.1 that the SSRF exemption lets it reach."""

from dataclasses import dataclass, field

import grpc
import pytest

from framelane.api.v1 import events_pb2 as api_events_pb2
from framelane.webhooks.v1 import events_pb2, webhooks_pb2_grpc
from framelane_core import bus
from framelane_core.config import Settings
from framelane_core.devmesh import free_port
from framelane_usage.app import UsageApp
from framelane_webhooks.app import WebhooksApp
from framelane_webhooks.config import WebhookSettings
from tests.integration.webhooks.receiver import Receiver


@dataclass
class Rig:
    """What a test drives: the service, a client stub, two workspaces' keys, the receiver, JetStream."""

    database_url: str
    nats_url: str
    receiver: Receiver
    usage: UsageApp = None
    app: WebhooksApp = None
    channel: object = None
    stub: object = None
    keys: list[str] = field(default_factory=list)
    workspaces: list[str] = field(default_factory=list)
    nc: object = None
    js: object = None

    def auth(self, i: int = 0):
        return (("authorization", f"Bearer {self.keys[i]}"),)

    async def start(self, **tuning) -> WebhooksApp:
        """(Re)starts the webhooks service with the given WebhookSettings."""
        settings = Settings(service="webhooks", database_url=self.database_url, nats_url=self.nats_url,
                            grpc_port=free_port(), metrics_port=0, drain_seconds=1,
                            fetch_allow=f"127.0.0.1:{self.receiver.port}")
        tuning.setdefault("retry_schedule", (0.2, 0.2, 0.2))
        self.app = WebhooksApp(settings, WebhookSettings(**tuning))
        port = await self.app.start()
        if self.channel is not None:
            await self.channel.close()
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        self.stub = webhooks_pb2_grpc.WebhookServiceStub(self.channel)
        return self.app

    async def publish(self, event_type: str, workspace: int = 0, data: dict | None = None,
                      webhook_url: str = "", beatapi_data: dict | None = None) -> api_events_pb2.Event:
        """Publishes a lifecycle event as the renderer or tasks service would."""
        payload = events_pb2.WebhookPayload(webhook_url=webhook_url)
        payload.data.update(data or {"id": "render_1", "status": event_type.split(".")[1]})
        if beatapi_data is not None:
            payload.beatapi_data.update(beatapi_data)
        event = bus.make_event(event_type, self.workspaces[workspace], payload)
        source = "renderer" if event_type.startswith("render.") else "tasks"
        await self.js.publish(bus.subject(source, event_type), event.SerializeToString(),
                              headers={"Nats-Msg-Id": event.id})
        return event


@pytest.fixture
async def receiver():
    server = await Receiver().start()
    yield server
    await server.stop()


@pytest.fixture
async def rig(database_url, nats_url, receiver, monkeypatch):
    usage = UsageApp(Settings(service="usage", database_url=database_url, nats_url=nats_url, grpc_port=free_port(),
                              metrics_port=0, drain_seconds=1))
    usage_port = await usage.start()
    monkeypatch.setenv("FRAMELANE_USAGE_ADDR", f"127.0.0.1:{usage_port}")
    r = Rig(database_url, nats_url, receiver, usage=usage)
    for name in ("Acme", "Other"):
        ws, _, key = await usage.accounts.create_workspace(name)
        r.workspaces.append(ws["id"])
        r.keys.append(key)
    r.nc = await bus.connect(nats_url, "test-producer")
    r.js = r.nc.jetstream()
    for source in ("renderer", "tasks"):
        await bus.ensure_stream(r.js, source)
    yield r
    if r.app is not None:
        await r.app.stop()
    await r.channel.close()
    await r.nc.close()
    await usage.stop()
