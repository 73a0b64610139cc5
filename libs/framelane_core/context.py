"""Per-request context carried across awaits: request id and the authenticated principal."""

import contextvars
from dataclasses import dataclass

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
job_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("job_id", default="")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the workspace an API key belongs to."""

    workspace_id: str
    key_id: str
    plan: str


principal_var: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("principal", default=None)


def current_principal() -> Principal:
    """The caller of the RPC being served; the auth interceptor guarantees one on private methods."""
    principal = principal_var.get()
    if principal is None:
        from framelane_core.errors import Unauthorized  # noqa: PLC0415 - avoids an import cycle

        raise Unauthorized("Missing Authorization header.")
    return principal
