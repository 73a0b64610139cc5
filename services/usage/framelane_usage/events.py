"""The usage service's `workspace.*` events, written through the outbox."""

from framelane.usage.v1 import events_pb2
from framelane_core.bus import make_event, write_outbox

SERVICE = "usage"


async def api_key_created(conn, ws_id: str, key: dict) -> None:
    payload = events_pb2.ApiKeyCreated(key_id=key["id"], name=key["name"])
    await write_outbox(conn, SERVICE, make_event("workspace.api_key_created", ws_id, payload))


async def api_key_revoked(conn, ws_id: str, key_id: str) -> None:
    payload = events_pb2.ApiKeyRevoked(key_id=key_id)
    await write_outbox(conn, SERVICE, make_event("workspace.api_key_revoked", ws_id, payload))


async def workspace_updated(conn, ws: dict) -> None:
    payload = events_pb2.WorkspaceUpdated(name=ws["name"])
    await write_outbox(conn, SERVICE, make_event("workspace.updated", ws["id"], payload))


async def workspace_deleted(conn, ws_id: str) -> None:
    await write_outbox(conn, SERVICE, make_event("workspace.deleted", ws_id, events_pb2.WorkspaceDeleted()))
