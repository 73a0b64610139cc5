"""Media ingestion (reference §A7): direct uploads, imports of public URLs, workspace assets.

An upload is created `pending` with a signed PUT URL (served by the gateway); when the gateway has
the whole file it calls CompleteUpload and the row becomes `processing`. An import starts
`processing`. The AssetRunner (a background runner of the tasks service, never the request
handler) claims processing rows (FOR UPDATE SKIP LOCKED, with a lease so a crashed runner's row is
taken over), copies an import through the safe fetcher, probes the file with ffprobe, and marks it
`ready` (emitting `asset.ready` through the outbox in the same transaction) or `failed`."""

import asyncio
import logging
import mimetypes
import os
import re
import shutil
import time
import unicodedata
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from google.protobuf import json_format
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from framelane.tasks.v1 import assets_pb2
from framelane.webhooks.v1 import events_pb2 as webhook_events_pb2
from framelane_core.bus import make_event, write_outbox
from framelane_core.context import Principal
from framelane_core.errors import FramelaneError, InvalidRequest, NotFound, violation
from framelane_core.fetch import Allow, check_url, fetch_to_file
from framelane_core.ids import new_id
from framelane_core.pagination import Cursor, decode_cursor, page, page_limit
from framelane_core.protoconv import nullable, timestamp
from framelane_core.storage import UPLOAD_MAX_BYTES
from framelane_tasks.events import SERVICE

log = logging.getLogger(__name__)

UPLOAD_URL_TTL = 3600
# source_url links are signed for this long (re-signed on every read of the asset).
SOURCE_URL_TTL = int(os.environ.get("FRAMELANE_ASSET_URL_TTL_SECONDS", str(7 * 24 * 3600)))
URL_MAX = 2083
MAX_ATTEMPTS = 3
LEASE = timedelta(minutes=30)
SWEEP_SECONDS = 60.0  # how often abandoned uploads are looked for

EXTENSIONS = {
    "video/mp4": ".mp4", "video/quicktime": ".mov", "video/webm": ".webm", "video/x-msvideo": ".avi",
    "video/x-matroska": ".mkv", "video/mpeg": ".mpg",
    "audio/mpeg": ".mp3", "audio/mp4": ".m4a", "audio/wav": ".wav", "audio/x-wav": ".wav", "audio/aac": ".aac",
    "audio/flac": ".flac", "audio/ogg": ".ogg",
    "image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif", "image/tiff": ".tif",
    "font/ttf": ".ttf", "font/otf": ".otf", "font/woff": ".woff", "font/woff2": ".woff2",
}
ALLOWED_CONTENT_TYPES = tuple(EXTENSIONS)
# Share links of hosted drives and video sites need their own backends: not supported yet.
SHARE_LINK_HOSTS = ("drive.google.com", "docs.google.com", "dropbox.com", "dropboxusercontent.com", "youtube.com",
                    "youtu.be", "vimeo.com", "onedrive.live.com", "1drv.ms", "box.com", "icloud.com", "wetransfer.com")


class UnsupportedContentType(InvalidRequest):
    code = "unsupported_content_type"


def normalize_content_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def kind_of(content_type: str) -> str:
    return {"video": "video", "audio": "audio", "image": "image", "font": "font"}.get(content_type.split("/")[0], "video")


def extension(content_type: str, filename: str | None) -> str:
    """The key's extension: the filename's when it has a plain one, else the content type's."""
    suffix = Path(filename or "").suffix.lower()
    if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix):
        return suffix
    return EXTENSIONS.get(content_type, "")


def has_control_characters(text: str) -> bool:
    """True for text with control characters (CR, LF, NUL...): never part of a file name."""
    return any(unicodedata.category(c) == "Cc" for c in text)


def is_share_link(url: str) -> bool:
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:  # not a URL at all: the fetcher's check refuses it
        return False
    return any(host == h or host.endswith("." + h) for h in SHARE_LINK_HOSTS)


class Assets:
    def __init__(self, pool: AsyncConnectionPool, storage, allow: Allow):
        self.pool, self.storage, self.allow = pool, storage, allow
        self.wake = asyncio.Event()

    def source_url(self, row: dict) -> str:
        return self.storage.signed_url(row["storage_key"], workspace=row["workspace_id"], ttl=SOURCE_URL_TTL)[0]

    def asset_view(self, row: dict) -> dict:
        return {
            "id": row["id"], "source_url": self.source_url(row), "kind": row["kind"] or kind_of(row["content_type"]),
            "duration": row["duration"], "width": row["width"], "height": row["height"],
            "created_at": row["created_at"].astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "content_type": row["content_type"], "size_bytes": row["size_bytes"] or 0, "codecs": row["codecs"] or {},
            "origin": row["origin"],
        }

    def asset_message(self, row: dict) -> assets_pb2.Asset:
        msg = assets_pb2.Asset(
            id=row["id"], source_url=self.source_url(row), kind=row["kind"] or kind_of(row["content_type"]),
            duration=nullable(row["duration"]), width=nullable(row["width"]), height=nullable(row["height"]),
            created_at=timestamp(row["created_at"]), content_type=row["content_type"],
            size_bytes=row["size_bytes"] or 0, origin=row["origin"],
        )
        json_format.ParseDict(row["codecs"] or {}, msg.codecs)
        return msg

    def import_message(self, row: dict) -> assets_pb2.Import:
        msg = assets_pb2.Import(
            id=row["id"], status="processing" if row["status"] == "pending" else row["status"],
            source_url=nullable(self.source_url(row) if row["status"] == "ready" else None),
            created_at=timestamp(row["created_at"]), url=row["url"] or "",
        )
        json_format.ParseDict(row["error"], msg.error)
        return msg

    async def emit_ready(self, conn, row: dict) -> None:
        """Writes `asset.ready` for a ready asset through the outbox (in the caller's transaction)."""
        data = self.asset_view(row)
        if row["origin"] == "import":
            data["import"] = {"id": row["id"], "status": "ready", "url": row["url"]}
        payload = webhook_events_pb2.WebhookPayload()
        json_format.ParseDict(data, payload.data)
        await write_outbox(conn, SERVICE, make_event("asset.ready", row["workspace_id"], payload))

    # ---- uploads

    async def create_upload(self, principal: Principal, request: assets_pb2.CreateUploadRequest) -> assets_pb2.Upload:
        content_type = normalize_content_type(request.content_type)
        if not content_type:
            raise InvalidRequest("content_type is required.", details=[
                violation("$.content_type", "required", "content_type is required.")])
        if content_type not in ALLOWED_CONTENT_TYPES:
            raise UnsupportedContentType(f"Uploads of {content_type[:100]} are not supported.", details=[
                violation("$.content_type", "unsupported_content_type",
                          f"Must be one of {', '.join(ALLOWED_CONTENT_TYPES)}.")])
        problems = []
        if request.HasField("duration") and not request.duration >= 0:
            problems.append(violation("$.duration", "out_of_range", "Must be ≥ 0."))
        for name in ("width", "height"):
            if request.HasField(name) and not 1 <= getattr(request, name) <= 65535:
                problems.append(violation(f"$.{name}", "out_of_range", "Must be between 1 and 65535."))
        if len(request.filename) > 255:
            problems.append(violation("$.filename", "too_long", "At most 255 characters."))
        if has_control_characters(request.filename):
            problems.append(violation("$.filename", "invalid_characters", "Must not contain control characters."))
        if problems:
            raise InvalidRequest("The upload request is invalid.", details=problems)
        client_meta = {name: getattr(request, name) for name in ("duration", "width", "height") if request.HasField(name)}
        upload_id = new_id("upload")
        key = f"uploads/{principal.workspace_id.lower()}/{upload_id}{extension(content_type, request.filename)}"
        upload_url, expires = self.storage.signed_upload_url(key, UPLOAD_URL_TTL)
        expires_at = datetime.fromtimestamp(expires, UTC)
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO assets (id, workspace_id, origin, status, storage_key, content_type, filename, kind,"
                " client_meta, expires_at) VALUES (%s, %s, 'upload', 'pending', %s, %s, %s, %s, %s, %s)",
                (upload_id, principal.workspace_id, key, content_type, request.filename or None, kind_of(content_type),
                 Jsonb(client_meta), expires_at))
        source_url, _ = self.storage.signed_url(key, workspace=principal.workspace_id, ttl=SOURCE_URL_TTL)
        return assets_pb2.Upload(id=upload_id, upload_url=upload_url, source_url=source_url,
                                 expires_at=timestamp(expires_at))

    async def complete_upload(self, key: str, size: int) -> dict:
        """pending → processing once the gateway stored the whole file (idempotent)."""
        if size > UPLOAD_MAX_BYTES:
            raise InvalidRequest(f"Uploads are limited to {UPLOAD_MAX_BYTES} bytes.")
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE assets SET status = 'processing', size_bytes = %s, updated_at = now()"
                " WHERE storage_key = %s AND origin = 'upload' AND status = 'pending' RETURNING *", (size, key))
            row = await cur.fetchone()
            if row is None:
                cur = await conn.execute("SELECT * FROM assets WHERE storage_key = %s", (key,))
                row = await cur.fetchone()
        if row is None:
            raise NotFound("No such upload.")
        self.wake.set()
        return row

    # ---- imports

    async def create_import(self, principal: Principal, url: str, filename: str | None) -> dict:
        if not url or len(url) > URL_MAX or not re.match(r"^https?://[^\s/]+", url):
            raise InvalidRequest("url must be an http(s) URL.", details=[
                violation("$.url", "invalid_url", f"Must be an http(s) URL of 1 to {URL_MAX} characters.")])
        if is_share_link(url):
            raise InvalidRequest("Share links of hosted drives and video sites are not supported yet.", details=[
                violation("$.url", "unsupported_share_link",
                          "imports.share_links is reported supported: false in /v1/capabilities; use a direct URL.")])
        if filename and has_control_characters(filename):
            raise InvalidRequest("The filename is invalid.", details=[
                violation("$.filename", "invalid_characters", "Must not contain control characters.")])
        await check_url(url, self.allow, "$.url")
        import_id = new_id("import")
        key = f"uploads/{principal.workspace_id.lower()}/{import_id}"
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO assets (id, workspace_id, origin, status, storage_key, filename, url)"
                " VALUES (%s, %s, 'import', 'processing', %s, %s, %s) RETURNING *",
                (import_id, principal.workspace_id, key, filename, url))
            row = await cur.fetchone()
        self.wake.set()
        return row

    async def get_import(self, principal: Principal, import_id: str) -> dict:
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT * FROM assets WHERE id = %s AND workspace_id = %s AND origin = 'import'",
                                     (import_id, principal.workspace_id))
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"Import {import_id} not found.")
        return row

    async def list_page(self, principal: Principal, limit: int, cursor: str) -> tuple[list[dict], str | None]:
        limit = page_limit(limit)
        after: Cursor | None = decode_cursor(cursor)
        where, args = ["workspace_id = %s", "status = 'ready'"], [principal.workspace_id]
        if after is not None:
            where.append("(created_at, id) < (%s, %s)")
            args += [after.created_at, after.id]
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT * FROM assets WHERE {' AND '.join(where)} ORDER BY created_at DESC, id DESC LIMIT %s",
                (*args, limit + 1))
            rows = await cur.fetchall()
        return page(rows, limit)


class AssetRunner:
    """Background runner: imports and probes processing assets, a few at a time."""

    def __init__(self, assets: Assets, work_dir: Path, concurrency: int = 2, poll_seconds: float = 1.0):
        self.assets, self.work_dir, self.poll = assets, Path(work_dir), poll_seconds
        self.slots = asyncio.Semaphore(concurrency)
        self._stopping = False
        self._inflight: set[asyncio.Task] = set()

    @property
    def pool(self):
        return self.assets.pool

    async def claim(self) -> dict | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE assets SET claimed_at = now(), attempts = attempts + 1 WHERE id = ("
                " SELECT id FROM assets WHERE status = 'processing' AND (claimed_at IS NULL OR claimed_at < %s)"
                " ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING *",
                (datetime.now(UTC) - LEASE,))
            return await cur.fetchone()

    async def expire_abandoned(self) -> int:
        """Uploads whose link expired before their bytes were complete become `failed`
        (upload_expired); the gateway deletes their staged bytes (framelane_gateway.blobs)."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE assets SET status = 'failed', error = %s, updated_at = now()"
                " WHERE origin = 'upload' AND status = 'pending' AND expires_at < now() RETURNING id",
                (Jsonb({"code": "upload_expired", "message": "The upload was not completed before its link expired."}),))
            expired = await cur.fetchall()
        if expired:
            log.info("abandoned uploads expired", extra={"fields": {"count": len(expired)}})
        return len(expired)

    async def run(self) -> None:
        next_sweep = 0.0
        while not self._stopping:
            try:
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + SWEEP_SECONDS
                    await self.expire_abandoned()
                await self.slots.acquire()
                row = await self.claim()
                if row is None:
                    self.slots.release()
                    self.assets.wake.clear()
                    try:
                        await asyncio.wait_for(self.assets.wake.wait(), self.poll)
                    except TimeoutError:
                        pass
                    continue
                task = asyncio.create_task(self._process(row))
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database went away for a moment: retry
                log.exception("asset runner loop failed")
                self.slots.release()
                await asyncio.sleep(self.poll)
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)

    def stop(self) -> None:
        self._stopping = True
        self.assets.wake.set()

    async def _process(self, row: dict) -> None:
        workdir = self.work_dir / f"{row['id']}-{uuid.uuid4().hex[:8]}"
        try:
            if row["attempts"] > MAX_ATTEMPTS:
                await self._fail(row, "internal_error", "Processing the asset failed repeatedly.")
                return
            workdir.mkdir(parents=True, exist_ok=True)
            if row["origin"] == "import":
                row = await self._import(row, workdir)
            facts = await self._probe(row, workdir)
            await self._ready(row, facts)
        except FramelaneError as err:
            await self._fail(row, err.code, err.message)
        except Exception:
            log.exception("asset processing crashed")
            await self._fail(row, "internal_error", "Processing the asset failed unexpectedly.")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            self.slots.release()

    async def _import(self, row: dict, workdir: Path) -> dict:
        """Copies the URL through the safe fetcher into storage; the row with its key and type."""
        fetched = await fetch_to_file(row["url"], workdir / "source", allow=self.assets.allow,
                                      max_bytes=UPLOAD_MAX_BYTES, timeout=60.0)
        content_type = normalize_content_type(fetched.content_type)
        if content_type not in ALLOWED_CONTENT_TYPES:
            name = row["filename"] or urlsplit(fetched.final_url).path
            content_type = normalize_content_type(mimetypes.guess_type(name)[0] or "")
        if content_type not in ALLOWED_CONTENT_TYPES:
            raise UnsupportedContentType("The imported file is not a supported video, audio, image or font type.")
        key = row["storage_key"].rsplit(".", 1)[0] if "." in row["storage_key"].rsplit("/", 1)[-1] else row["storage_key"]
        key += extension(content_type, row["filename"] or urlsplit(fetched.final_url).path)
        await asyncio.to_thread(self.assets.storage.move_in, key, fetched.path)
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE assets SET storage_key = %s, content_type = %s, kind = %s, size_bytes = %s, updated_at = now()"
                " WHERE id = %s RETURNING *", (key, content_type, kind_of(content_type), fetched.size, row["id"]))
            return await cur.fetchone()

    async def _probe(self, row: dict, workdir: Path) -> dict:
        return await probe_stored(self.assets.storage, row, workdir)

    async def _ready(self, row: dict, facts: dict) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "UPDATE assets SET status = 'ready', duration = %s, width = %s, height = %s, codecs = %s,"
                " updated_at = now(), ready_at = now(), claimed_at = NULL WHERE id = %s AND status = 'processing'"
                " RETURNING *",
                (facts["duration"], facts["width"], facts["height"], Jsonb(facts["codecs"]), row["id"]))
            done = await cur.fetchone()
            if done is not None:
                await self.assets.emit_ready(conn, done)
        log.info("asset ready", extra={"fields": {"asset_id": row["id"], "origin": row["origin"]}})

    async def _fail(self, row: dict, code: str, message: str) -> None:
        log.info("asset failed", extra={"fields": {"asset_id": row["id"], "code": code}})
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE assets SET status = 'failed', error = %s, updated_at = now(), claimed_at = NULL"
                " WHERE id = %s AND status = 'processing'", (Jsonb({"code": code, "message": message}), row["id"]))


class InvalidSourceFile(FramelaneError):
    code = "invalid_source"


async def probe_stored(storage, row: dict, workdir: Path) -> dict:
    """Media facts of a stored asset ({duration, width, height, codecs}), read with ffprobe; the
    client's own numbers fill what the probe cannot tell."""
    kind = row["kind"] or kind_of(row["content_type"])
    meta = row.get("client_meta") or {}
    if kind == "font":
        return {"duration": None, "width": None, "height": None, "codecs": {}}
    from framelane_renderer.engine import ProbeError, probe  # noqa: PLC0415

    if getattr(storage, "backend", "local") == "local":
        path = storage.path(row["storage_key"])
    else:
        path = await asyncio.to_thread(storage.copy_to, row["storage_key"], workdir / "probe")
    try:
        info = await asyncio.to_thread(probe, str(path))
    except ProbeError:
        raise InvalidSourceFile("The file could not be read as media of its content type.") from None
    codecs = {k: v for k, v in {"video": info.video_codec if kind != "audio" else None,
                                "audio": info.audio_codec, "container": info.format_name}.items() if v}
    duration = info.duration if kind in ("video", "audio") else None
    return {"duration": duration if duration is not None else meta.get("duration"),
            "width": info.width or meta.get("width"), "height": info.height or meta.get("height"), "codecs": codecs}
