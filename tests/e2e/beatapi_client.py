"""A BeatAPI client written from BeatAPI's documented contract (reference Part B), not from our
code: base URL + /v1, Bearer key, {"data": ...} envelopes, {"error": {...}} errors, and the
x-beatapi-* webhook signature check a BeatAPI receiver does."""

import hashlib
import hmac
import time

import httpx


class BeatApiError(Exception):
    def __init__(self, status: int, body: dict, headers):
        error = body.get("error", {})
        super().__init__(f"{status} {error.get('code')}: {error.get('message')}")
        self.status, self.body, self.headers = status, body, headers
        self.code, self.message = error.get("code"), error.get("message")
        self.request_id, self.retry_after_seconds = error.get("request_id"), error.get("retry_after_seconds")


class BeatApi:
    def __init__(self, base_url: str, api_key: str | None):
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(base_url=f"{base_url}/v1", headers=headers, timeout=60)

    def _call(self, method: str, path: str, **kwargs) -> tuple[int, dict]:
        resp = self.http.request(method, path, **kwargs)
        body = resp.json()
        if resp.status_code >= 400:
            raise BeatApiError(resp.status_code, body, resp.headers)
        return resp.status_code, body

    def workflows(self) -> dict:
        return self._call("GET", "/workflows")[1]

    def create_music_video(self, body: dict, **kwargs) -> tuple[int, dict]:
        return self._call("POST", "/music-video/tasks", json=body, **kwargs)

    def create_ecommerce_video(self, body: dict, **kwargs) -> tuple[int, dict]:
        return self._call("POST", "/ecommerce-video/tasks", json=body, **kwargs)

    def task(self, task_id: str) -> dict:
        return self._call("GET", f"/tasks/{task_id}")[1]

    def wait(self, task_id: str, timeout: float = 300, every: float = 2.0) -> dict:
        """Polls (the docs say every 5–10 s; a test polls faster, under the 120/min limit)."""
        deadline = time.monotonic() + timeout
        while True:
            task = self.task(task_id)["data"]
            if task["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
                return task
            time.sleep(every)

    def usage(self) -> dict:
        return self._call("GET", "/usage")[1]

    def upload(self, content: bytes, content_type: str, filename: str | None = None) -> tuple[int, dict]:
        if filename:  # multipart with a `file` part
            return self._call("POST", "/files", files={"file": (filename, content, content_type)},
                              data={"purpose": "input"})
        return self._call("POST", "/files", content=content, headers={"Content-Type": content_type})

    def webhooks(self) -> dict:
        return self._call("GET", "/webhooks")[1]

    def create_webhook(self, body: dict) -> tuple[int, dict]:
        return self._call("POST", "/webhooks", json=body)

    def webhook(self, webhook_id: str) -> dict:
        return self._call("GET", f"/webhooks/{webhook_id}")[1]

    def update_webhook(self, webhook_id: str, body: dict) -> dict:
        return self._call("PATCH", f"/webhooks/{webhook_id}", json=body)[1]

    def delete_webhook(self, webhook_id: str) -> dict:
        return self._call("DELETE", f"/webhooks/{webhook_id}")[1]


def verify_webhook(secret: str, headers: dict, raw_body: bytes, tolerance: float = 300) -> bool:
    """BeatAPI's receiver check: hex HMAC-SHA256(secret, timestamp + "." + raw body), a fresh
    timestamp, constant-time comparison."""
    timestamp = headers.get("x-beatapi-timestamp", "")
    signature = headers.get("x-beatapi-signature", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)
