"""BeatAPI's POST /beatapi/v1/files (reference §B8): an input file sent in the request itself, as
multipart/form-data (a `file` part, optional `purpose: input`) or as the raw body with its own
Content-Type. Stored at once as a ready workspace asset (origin `file`, the same kind of asset an
upload or import makes, API.md C13) and answered with a long-lived URL to pass as images[],
audio_url or srt_url.

Limits: 50 MB; images png/jpeg/webp; audio mp3/wav/aac/m4a lasting 10–180 s (measured with
ffprobe); subtitles srt (text/plain only with a .srt filename). Anything else is 400 bad_request."""

import asyncio
import tempfile
from email import policy
from email.parser import BytesParser
from pathlib import Path

from psycopg.types.json import Jsonb

from framelane.beatapi.v1 import beatapi_pb2, beatapi_pb2_grpc
from framelane_core.context import Principal, current_principal
from framelane_core.errors import InvalidRequest, violation
from framelane_core.grpcserver import set_http_status
from framelane_core.ids import new_id
from framelane_core.protoconv import nullable
from framelane_tasks.assets import (SOURCE_URL_TTL, Assets, UnsupportedContentType, has_control_characters,
                                   normalize_content_type, probe_stored)
from framelane_tasks.catalog import INPUT_MAX_BYTES
from framelane_tasks.workflows import srt

AUDIO_SECONDS = (10, 180)
# Content type → (kind, extension).
FILE_TYPES = {
    "image/png": ("image", ".png"), "image/jpeg": ("image", ".jpg"), "image/webp": ("image", ".webp"),
    "audio/mpeg": ("audio", ".mp3"), "audio/wav": ("audio", ".wav"), "audio/x-wav": ("audio", ".wav"),
    "audio/wave": ("audio", ".wav"), "audio/aac": ("audio", ".aac"), "audio/mp4": ("audio", ".m4a"),
    "audio/x-m4a": ("audio", ".m4a"), "application/x-subrip": ("subtitle", ".srt"),
}


def _bad(path: str, code: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, details=[violation(path, code, message)])


def parse_body(content_type: str, data: bytes) -> tuple[str, bytes, str]:
    """(content type, file bytes, filename) of a multipart or raw body."""
    media_type = normalize_content_type(content_type)
    if media_type != "multipart/form-data":
        return media_type, data, ""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(head + data)
    if not message.is_multipart():
        raise _bad("$.file", "invalid_multipart", "The multipart body could not be read.")
    found = None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name == "purpose" and part.get_content().strip() != "input":
            raise _bad("$.purpose", "enum", "purpose must be input.")
        if name == "file":
            found = part
    if found is None:
        raise _bad("$.file", "required", "The multipart body needs a file part.")
    filename = found.get_filename() or ""
    if has_control_characters(filename):
        raise _bad("$.file", "invalid_filename", "The file name must not contain control characters.")
    part_type = found.get_content_type()
    if part_type == "text/plain" and filename.lower().endswith(".srt"):
        part_type = "application/x-subrip"
    return part_type, found.get_payload(decode=True) or b"", filename


class Files:
    def __init__(self, assets: Assets):
        self.assets = assets

    async def create(self, principal: Principal, content_type: str, data: bytes) -> tuple[dict, str]:
        """Stores the file as a ready asset; returns (asset row, file key as BeatAPI shows it)."""
        media_type, payload, filename = parse_body(content_type, data)
        if media_type not in FILE_TYPES:
            raise UnsupportedContentType(f"Files of type {media_type[:100] or 'unknown'} are not supported.", details=[
                violation("$.file", "unsupported_content_type",
                          "Send png, jpeg or webp images, mp3, wav, aac or m4a audio, or srt subtitles.")])
        if not payload:
            raise _bad("$.file", "empty", "The file is empty.")
        if len(payload) > INPUT_MAX_BYTES:
            raise _bad("$.file", "too_large", f"The file is {len(payload)} bytes; the limit is 50 MB.")
        kind, ext = FILE_TYPES[media_type]
        file_id = new_id("file")
        key = f"inputs/{file_id}{ext}"
        row = {"id": file_id, "storage_key": key, "kind": kind, "content_type": media_type}
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"upload{ext}"
            await asyncio.to_thread(path.write_bytes, payload)
            facts = await self._check(row, path)
            await asyncio.to_thread(self.assets.storage.move_in, key, path)
        async with self.assets.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "INSERT INTO assets (id, workspace_id, origin, status, storage_key, content_type, filename, kind,"
                " size_bytes, duration, width, height, codecs, ready_at) VALUES (%s, %s, 'file', 'ready', %s, %s, %s,"
                " %s, %s, %s, %s, %s, %s, now()) RETURNING *",
                (file_id, principal.workspace_id, key, media_type, filename[:255] or None, kind, len(payload),
                 facts["duration"], facts["width"], facts["height"], Jsonb(facts["codecs"])))
            stored = await cur.fetchone()
            await self.assets.emit_ready(conn, stored)
        return stored, key

    async def _check(self, row: dict, path: Path) -> dict:
        """Reads the file as what its type says (ffprobe; the SubRip parser for srt)."""
        if row["kind"] == "subtitle":
            try:
                srt.parse_srt(path.read_bytes().decode("utf-8-sig"))
            except (UnicodeDecodeError, ValueError) as err:
                raise _bad("$.file", "invalid_srt", f"The file is not a SubRip subtitle file: {err}") from None
            return {"duration": None, "width": None, "height": None, "codecs": {}}
        storage = _LocalFile(path)
        facts = await probe_stored(storage, {**row, "storage_key": ""}, path.parent)
        if row["kind"] == "image" and not facts["width"]:
            raise _bad("$.file", "invalid_image", "The file could not be read as an image.")
        if row["kind"] == "audio":
            seconds = facts["duration"]
            if seconds is None or not AUDIO_SECONDS[0] <= seconds <= AUDIO_SECONDS[1]:
                raise _bad("$.file", "audio_duration", f"Audio files must last {AUDIO_SECONDS[0]} to {AUDIO_SECONDS[1]} "
                           f"seconds{'' if seconds is None else f'; this one lasts {seconds:.1f}'}.")
        return facts


class _LocalFile:
    """probe_stored's view of a file not stored yet."""

    backend = "local"

    def __init__(self, path: Path):
        self._path = path

    def path(self, key: str) -> Path:
        return self._path


class BeatFileServicer(beatapi_pb2_grpc.FileServiceServicer):
    def __init__(self, assets: Assets):
        self.files, self.storage = Files(assets), assets.storage

    async def CreateFile(self, request, context):
        row, key = await self.files.create(current_principal(), request.content_type, request.data)
        await set_http_status(context, 201)
        audio = row["kind"] == "audio"
        url = self.storage.signed_url(key, workspace=row["workspace_id"], ttl=SOURCE_URL_TTL)[0]
        data = beatapi_pb2.File(
            id=row["id"], object="file", url=url, key=key,
            mime_type=row["content_type"], size_bytes=row["size_bytes"], purpose="input",
            created_at=int(row["created_at"].timestamp()),
        )
        if audio:
            data.audio_duration_seconds.CopyFrom(nullable(round(row["duration"], 2)))
            data.audio_duration_source.CopyFrom(nullable("ffprobe"))
        return beatapi_pb2.FileResponse(data=data)
