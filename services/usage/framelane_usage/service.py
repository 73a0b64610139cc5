"""Domain logic of workspaces, API keys and usage periods."""

import hashlib
import hmac
import logging
import re
import secrets
import string
from calendar import monthrange
from datetime import UTC, datetime, timedelta

from psycopg_pool import AsyncConnectionPool

from framelane_core.context import Principal
from framelane_core.errors import (BadRequest, Conflict, Forbidden, InvalidRequest, NotFound, RateLimited,
                                   Unauthorized, violation)
from framelane_core.ids import new_id
from framelane_core.pagination import decode_cursor, page, page_limit
from framelane_usage import events, store
from framelane_usage.mail import Mailer

log = logging.getLogger(__name__)
KEY_PREFIX = "fl_live_"
_KEY_ALPHABET = string.ascii_letters + string.digits
PERIODS = {"7d": 7, "30d": 30, "90d": 90}
OTP_TTL_SECONDS = 600
OTP_MAX_ATTEMPTS = 5
OTP_LOCK_SECONDS = 900
# A new code for the same email is sent at most this often.
OTP_RESEND_SECONDS = 30
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def new_otp() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def hash_otp(salt: bytes, email: str, code: str) -> bytes:
    return hmac.new(salt, f"{email}\n{code}".encode(), hashlib.sha256).digest()


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise InvalidRequest("email must be a valid email address.",
                             details=[violation("$.email", "format", "Must be an email address.")])
    return email


class EmailNotVerified(Forbidden):
    code = "email_not_verified"


class InvalidOtp(BadRequest):
    code = "invalid_otp"


class OtpExpired(BadRequest):
    code = "otp_expired"


def new_api_key() -> str:
    """`fl_live_` and 32 base62 characters (190 bits)."""
    return KEY_PREFIX + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(32))


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def _check_length(field: str, value: str, low: int, high: int) -> None:
    if not (low <= len(value.strip()) and len(value) <= high):
        raise InvalidRequest(
            f"{field} must be {low} to {high} characters.",
            details=[violation(f"$.{field}", "length", f"Must be {low} to {high} characters.")],
        )


class Accounts:
    """Workspaces and their keys."""

    def __init__(self, pool: AsyncConnectionPool, mailer: Mailer | None = None):
        self.pool = pool
        self.mailer = mailer or Mailer("", 0, "")
        self._last_used: dict[str, datetime] = {}

    async def signup(self, workspace_name: str, email: str) -> tuple[dict, dict, str]:
        """A free workspace whose key is inert until the emailed code is verified; returns
        (workspace, key row, plaintext key)."""
        _check_length("workspace_name", workspace_name, 2, 100)
        email = normalize_email(email)
        code = new_otp()
        salt = secrets.token_bytes(16)
        async with self.pool.connection() as conn, conn.transaction():
            if await store.email_taken(conn, email):
                raise Conflict("A verified workspace already uses this email.")
            pending = await store.lock_verification(conn, email)
            if pending is not None and pending["verified_at"] is None:
                wait = OTP_RESEND_SECONDS - (datetime.now(UTC) - pending["sent_at"]).total_seconds()
                if wait > 0:
                    raise RateLimited(f"A code was sent to this email moments ago; retry in {int(wait) + 1} s.",
                                      retry_after_seconds=int(wait) + 1)
            ws = await store.insert_unverified_workspace(conn, new_id("ws"), workspace_name.strip(), email)
            key_row, key = await self._insert_key(conn, ws["id"], "Default")
            await store.upsert_verification(conn, email, ws["id"], salt, hash_otp(salt, email, code), OTP_TTL_SECONDS)
        await self.mailer.send_signup_code(email, ws["name"], code, OTP_TTL_SECONDS // 60)
        return ws, key_row, key

    async def verify_signup(self, email: str, code: str) -> dict:
        """Activates the signup's workspace; the verified workspace."""
        email = normalize_email(email)
        code = code.strip()
        async with self.pool.connection() as conn, conn.transaction():
            row = await store.lock_verification(conn, email)
            now = datetime.now(UTC)
            if row is None:
                raise InvalidOtp("The code is not valid for this email.")
            if row["locked_until"] is not None and row["locked_until"] > now:
                wait = int((row["locked_until"] - now).total_seconds()) + 1
                raise RateLimited(f"Too many wrong codes; verification of this email is locked for {wait} s.",
                                  retry_after_seconds=wait)
            matches = hmac.compare_digest(row["code_hash"], hash_otp(row["code_salt"], email, code))
            if row["verified_at"] is not None and matches:
                ws = await store.get_workspace(conn, row["workspace_id"])
                if ws is None:
                    raise NotFound("Workspace not found.")
                return ws  # verifying again with the same code is a no-op
            if row["verified_at"] is None and row["expires_at"] <= now:
                raise OtpExpired("The code has expired; sign up again to get a new one.")
            if matches:
                ws = await store.mark_verified(conn, email, row["workspace_id"])
                if ws is None:
                    raise NotFound("Workspace not found.")
                return ws
            after = await store.record_wrong_code(conn, email, OTP_MAX_ATTEMPTS, OTP_LOCK_SECONDS)
            locked = after["locked_until"] is not None and after["locked_until"] > now
            left = 0 if locked else OTP_MAX_ATTEMPTS - after["failed_attempts"]
            failure = InvalidOtp(
                "The code is not valid for this email." + (
                    " Verification of this email is now locked for 15 minutes." if locked
                    else f" {left} attempt(s) left."),
                details={"attempts_left": left})
        raise failure  # after the commit: the wrong try is counted

    async def create_workspace(self, name: str, plan: str = "free", key_name: str = "Default") -> tuple[dict, dict, str]:
        """A workspace and its first key; returns (workspace, key row, plaintext key)."""
        async with self.pool.connection() as conn, conn.transaction():
            ws = await store.insert_workspace(conn, new_id("ws"), name, plan)
            key_row, key = await self._insert_key(conn, ws["id"], key_name)
        return ws, key_row, key

    async def create_key(self, principal: Principal, name: str) -> tuple[dict, str]:
        _check_length("name", name, 1, 255)
        async with self.pool.connection() as conn, conn.transaction():
            return await self._insert_key(conn, principal.workspace_id, name.strip())

    async def _insert_key(self, conn, ws_id: str, name: str) -> tuple[dict, str]:
        key = new_api_key()
        row = await store.insert_key(conn, new_id("key"), ws_id, name, key[: len(KEY_PREFIX) + 4], hash_key(key))
        await events.api_key_created(conn, ws_id, row)
        return row, key

    async def list_keys(self, principal: Principal, limit: int, cursor: str) -> tuple[list[dict], str | None]:
        limit = page_limit(limit)
        after = decode_cursor(cursor)
        async with self.pool.connection() as conn:
            rows = await store.list_keys(conn, principal.workspace_id, limit, after)
        return page(rows, limit)

    async def revoke_key(self, principal: Principal, key_id: str) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            row = await store.revoke_key(conn, principal.workspace_id, key_id)
            if row is None:
                raise NotFound(f"API key {key_id} not found.")
            await events.api_key_revoked(conn, principal.workspace_id, key_id)

    async def get_workspace(self, principal: Principal) -> dict:
        async with self.pool.connection() as conn:
            ws = await store.get_workspace(conn, principal.workspace_id)
        if ws is None:
            raise NotFound("Workspace not found.")
        return ws

    async def rename_workspace(self, principal: Principal, name: str) -> dict:
        _check_length("name", name, 2, 100)
        async with self.pool.connection() as conn, conn.transaction():
            ws = await store.rename_workspace(conn, principal.workspace_id, name.strip())
            if ws is None:
                raise NotFound("Workspace not found.")
            await events.workspace_updated(conn, ws)
        return ws

    async def delete_workspace(self, principal: Principal) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            if not await store.delete_workspace(conn, principal.workspace_id):
                raise NotFound("Workspace not found.")
            await events.workspace_deleted(conn, principal.workspace_id)

    async def authenticate(self, key: str) -> Principal:
        """The principal of an active key; Unauthorized for unknown, revoked or deleted ones."""
        if not key.startswith("fl_"):
            raise Unauthorized("Invalid API key.")
        async with self.pool.connection() as conn:
            row = await store.principal_by_hash(conn, hash_key(key))
        if row is None:
            raise Unauthorized("Invalid API key.")
        if not row["verified"]:
            raise EmailNotVerified("Verify the workspace's email first: POST /v1/signup/verify with the emailed code.")
        self._last_used[row["key_id"]] = datetime.now(UTC)
        return Principal(workspace_id=row["workspace_id"], key_id=row["key_id"], plan=row["plan"])

    async def flush_last_used(self) -> None:
        """Writes the batched last_used_at stamps (one UPDATE per interval, not per request)."""
        if not self._last_used:
            return
        batch, self._last_used = self._last_used, {}
        async with self.pool.connection() as conn:
            await store.touch_keys(conn, batch)


def usage_period(period: str | None, now: datetime | None = None) -> tuple[datetime, datetime]:
    """[start, end) of the current calendar month (UTC) for None, or the rolling window "7d"/"30d"/"90d"."""
    now = now or datetime.now(UTC)
    if period is not None:
        if period not in PERIODS:
            raise InvalidRequest(
                "period must be 7d, 30d or 90d.",
                details=[violation("$.period", "enum", "Must be one of 7d, 30d, 90d.")],
            )
        return now - timedelta(days=PERIODS[period]), now
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=monthrange(now.year, now.month)[1])
