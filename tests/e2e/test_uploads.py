"""Media ingestion end to end through Envoy (reference §A7): direct uploads to the gateway's signed
PUT route (whole and resumable), imports through the safe fetcher, the workspace asset list,
tenant isolation, and a render that uses an uploaded file's source_url."""

import socket
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
import pytest

from framelane_core.storage import sign_upload
from tests.e2e.conftest import new_workspace_key
from tests.e2e.test_renders import wait_terminal


def wait_asset(authed, asset_id: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for asset in authed.get("/v1/workspace/assets", params={"limit": 100}).json()["data"]:
            if asset["id"] == asset_id:
                return asset
        time.sleep(0.2)
    raise AssertionError(f"asset {asset_id} never became ready")


def wait_import(authed, import_id: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = authed.get(f"/v1/imports/{import_id}").json()
        if body["status"] != "processing":
            return body
        time.sleep(0.2)
    raise AssertionError(f"import {import_id} did not finish")


def new_upload(authed, content_type="video/mp4", **extra) -> dict:
    resp = authed.post("/v1/uploads", json={"content_type": content_type, "filename": "clip.mp4", **extra})
    assert resp.status_code == 201, resp.text
    return resp.json()


def raw_put(url: str, headers: dict, body: bytes, read: bool = True) -> bytes:
    """A PUT over a raw socket: the headers may promise more body than is sent."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        head = f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        sock.sendall(head.encode() + body)
        if not read:
            return b""
        return sock.recv(65536)


@pytest.fixture(scope="module")
def red(media_dir) -> bytes:
    return (media_dir / "red.mp4").read_bytes()


def test_upload_whole_put_becomes_a_ready_asset(authed, red, mesh):
    upload = new_upload(authed)
    assert upload["upload_url"].startswith(mesh.base_url + "/uploads/") and upload["expires_at"]
    assert httpx.get(upload["source_url"]).status_code == 404  # nothing before the PUT
    resp = httpx.put(upload["upload_url"], content=red, headers={"Content-Type": "video/mp4"})
    assert resp.status_code == 201, resp.text
    asset = wait_asset(authed, upload["id"])
    assert asset["kind"] == "video" and asset["width"] == 320 and asset["height"] == 240
    assert abs(asset["duration"] - 3) < 0.2 and asset["codecs"]["video"] == "h264"
    assert asset["size_bytes"] == len(red) and asset["origin"] == "upload"
    got = httpx.get(asset["source_url"])
    assert got.status_code == 200 and got.content == red
    # A retried final PUT is harmless.
    assert httpx.put(upload["upload_url"], content=red).status_code == 200
    with psycopg.connect(mesh.env["DATABASE_URL"]) as conn:
        subjects = [r[0] for r in conn.execute("SELECT subject FROM tasks.outbox WHERE subject LIKE '%%asset.ready'")]
    assert subjects, "asset.ready went through the outbox"


def test_resumable_chunks_answer_308_until_complete(authed, red):
    upload = new_upload(authed)
    total, step = len(red), len(red) // 3 + 1
    for start in range(0, total, step):
        end = min(start + step, total) - 1
        resp = httpx.put(upload["upload_url"], content=red[start:end + 1],
                         headers={"Content-Range": f"bytes {start}-{end}/{total}", "Content-Type": "video/mp4"})
        if end + 1 < total:
            assert resp.status_code == 308 and resp.headers["range"] == f"bytes=0-{end}", resp.text
        else:
            assert resp.status_code == 201, resp.text
    asset = wait_asset(authed, upload["id"])
    assert httpx.get(asset["source_url"]).content == red


def test_truncated_upload_stays_incomplete_and_resumes(authed, red):
    upload = new_upload(authed)
    half = len(red) // 2
    raw_put(upload["upload_url"], {"Content-Length": str(len(red)), "Content-Type": "video/mp4"}, red[:half],
            read=False)
    time.sleep(0.5)
    status = httpx.put(upload["upload_url"], headers={"Content-Range": f"bytes */{len(red)}"})
    assert status.status_code == 308
    got = int(status.headers["range"].rpartition("-")[2]) + 1 if "range" in status.headers else 0
    assert got <= half
    assert httpx.get(upload["source_url"]).status_code == 404
    assert upload["id"] not in [a["id"] for a in authed.get("/v1/workspace/assets").json()["data"]]
    rest = httpx.put(upload["upload_url"], content=red[got:],
                     headers={"Content-Range": f"bytes {got}-{len(red) - 1}/{len(red)}"})
    assert rest.status_code == 201, rest.text
    assert httpx.get(wait_asset(authed, upload["id"])["source_url"]).content == red


def test_oversize_is_refused_from_its_headers(authed):
    upload = new_upload(authed)
    started = time.monotonic()
    answer = raw_put(upload["upload_url"], {"Content-Length": str(6 * 1024**3), "Content-Type": "video/mp4"}, b"x" * 10)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert time.monotonic() - started < 5
    chunk = httpx.put(upload["upload_url"], content=b"x" * 10,
                      headers={"Content-Range": f"bytes 0-9/{6 * 1024**3}"})
    assert chunk.status_code == 413 and chunk.json()["error"]["code"] == "payload_too_large"


def test_unsupported_content_type_is_422(authed):
    resp = authed.post("/v1/uploads", json={"content_type": "application/pdf"})
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "unsupported_content_type"
    assert authed.post("/v1/uploads", json={"content_type": "audio/wav"}).status_code == 201


def test_tampered_expired_and_download_signatures_are_403(authed, mesh):
    upload = new_upload(authed)
    url = upload["upload_url"]
    tampered = url[:-4] + ("0000" if not url.endswith("0000") else "1111")
    assert httpx.put(tampered, content=b"abc").status_code == 403
    parts = urlsplit(url)
    key = parts.path.removeprefix("/uploads/")
    past = int(time.time()) - 10
    expired = f"{mesh.base_url}/uploads/{key}?exp={past}&sig={sign_upload(mesh.env['FRAMELANE_STORAGE_SECRET'], key, past)}"
    resp = httpx.put(expired, content=b"abc")
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "forbidden"
    query = parse_qs(urlsplit(upload["source_url"]).query)  # a download signature grants no write
    assert httpx.put(f"{mesh.base_url}/uploads/{key}?exp={query['exp'][0]}&sig={query['sig'][0]}",
                     content=b"abc").status_code == 403


def test_import_copies_a_public_url(authed, media_server, red):
    resp = authed.post("/v1/imports", json={"url": f"{media_server}/red.mp4"})
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert body["id"].startswith("import_") and body["status"] == "processing" and body["source_url"] is None
    done = wait_import(authed, body["id"])
    assert done["status"] == "ready" and done["error"] is None, done
    assert httpx.get(done["source_url"]).content == red
    asset = wait_asset(authed, body["id"])
    assert asset["origin"] == "import" and asset["width"] == 320


def test_import_refuses_private_addresses_at_submit_and_at_redirects(authed, media_server):
    resp = authed.post("/v1/imports", json={"url": "http://127.0.0.1:9/x.mp4"})
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "source_not_allowed"
    resp = authed.post("/v1/imports", json={"url": f"{media_server}/__redirect/http://169.254.169.254/latest"})
    assert resp.status_code == 202, resp.text
    done = wait_import(authed, resp.json()["id"])
    assert done["status"] == "failed" and done["error"]["code"] == "source_not_allowed", done
    share = authed.post("/v1/imports", json={"url": "https://drive.google.com/file/d/abc/view"})
    assert share.status_code == 422 and share.json()["error"]["details"][0]["code"] == "unsupported_share_link"


def test_other_workspaces_see_no_imports_or_assets(authed, mesh, media_server):
    created = authed.post("/v1/imports", json={"url": f"{media_server}/green.png"}).json()
    assert wait_import(authed, created["id"])["status"] == "ready"
    other = {"Authorization": f"Bearer {new_workspace_key(mesh)}"}
    with httpx.Client(base_url=mesh.base_url, headers=other, timeout=30) as client:
        assert client.get(f"/v1/imports/{created['id']}").status_code == 404
        assert created["id"] not in [a["id"] for a in client.get("/v1/workspace/assets").json()["data"]]
    assert wait_asset(authed, created["id"])["kind"] == "image"


def test_capabilities_report_ingestion(http):
    caps = http.get("/v1/capabilities").json()
    assert caps["uploads"]["supported"] is True and caps["imports"]["supported"] is True
    assert caps["imports"]["share_links"]["supported"] is False
    assert caps["files"]["supported"] is True and caps["ingest_external"]["supported"] is False


def test_render_uses_an_uploaded_source_url(authed, red, mesh):
    upload = new_upload(authed)
    assert httpx.put(upload["upload_url"], content=red).status_code == 201
    wait_asset(authed, upload["id"])
    spec = {"width": 160, "height": 120, "duration": 1, "output_format": "mp4",
            "elements": [{"type": "video", "source_url": upload["source_url"], "volume": 0}]}
    resp = authed.post("/v1/renders", json=spec)
    assert resp.status_code == 202, resp.text
    job = wait_terminal(authed, resp.json()["id"], timeout=60)
    assert job["status"] == "completed", job
