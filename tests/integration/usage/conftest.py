import grpc
import pytest

from framelane_core.config import Settings
from framelane_core.devmesh import free_port
from framelane_usage.app import UsageApp
from tests.integration.usage.mailbox import Mailbox


@pytest.fixture
def mailbox():
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture
async def usage_app(database_url, nats_url, mailbox):
    """The usage service in-process, mailing through the loopback SMTP server."""
    settings = Settings(service="usage", database_url=database_url, nats_url=nats_url, grpc_port=free_port(),
                        metrics_port=0, auth_cache_seconds=0.2, drain_seconds=2, smtp_host="127.0.0.1",
                        smtp_port=mailbox.port, smtp_from="Framelane <no-reply@test.local>",
                        console_url="https://console.test", concurrency_lease_seconds=1.0)
    app = UsageApp(settings)
    port = await app.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    yield app, channel
    await channel.close()
    await app.stop()


def auth(key: str):
    return (("authorization", f"Bearer {key}"),)


def reason(err: grpc.aio.AioRpcError) -> str:
    from framelane_core.errors import from_rpc_error  # noqa: PLC0415

    return from_rpc_error(err).code
