"""Composition root of the usage service."""

from pathlib import Path

from nats.js.api import RetentionPolicy

from framelane.usage.v1 import account_pb2, account_pb2_grpc, usage_pb2, usage_pb2_grpc
from framelane_core import capabilities, db
from framelane_core.bus import IdempotentConsumer
from framelane_core.auth import CachedAuthenticator
from framelane_core.config import Settings
from framelane_core.lifecycle import Resources, ServiceApp
from framelane_usage import store
from framelane_usage.metering import PLANS, Meters
from framelane_usage.service import KEY_PREFIX, Accounts, LastUsedFlusher, hash_key
from framelane_usage.servicer import AccountServicer, UsageServicer

def describe() -> dict:
    """The usage part of /v1/capabilities."""
    return {
        "version": "v1",
        "auth": {"type": "bearer", "header": "Authorization", "key_prefix": KEY_PREFIX},
        "onboarding": {
            "supported": False,
            "steps": [
                {"method": "POST", "path": "/v1/signup", "body": ["workspace_name", "email"]},
                {"method": "POST", "path": "/v1/signup/verify", "body": ["email", "otp_code"]},
            ],
        },
        "quota": {
            "plans": PLANS,
            "metering": {"supported": True, "meters": ["render_minutes"], "period": "calendar month, UTC"},
            "render_quota": {"supported": True, "status": 402, "code": "quota_exceeded"},
            "credits": {"supported": False}, "concurrency_limits": {"supported": False},
            "rate_limits": {"supported": False},
        },
    }


class UsageApp(ServiceApp):
    name = "usage"
    migrations_package = "framelane_usage"
    stream_retention = RetentionPolicy.LIMITS

    def authenticator(self, res: Resources) -> CachedAuthenticator:
        """Usage resolves keys from its own tables instead of calling itself."""
        self.accounts = Accounts(res.pool)
        return CachedAuthenticator(self.accounts.authenticate, self.settings.auth_cache_seconds, self.name)

    def service_names(self) -> list[str]:
        return [
            account_pb2.DESCRIPTOR.services_by_name["AccountService"].full_name,
            usage_pb2.DESCRIPTOR.services_by_name["UsageService"].full_name,
            capabilities.SERVICE_NAME,
        ]

    async def wire(self, res: Resources) -> list:
        account_pb2_grpc.add_AccountServiceServicer_to_server(AccountServicer(self.accounts), res.server)
        meters = Meters(res.pool)
        usage_pb2_grpc.add_UsageServiceServicer_to_server(UsageServicer(meters), res.server)
        capabilities.register(res.server, describe)
        renders = IdempotentConsumer(res.pool, res.js, "usage-meter-renders", "renderer",
                                     "framelane.renderer.v1.render.>", meters.on_render_event)
        return [LastUsedFlusher(self.accounts), renders]


async def ensure_dev_key(key_file: str) -> str:
    """The development key in key_file if it is still active, else a new workspace and key."""
    settings = Settings(service="usage")
    await db.migrate(settings.database_url, settings.schema, UsageApp.migrations_package)
    pool = await db.open_pool(settings.database_url, settings.schema, min_size=1, max_size=1)
    try:
        path = Path(key_file)
        accounts = Accounts(pool)
        if path.exists():
            key = path.read_text().strip()
            async with pool.connection() as conn:
                if await store.principal_by_hash(conn, hash_key(key)):
                    return key
        _, _, key = await accounts.create_workspace("Development", plan="pro", key_name="make run")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(key + "\n")
        return key
    finally:
        await pool.close()
