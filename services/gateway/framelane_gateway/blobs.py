"""The HTTP-native blob route: GET/HEAD /blobs/<key>?exp=&sig= serves a stored object when its
signature is valid and unexpired, with Range (players seek), ETag, Content-Type and Length.
Envoy routes /blobs/ here untouched; nothing else about blobs goes through the transcoder."""

import json
import logging

from aiohttp import web

from framelane_core.errors import InvalidRequest
from framelane_core.storage import LocalStorage, verify

log = logging.getLogger(__name__)


def _error(status: int, code: str, message: str, request: web.Request) -> web.Response:
    body = {"error": {"code": code, "message": message, "details": None,
                      "request_id": request.headers.get("x-request-id", "")}}
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")


class BlobServer:
    """Background runner serving the blob route on host:port."""

    def __init__(self, storage: LocalStorage, host: str, port: int):
        self.storage, self.host, self.port = storage, host, port
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info["key"]
        if not verify(self.storage.secret, key, request.query.get("exp", ""), request.query.get("sig", "")):
            return _error(403, "forbidden", "The link is invalid or has expired.", request)
        try:
            path = self.storage.path(key)
        except InvalidRequest:
            return _error(404, "not_found", "No such object.", request)
        if not path.is_file():
            return _error(404, "not_found", "No such object.", request)
        return web.FileResponse(path, headers={"Cache-Control": "private, max-age=300"})

    async def run(self) -> None:
        app = web.Application()
        app.router.add_get("/blobs/{key:.+}", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    def stop(self) -> None:
        pass

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
