"""Composition root of the usage service."""

from pathlib import Path

from nats.js.api import RetentionPolicy

from framelane.beatapi.v1 import beatapi_pb2, beatapi_pb2_grpc
from framelane.usage.v1 import account_pb2, account_pb2_grpc, usage_pb2, usage_pb2_grpc
from framelane_core import capabilities, db, metrics
from framelane_core.bus import IdempotentConsumer
from framelane_core.auth import CachedAuthenticator
from framelane_core.config import Settings
from framelane_core.lifecycle import Every, Resources, ServiceApp
from framelane_core.ratelimit import WINDOW_SECONDS, RateLimiter
from framelane_usage import store
from framelane_usage.billing import Billing
from framelane_usage.credits import Credits
from framelane_usage.limits import RateWindows
from framelane_usage.mail import Mailer
from framelane_usage.metering import CONCURRENCY_RETRY_AFTER_SECONDS, PLANS, Meters
from framelane_usage.service import OTP_LOCK_SECONDS, OTP_MAX_ATTEMPTS, OTP_TTL_SECONDS
from framelane_usage.service import KEY_PREFIX, Accounts, hash_key
from framelane_usage.servicer import AccountServicer, BeatUsageServicer, UsageServicer

def describe() -> dict:
    """The usage part of /v1/capabilities."""
    return {
        "version": "v1",
        "auth": {"type": "bearer", "header": "Authorization", "key_prefix": KEY_PREFIX},
        "onboarding": {
            "supported": True,
            "steps": [
                {"method": "POST", "path": "/v1/signup", "body": ["workspace_name", "email"], "status": 201},
                {"method": "POST", "path": "/v1/signup/verify", "body": ["email", "otp_code"], "status": 200},
            ],
            "email_verification": {"code_digits": 6, "expires_in_seconds": OTP_TTL_SECONDS,
                                   "max_attempts": OTP_MAX_ATTEMPTS, "lockout_seconds": OTP_LOCK_SECONDS,
                                   "unverified_key_status": 403, "unverified_key_code": "email_not_verified"},
        },
        "quota": {
            "plans": PLANS,
            "metering": {"supported": True, "meters": ["render_minutes", "task_count", "egress_bytes"],
                         "egress": "bytes served through signed URLs (Range requests count what was sent)", "period": "calendar month, UTC"},
            "render_quota": {"supported": True, "status": 402, "code": "quota_exceeded"},
            "credits": {
                "supported": True, "unit": "integer credits", "status": 402, "code": "insufficient_credits",
                "balance": {"method": "GET", "path": "/v1/workspace/credits"},
                "lifecycle": ["reserved at acceptance", "settled on success", "refunded on failure or cancel"],
                "priced": ["music-video", "ecommerce-video"],
                "welcome_credits": {"supported": False}, "purchases": {"supported": False},
            },
            "concurrency_limits": {
                "supported": True, "status": 429, "code": "concurrency_exceeded",
                "retry_after_seconds": CONCURRENCY_RETRY_AFTER_SECONDS,
                "per_plan": {name: p["concurrent_jobs"] for name, p in PLANS.items()},
                "counts": "queued and processing renders and tasks; released on a terminal state",
            },
            "rate_limits": {
                "supported": True, "status": 429, "code": "rate_limited", "scope": "api_key and route class",
                "window_seconds": WINDOW_SECONDS, "header": "Retry-After",
                "headers": {"X-RateLimit-Limit": "requests per minute of the key's route class",
                            "X-RateLimit-Remaining": "what is left of it in the current window",
                            "X-RateLimit-Reset": "seconds until the window ends"},
                "per_plan_per_minute": {name: p["rate_limits_per_minute"] for name, p in PLANS.items()},
            },
        },
        "billing": {
            "portal": {"supported": True, "method": "POST", "path": "/v1/billing/portal"},
            "invoice_preview": {"supported": True, "method": "GET", "path": "/v1/billing/invoice/preview"},
        },
    }


class UsageApp(ServiceApp):
    name = "usage"
    migrations_package = "framelane_usage"
    stream_retention = RetentionPolicy.LIMITS

    def authenticator(self, res: Resources) -> CachedAuthenticator:
        """Usage resolves keys from its own tables instead of calling itself."""
        s = self.settings
        self.accounts = Accounts(res.pool, Mailer(s.smtp_host, s.smtp_port, s.smtp_from))
        return CachedAuthenticator(self.accounts.authenticate, self.settings.auth_cache_seconds, self.name)

    def rate_limiter(self, res: Resources) -> RateLimiter:
        """Usage takes tokens from its own tables instead of calling itself."""
        self.windows = RateWindows(res.pool)
        return RateLimiter(self.windows.take)

    def service_names(self) -> list[str]:
        return [
            account_pb2.DESCRIPTOR.services_by_name["AccountService"].full_name,
            usage_pb2.DESCRIPTOR.services_by_name["UsageService"].full_name,
            beatapi_pb2.DESCRIPTOR.services_by_name["UsageService"].full_name,
            capabilities.SERVICE_NAME,
        ]

    async def wire(self, res: Resources) -> list:
        account_pb2_grpc.add_AccountServiceServicer_to_server(AccountServicer(self.accounts), res.server)
        meters = Meters(res.pool, self.settings.concurrency_lease_seconds, self.settings.admission_confirm_seconds)
        billing = Billing(meters, self.settings.console_url)
        usage_pb2_grpc.add_UsageServiceServicer_to_server(UsageServicer(meters, self.windows, billing, Credits(res.pool)), res.server)
        beatapi_pb2_grpc.add_UsageServiceServicer_to_server(BeatUsageServicer(meters), res.server)
        capabilities.register(res.server, describe)
        metrics.init_credit_metrics()
        renders = IdempotentConsumer(res.pool, res.js, "usage-meter-renders", "renderer",
                                     "framelane.renderer.v1.render.>", meters.on_render_event)
        tasks = IdempotentConsumer(res.pool, res.js, "usage-slots-tasks", "tasks",
                                   "framelane.tasks.v1.task.>", meters.on_job_event)
        egress = IdempotentConsumer(res.pool, res.js, "usage-meter-egress", "gateway",
                                    "framelane.gateway.v1.egress.>", meters.on_egress_event)
        # last_used_at of keys, batched; admissions no event of their job confirmed, given back.
        flusher = Every(5.0, self.accounts.flush_last_used, "last_used_at flush")
        sweeper = Every(max(meters.confirm_seconds / 4, 0.5), meters.release_unconfirmed,
                        "releasing unconfirmed admissions")
        return [flusher, renders, tasks, egress, sweeper]


DEV_CREDITS = 100_000


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
        ws, _, key = await accounts.create_workspace("Development", plan="pro", key_name="make run")
        # Credits to try the workflows with (BeatAPI's pricing: a 20 s 720p music video is 100).
        await Credits(pool).grant(ws["id"], f"development:{ws['id']}", DEV_CREDITS, "make run")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(key + "\n")
        return key
    finally:
        await pool.close()
