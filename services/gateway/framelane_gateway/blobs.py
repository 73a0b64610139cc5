"""The HTTP-native blob routes.

GET/HEAD /blobs/<key>?exp=&sig= serves a stored object when its signature is valid and unexpired,
with Range (players seek), ETag, Content-Type and Length (the S3 backend answers with a redirect
to a presigned S3 URL instead). The bytes sent are counted against the workspace signed into the
link (framelane_gateway.egress).

PUT /uploads/<key>?exp=&sig= receives a direct upload (reference §A7.1), streamed to a staging
file, never read whole into memory. One PUT of the whole file, or resumable chunks with
`Content-Range: bytes a-b/total` (answered 308 with `Range: bytes=0-n` until the last one; an empty
PUT with `Content-Range: bytes */total` asks how much arrived). Bodies over the 5 GiB cap are
refused with 413 from their headers. The complete file is moved into storage and reported to the
tasks service (CompleteUpload), which probes it asynchronously.

Envoy routes /blobs/ and /uploads/ here untouched; nothing else about blobs goes through the
transcoder."""

import asyncio
import contextlib
import json
import logging
import re
import time

import grpc
from aiohttp import web

from framelane.tasks.v1 import assets_pb2, assets_pb2_grpc
from framelane_core.errors import InvalidRequest
from framelane_core.storage import UPLOAD_MAX_BYTES, verify, verify_upload
from framelane_gateway.egress import EgressMeter

log = logging.getLogger(__name__)
_RANGE = re.compile(r"^bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)$")
CHUNK = 1 << 20
# Staged upload bytes older than an upload link's life (1 h) plus a margin are abandoned.
STAGING_MAX_AGE_SECONDS = 3600 + 600
SWEEP_SECONDS = 300.0


def _error(status: int, code: str, message: str, request: web.Request) -> web.Response:
    body = {"error": {"code": code, "message": message, "details": None,
                      "request_id": request.headers.get("x-request-id", "")}}
    # Compact, as the edge recognises an envelope ('{"error":{') and leaves it as it is.
    return web.Response(status=status, text=json.dumps(body, separators=(",", ":")), content_type="application/json")


def _incomplete(received: int) -> web.Response:
    """308 Resume Incomplete, with what arrived so far (no Range header: nothing yet)."""
    headers = {"Range": f"bytes=0-{received - 1}"} if received > 0 else {}
    return web.Response(status=308, headers=headers)


class _CountedFile(web.FileResponse):
    """A FileResponse (Range, ETag, conditional requests) that reports how many body bytes it sent
    (also when the player went away mid-body): the file position after aiohttp's sendfile, which
    asyncio updates on return and on error. HEAD and 304 answers send no body and report nothing."""

    def __init__(self, path, on_sent, **kwargs):
        super().__init__(path, **kwargs)
        self._on_sent = on_sent

    async def _sendfile(self, request, fobj, offset: int, count: int):
        try:
            return await super()._sendfile(request, fobj, offset, count)
        finally:
            if self._on_sent is not None:
                self._on_sent(max(min(fobj.tell() - offset, count), 0))


def _range_length(http_range: slice, size: int) -> int:
    """Bytes a Range request asks of an object of `size` bytes (all of them without Range)."""
    start, stop = http_range.start, http_range.stop
    if start is None and stop is None:
        return size
    if start is not None and start < 0:  # bytes=-N: the last N
        return min(-start, size)
    start = start or 0
    stop = size if stop is None else min(stop, size)
    return max(stop - start, 0)


class BlobServer:
    """Background runner serving the blob and upload routes on host:port."""

    def __init__(self, storage, host: str, port: int, channel: grpc.aio.Channel | None = None,
                 max_bytes: int = UPLOAD_MAX_BYTES, egress: EgressMeter | None = None):
        self.storage, self.host, self.port, self.max_bytes = storage, host, port, max_bytes
        self.egress = egress
        self.assets = assets_pb2_grpc.AssetServiceStub(channel) if channel is not None else None
        self._runner: web.AppRunner | None = None
        self._sweeper: asyncio.Task | None = None
        self._locks: dict[str, asyncio.Lock] = {}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        key, query = request.match_info["key"], request.query
        workspace = query.get("ws", "")
        if not verify(self.storage.secret, key, query.get("exp", ""), query.get("sig", ""), workspace=workspace):
            return _error(403, "forbidden", "The link is invalid or has expired.", request)
        if getattr(self.storage, "backend", "local") == "s3":
            try:
                stored = await asyncio.to_thread(self.storage.stat, key)
            except InvalidRequest:
                stored = None
            if stored is None:
                return _error(404, "not_found", "No such object.", request)
            # The bytes leave from S3: counted as the whole object (or the asked range) when handed out.
            if self.egress is not None and request.method == "GET":
                self.egress.add(workspace, _range_length(request.http_range, stored.size))
            raise web.HTTPFound(self.storage.presigned_url(key), headers={"Cache-Control": "no-store"})
        try:
            path = self.storage.path(key)
        except InvalidRequest:
            return _error(404, "not_found", "No such object.", request)
        if not path.is_file():
            return _error(404, "not_found", "No such object.", request)
        sent = (lambda n: self.egress.add(workspace, n)) if self.egress is not None else None
        return _CountedFile(path, sent, headers={"Cache-Control": "private, max-age=300"})

    async def upload(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info["key"]
        if not verify_upload(self.storage.secret, key, request.query.get("exp", ""), request.query.get("sig", "")):
            return _error(403, "forbidden", "The upload link is invalid or has expired.", request)
        try:
            staging = self.storage.staging_path(key)
        except InvalidRequest:
            return _error(404, "not_found", "No such upload.", request)
        length = request.content_length
        start, end, total = 0, None, length
        content_range = request.headers.get("Content-Range")
        if content_range is not None:
            m = _RANGE.match(content_range.strip())
            if m is None:
                return _error(400, "invalid_request", "Content-Range must be `bytes a-b/total` or `bytes */total`.",
                              request)
            total = None if m.group(3) == "*" else int(m.group(3))
            if m.group(1) is not None:
                start, end = int(m.group(1)), int(m.group(2))
                if end < start or (total is not None and end >= total) or (
                        length is not None and length != end - start + 1):
                    return _error(400, "invalid_request", "Content-Range does not match the body.", request)
        too_big = max(length or 0, total or 0, (end + 1) if end is not None else 0)
        if too_big > self.max_bytes:
            return _error(413, "payload_too_large", f"Uploads are limited to {self.max_bytes} bytes.", request)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if await self._stored(key):  # already complete: a retried final request
                return await self._complete(key, request, created=False)
            received = staging.stat().st_size if staging.exists() else 0
            if content_range is not None and end is None:  # status query
                if total is not None and received == total and received > 0:
                    return await self._finish(key, staging, request)
                return _incomplete(received)
            if start > received:
                return _incomplete(received)
            limit = end + 1 if end is not None else self.max_bytes
            written, whole = await self._receive(request, staging, start, limit)
            if written is None:
                return _error(413, "payload_too_large", f"Uploads are limited to {self.max_bytes} bytes.", request)
            received = start + written
            if not whole or (length is not None and written < length):
                return _incomplete(received)
            if content_range is None or (total is not None and received == total):
                return await self._finish(key, staging, request)
            return _incomplete(received)

    async def _stored(self, key: str) -> bool:
        return await asyncio.to_thread(self.storage.stat, key) is not None

    async def _receive(self, request: web.Request, staging, start: int, limit: int) -> tuple[int | None, bool]:
        """Writes the body at offset start: (byte count or None past limit, whether the body
        arrived whole). A broken body keeps what arrived (the client resumes)."""
        staging.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with open(staging, "r+b" if staging.exists() else "w+b") as f:
            f.seek(start)
            f.truncate()
            try:
                async for chunk in request.content.iter_chunked(CHUNK):
                    if start + written + len(chunk) > limit:
                        f.truncate(start + written)
                        return None, False
                    f.write(chunk)
                    written += len(chunk)
            except Exception as err:  # noqa: BLE001 - the client went away mid-body
                log.info("upload interrupted", extra={"fields": {"received": start + written, "error": type(err).__name__}})
                return written, False
        return written, True

    async def _finish(self, key: str, staging, request: web.Request) -> web.StreamResponse:
        if staging.stat().st_size == 0:
            return _error(400, "invalid_request", "The upload is empty.", request)
        await asyncio.to_thread(self.storage.move_in, key, staging)
        self._locks.pop(key, None)
        return await self._complete(key, request, created=True)

    async def _complete(self, key: str, request: web.Request, created: bool) -> web.StreamResponse:
        stored = await asyncio.to_thread(self.storage.stat, key)
        status = "complete"
        if self.assets is not None:
            try:
                reply = await self.assets.CompleteUpload(
                    assets_pb2.CompleteUploadRequest(key=key, size=stored.size), timeout=10)
                status = reply.status
            except grpc.aio.AioRpcError as err:
                log.warning("CompleteUpload failed", extra={"fields": {"code": err.code().name}})
                return _error(503, "unavailable", "The upload arrived; retry the last request to finish it.", request)
        return web.json_response({"status": status, "size_bytes": stored.size}, status=201 if created else 200)

    def sweep_staging(self, older_than: float = STAGING_MAX_AGE_SECONDS) -> int:
        """Deletes staged bytes of uploads untouched for longer than an upload link lives
        (abandoned: the link expired, so nobody can finish them)."""
        root, cutoff, removed = self.storage.staging_root, time.time() - older_than, 0
        for path in root.rglob("*") if root.exists() else ():
            with contextlib.suppress(OSError):
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
        if removed:
            log.info("abandoned upload bytes deleted", extra={"fields": {"files": removed}})
        return removed

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.sweep_staging)
            except Exception:  # noqa: BLE001 - a sweep must never stop the server
                log.warning("staging sweep failed", exc_info=True)
            await asyncio.sleep(SWEEP_SECONDS)

    async def run(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep_forever())
        app = web.Application()
        app.router.add_get("/blobs/{key:.+}", self.handle)
        app.router.add_put("/uploads/{key:.+}", self.upload)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    def stop(self) -> None:
        pass

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
