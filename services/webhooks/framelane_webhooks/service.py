"""Domain logic of webhook endpoints, their secrets, and the fan-out of lifecycle events into
deliveries (sending them is dispatcher.py's job)."""

import json
import logging
from datetime import UTC, datetime

from google.protobuf import descriptor_pool, json_format, message_factory
from psycopg_pool import AsyncConnectionPool

from framelane.api.v1 import events_pb2 as api_events_pb2
from framelane.api.v1 import job_pb2
from framelane.webhooks.v1 import events_pb2
from framelane_core.context import Principal
from framelane_core.errors import Conflict, InvalidRequest, NotFound, violation
from framelane_core.fetch import Allow, check_url
from framelane_core.ids import new_id
from framelane_core.pagination import decode_cursor, page, page_limit
from framelane_core.protoconv import rest_json, timestamp
from framelane_webhooks import store
from framelane_webhooks.signing import new_secret

log = logging.getLogger(__name__)

JOB_STATES = ("queued", "processing", "progress", "completed", "failed", "cancelled")
NATIVE_EVENTS = (*(f"{kind}.{state}" for kind in ("render", "task") for state in JOB_STATES), "asset.ready")
BEATAPI_EVENTS = ("task.succeeded", "task.failed")
# The native event a BeatAPI endpoint hears as which of its own (API.md: cancelled shows as failed).
BEATAPI_EVENT_OF = {"task.completed": "task.succeeded", "task.failed": "task.failed", "task.cancelled": "task.failed"}
EVENTS_BY_FACE = {"native": NATIVE_EVENTS, "beatapi": BEATAPI_EVENTS}
TERMINAL_STATES = ("completed", "failed", "cancelled")
DELIVERY_STATUSES = ("pending", "delivered", "dead_lettered")
MAX_URL_LENGTH = 2083


def _plain(value):
    """JSON from a Struct with integral numbers as integers (Struct holds every number as a double)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _json(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def native_body(event_id: str, event_type: str, created_at: datetime, data) -> bytes:
    """`{"id","type","created_at","data"}` with an ISO-8601 UTC time, as the native face prints it."""
    return _json({"id": event_id, "type": event_type, "created_at": timestamp(created_at).ToJsonString(),
                  "data": data})


def beatapi_body(event_id: str, event_type: str, created_at: datetime, data) -> bytes:
    """`{"id","event","created_at","data"}` with Unix seconds, as the BeatAPI face prints it."""
    return _json({"id": event_id, "event": event_type, "created_at": int(created_at.timestamp()), "data": data})


def _as_json(message) -> object:
    """A message as the REST faces print it, with integral numbers as integers."""
    return _plain(rest_json(message))


def unpack_payload(event: api_events_pb2.Event) -> tuple[object, str, object] | None:
    """(data, webhook_url, beatapi_data) of an event, or None when its payload type is unknown.

    A JobEvent (what the renderer and tasks emit) gives its job as GET shows it, and the job's
    webhook_url; a WebhookPayload gives its JSON as is (plus the BeatAPI view of the job); any
    other message known here is printed with its proto field names and has no webhook_url."""
    if event.payload.Is(job_pb2.JobEvent.DESCRIPTOR):
        job_event = job_pb2.JobEvent()
        event.payload.Unpack(job_event)
        beatapi = _plain(json_format.MessageToDict(job_event.beatapi_task)) if job_event.HasField("beatapi_task") else None
        return _as_json(job_event.job), job_event.webhook_url, beatapi
    if event.payload.Is(events_pb2.WebhookPayload.DESCRIPTOR):
        payload = events_pb2.WebhookPayload()
        event.payload.Unpack(payload)
        beatapi = _plain(json_format.MessageToDict(payload.beatapi_data)) if payload.HasField("beatapi_data") else None
        return _plain(json_format.MessageToDict(payload.data)), payload.webhook_url, beatapi
    try:
        descriptor = descriptor_pool.Default().FindMessageTypeByName(event.payload.TypeName())
    except KeyError:
        return None
    message = message_factory.GetMessageClass(descriptor)()
    event.payload.Unpack(message)
    return _as_json(message), "", None


def progress_step(data) -> int | None:
    """The 10 % step of a progress event's job (0 to 10), None when the data has no percentage."""
    percent = data.get("progress_percent") if isinstance(data, dict) else None
    if not isinstance(percent, int | float):
        return None
    return int(min(max(percent, 0), 100) // 10)


class Fanout:
    """The handler of lifecycle events: one pending delivery per matching endpoint and per job
    webhook_url, written in the consumer's transaction (so an event fans out exactly once)."""

    async def __call__(self, conn, event: api_events_pb2.Event) -> None:
        if event.type not in NATIVE_EVENTS:
            return
        unpacked = unpack_payload(event)
        if unpacked is None:
            log.warning("event %s has an unknown payload type %s", event.id, event.payload.TypeName())
            return
        data, webhook_url, beatapi_data = unpacked
        job_id = data.get("id") if isinstance(data, dict) else None
        kind, _, state = event.type.partition(".")
        if state == "progress" and job_id:
            step = progress_step(data)
            if step is not None and not await store.advance_progress(conn, job_id, step):
                return
        elif state in TERMINAL_STATES and job_id:
            await store.forget_progress(conn, job_id)
        beatapi_type = BEATAPI_EVENT_OF.get(event.type) if beatapi_data is not None else None
        created_at = event.created_at.ToDatetime(tzinfo=UTC)
        ws_id = event.workspace_id
        rows = []
        bodies = {}
        for endpoint in await store.matching_endpoints(conn, ws_id, event.type, beatapi_type):
            face = endpoint["face"]
            if face not in bodies:
                bodies[face] = (native_body(event.id, event.type, created_at, data) if face == "native"
                                else beatapi_body(event.id, beatapi_type, created_at, beatapi_data))
            rows.append(_delivery(ws_id, endpoint["id"], endpoint["id"], endpoint["url"], face, event.id,
                                  beatapi_type if face == "beatapi" else event.type, bodies[face]))
        if webhook_url:
            body = bodies.get("native") or native_body(event.id, event.type, created_at, data)
            rows.append(_delivery(ws_id, None, webhook_url, webhook_url, "native", event.id, event.type, body))
        if not rows:
            return
        if any(r["face"] == "native" for r in rows):
            await store.ensure_workspace_secret(conn, ws_id, new_secret())
        await store.insert_deliveries(conn, rows)


def _delivery(ws_id: str, endpoint_id: str | None, target: str, url: str, face: str, event_id: str,
              event_type: str, body: bytes) -> dict:
    return {"id": new_id("dlv"), "workspace_id": ws_id, "endpoint_id": endpoint_id, "target": target, "url": url,
            "face": face, "event_id": event_id, "event_type": event_type, "body": body}


def _invalid(path: str, code: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, details=[violation(path, code, message)])


def _face(face: str) -> str:
    face = face or "native"
    if face not in EVENTS_BY_FACE:
        raise _invalid("$.face", "enum", "Must be one of native, beatapi.")
    return face


def _events(face: str, events: list[str]) -> list[str]:
    allowed = EVENTS_BY_FACE[face]
    for i, name in enumerate(events):
        if name not in allowed:
            raise _invalid(f"$.events[{i}]", "enum", f"Unknown event {name[:100]!r}; one of {', '.join(allowed)}.")
    return list(dict.fromkeys(events))


def _description(description: str) -> str:
    if len(description) > 500:
        raise _invalid("$.description", "length", "Must be at most 500 characters.")
    return description.strip()


class Webhooks:
    """Endpoints, secrets, and the inspection and replay of their deliveries."""

    def __init__(self, pool: AsyncConnectionPool, allow: Allow):
        self.pool, self.allow = pool, allow

    async def _check_url(self, url: str) -> str:
        url = url.strip()
        if not url or len(url) > MAX_URL_LENGTH:
            raise _invalid("$.url", "length", f"Must be 1 to {MAX_URL_LENGTH} characters.")
        await check_url(url, self.allow, path="$.url")
        return url

    async def create(self, principal: Principal, url: str, events: list[str], description: str,
                     face: str) -> tuple[dict, str]:
        """A new endpoint and the secret it is signed with (the workspace's, or its own for BeatAPI)."""
        face = _face(face)
        events, description = _events(face, events), _description(description)
        url = await self._check_url(url)
        ws_id = principal.workspace_id
        async with self.pool.connection() as conn, conn.transaction():
            if face == "beatapi":
                secret = own = new_secret()
            else:
                secret, own = await store.ensure_workspace_secret(conn, ws_id, new_secret()), None
            row = await store.insert_endpoint(conn, new_id("wh"), ws_id, face, url, description, events, own)
        return row, secret

    async def list_webhooks(self, principal: Principal, face: str, limit: int, cursor: str) -> tuple[list[dict], str | None]:
        face = face and _face(face)
        limit = page_limit(limit)
        async with self.pool.connection() as conn:
            rows = await store.list_endpoints(conn, principal.workspace_id, face, limit, decode_cursor(cursor))
        return page(rows, limit)

    async def get(self, principal: Principal, webhook_id: str) -> dict:
        async with self.pool.connection() as conn:
            return await self._endpoint(conn, principal, webhook_id)

    @staticmethod
    async def _endpoint(conn, principal: Principal, webhook_id: str) -> dict:
        row = await store.get_endpoint(conn, principal.workspace_id, webhook_id)
        if row is None:
            raise NotFound(f"Webhook {webhook_id[:100]} not found.")
        return row

    async def update(self, principal: Principal, webhook_id: str, *, url: str | None, events: list[str] | None,
                     description: str | None, enabled: bool | None) -> dict:
        """Changes the fields given (None leaves a field as it is)."""
        if url is not None:
            url = await self._check_url(url)
        if description is not None:
            description = _description(description)
        async with self.pool.connection() as conn, conn.transaction():
            current = await self._endpoint(conn, principal, webhook_id)
            if events is not None:
                events = _events(current["face"], events)
            return await store.update_endpoint(conn, principal.workspace_id, webhook_id, url=url, events=events,
                                               description=description, enabled=enabled)

    async def delete(self, principal: Principal, webhook_id: str) -> None:
        async with self.pool.connection() as conn:
            if not await store.delete_endpoint(conn, principal.workspace_id, webhook_id):
                raise NotFound(f"Webhook {webhook_id[:100]} not found.")

    async def rotate_secret(self, principal: Principal, webhook_id: str) -> str:
        """A new secret: the workspace's for a native endpoint, the endpoint's own for a BeatAPI one."""
        secret = new_secret()
        async with self.pool.connection() as conn, conn.transaction():
            endpoint = await self._endpoint(conn, principal, webhook_id)
            if endpoint["face"] == "beatapi":
                await store.set_endpoint_secret(conn, principal.workspace_id, webhook_id, secret)
            else:
                await store.set_workspace_secret(conn, principal.workspace_id, secret)
        return secret

    async def list_deliveries(self, principal: Principal, webhook_id: str, status: str, limit: int,
                              cursor: str) -> tuple[list[dict], str | None]:
        """A page of the endpoint's deliveries, each with its attempts under "attempts"."""
        if status and status not in DELIVERY_STATUSES:
            raise _invalid("$.status", "enum", f"Must be one of {', '.join(DELIVERY_STATUSES)}.")
        limit = page_limit(limit)
        after = decode_cursor(cursor)
        async with self.pool.connection() as conn:
            await self._endpoint(conn, principal, webhook_id)
            rows, next_cursor = page(await store.list_deliveries(conn, webhook_id, status, limit, after), limit)
            await _attach_attempts(conn, rows)
        return rows, next_cursor

    async def resend(self, principal: Principal, webhook_id: str, delivery_id: str) -> dict:
        """A new delivery of the same event (same id, same body) to the endpoint, due now."""
        async with self.pool.connection() as conn, conn.transaction():
            endpoint = await self._sendable(conn, principal, webhook_id)
            old = await store.get_delivery(conn, webhook_id, delivery_id)
            if old is None:
                raise NotFound(f"Delivery {delivery_id[:100]} not found.")
            return await self._enqueue(conn, endpoint, old["event_id"], old["event_type"], bytes(old["body"]))

    async def test(self, principal: Principal, webhook_id: str) -> dict:
        """Sends a `ping` event, whose data names the endpoint."""
        event_id, now = new_id("evt"), datetime.now(UTC)
        async with self.pool.connection() as conn, conn.transaction():
            endpoint = await self._sendable(conn, principal, webhook_id)
            make = native_body if endpoint["face"] == "native" else beatapi_body
            body = make(event_id, "ping", now, {"webhook_id": webhook_id})
            if endpoint["face"] == "native":
                await store.ensure_workspace_secret(conn, principal.workspace_id, new_secret())
            return await self._enqueue(conn, endpoint, event_id, "ping", body)

    async def _sendable(self, conn, principal: Principal, webhook_id: str) -> dict:
        endpoint = await self._endpoint(conn, principal, webhook_id)
        if not endpoint["enabled"]:
            raise Conflict(f"Webhook {webhook_id} is disabled; enable it first.")
        return endpoint

    @staticmethod
    async def _enqueue(conn, endpoint: dict, event_id: str, event_type: str, body: bytes) -> dict:
        row = _delivery(endpoint["workspace_id"], endpoint["id"], endpoint["id"], endpoint["url"], endpoint["face"],
                        event_id, event_type, body)
        await store.insert_deliveries(conn, [row])
        (created,) = await store.get_deliveries(conn, [row["id"]])
        created["attempts"] = []
        return created


async def _attach_attempts(conn, deliveries: list[dict]) -> None:
    by_id = {d["id"]: d for d in deliveries}
    for d in deliveries:
        d["attempts"] = []
    if by_id:
        for attempt in await store.attempts_of(conn, list(by_id)):
            by_id[attempt["delivery_id"]]["attempts"].append(attempt)
