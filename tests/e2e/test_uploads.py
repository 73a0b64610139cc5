"""Media ingestion end to end through Envoy (reference §A7): direct uploads to the gateway's signed
PUT route (whole and resumable), imports through the safe fetcher, the workspace asset list,
tenant isolation, and a render that uses an uploaded file's source_url."""

import asyncio
import socket
import subprocess
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


def test_egress_through_signed_urls_is_metered_per_workspace(mesh, red):
    """Bytes served through a signed URL count against the workspace signed into it: a whole GET,
    a Range request (206, only its bytes), not a HEAD, not a refused (tampered) link."""
    key = new_workspace_key(mesh, "pro")
    with httpx.Client(base_url=mesh.base_url, timeout=30, headers={"Authorization": f"Bearer {key}"}) as own:
        upload = new_upload(own)
        assert httpx.put(upload["upload_url"], content=red).status_code == 201
        url = wait_asset(own, upload["id"])["source_url"]
        assert httpx.get(url).content == red
        part = httpx.get(url, headers={"Range": "bytes=100-1123"})
        assert part.status_code == 206 and part.content == red[100:1124]
        assert part.headers["content-range"] == f"bytes 100-1123/{len(red)}"
        assert httpx.head(url).status_code == 200
        other_ws = url.replace("&ws=", "&ws=ws_someone_else")
        assert httpx.get(other_ws).status_code == 403  # the workspace is part of the signature
        deadline = time.monotonic() + 20
        while (usage := own.get("/v1/workspace/usage").json())["egress_bytes"] < len(red) + 1024:
            assert time.monotonic() < deadline, usage
            time.sleep(0.3)
        time.sleep(1.5)  # a later report must not add anything
        assert own.get("/v1/workspace/usage").json()["egress_bytes"] == len(red) + 1024


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
    assert caps["files"]["supported"] is True and caps["renders"]["ingest_external"]["supported"] is True
    assert caps["renders"]["waits_for_uploads"]["supported"] is True


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


TINY_RENDER = {"width": 160, "height": 120, "duration": 1, "output_format": "mp4"}


def test_render_waits_queued_for_an_unfinished_upload(authed, red, mesh):
    """A render may name an upload before its bytes arrive: it stays queued (no render.queued work
    item yet) and runs once the upload completes."""
    upload = new_upload(authed)
    resp = authed.post("/v1/renders", json={**TINY_RENDER, "elements": [
        {"type": "video", "source_url": upload["source_url"], "volume": 0}]})
    assert resp.status_code == 202 and resp.json()["status"] == "queued", resp.text
    render_id = resp.json()["id"]
    time.sleep(2.5)
    assert authed.get(f"/v1/renders/{render_id}").json()["status"] == "queued"
    half = len(red) // 2  # in two chunks, the render still waiting after the first
    assert httpx.put(upload["upload_url"], content=red[:half],
                     headers={"Content-Range": f"bytes 0-{half - 1}/{len(red)}"}).status_code == 308
    time.sleep(1.5)
    assert authed.get(f"/v1/renders/{render_id}").json()["status"] == "queued"
    assert httpx.put(upload["upload_url"], content=red[half:],
                     headers={"Content-Range": f"bytes {half}-{len(red) - 1}/{len(red)}"}).status_code == 201
    job = wait_terminal(authed, render_id, timeout=60)
    assert job["status"] == "completed", job


def test_render_of_an_upload_that_never_arrives_fails_source_not_found(authed, mesh):
    """The mesh waits FRAMELANE_UPLOAD_WAIT_SECONDS (shortened for the tests) for the bytes."""
    upload = new_upload(authed)
    resp = authed.post("/v1/renders", json={**TINY_RENDER, "elements": [
        {"type": "video", "source_url": upload["source_url"]}]})
    job = wait_terminal(authed, resp.json()["id"], timeout=60)
    assert job["status"] == "failed" and job["error"]["code"] == "source_not_found", job
    assert "never completed" in job["error"]["message"]


def test_ingest_external_copies_sources_before_queueing(authed, mesh, media_server, red):
    spec = {**TINY_RENDER, "ingest_external": True, "elements": [
        {"id": "clip", "type": "video", "source_url": f"{media_server}/red.mp4", "volume": 0},
        {"id": "logo", "type": "image", "source_url": f"{media_server}/green.png", "duration": 1,
         "width": 40, "height": 30}]}
    resp = authed.post("/v1/renders", json=spec)
    assert resp.status_code == 202 and resp.json()["status"] == "ingesting", resp.text
    job = wait_terminal(authed, resp.json()["id"], timeout=60)
    assert job["status"] == "completed", job
    copies = mesh.run_dir / "storage" / "renders" / job["id"] / "sources"
    assert sorted(p.name for p in copies.iterdir()) == ["0.png", "1.mp4"]  # in URL order
    assert (copies / "1.mp4").read_bytes() == red

    broken = authed.post("/v1/renders", json={**spec, "elements": [
        {"type": "video", "source_url": f"{media_server}/missing.mp4"}]}).json()
    failed = wait_terminal(authed, broken["id"], timeout=60)
    assert failed["status"] == "failed" and failed["error"]["code"] == "source_not_found", failed
    assert not (mesh.run_dir / "storage" / "renders" / broken["id"]).exists()


def test_concurrent_puts_store_one_whole_file(authed, red, mesh):
    upload = new_upload(authed)

    async def race():
        async with httpx.AsyncClient(timeout=30) as client:
            return await asyncio.gather(*(client.put(upload["upload_url"], content=red) for _ in range(6)))

    codes = sorted(r.status_code for r in asyncio.run(race()))
    assert codes == [200, 200, 200, 200, 200, 201], codes
    asset = wait_asset(authed, upload["id"])
    assert asset["size_bytes"] == len(red) and httpx.get(asset["source_url"]).content == red


def test_abandoned_uploads_expire_and_their_bytes_are_swept(authed, mesh, red, tmp_path):
    from framelane_gateway.blobs import BlobServer  # noqa: PLC0415
    from framelane_core.storage import LocalStorage  # noqa: PLC0415

    upload = new_upload(authed)
    assert httpx.put(upload["upload_url"], content=red[:1000],
                     headers={"Content-Range": f"bytes 0-999/{len(red)}"}).status_code == 308
    with psycopg.connect(mesh.env["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("UPDATE tasks.assets SET expires_at = now() - interval '1 second' WHERE id = %s", (upload["id"],))
    from framelane_core import db  # noqa: PLC0415
    from framelane_tasks.assets import AssetRunner, Assets  # noqa: PLC0415

    async def sweep() -> int:
        pool = await db.open_pool(mesh.env["DATABASE_URL"], "tasks", min_size=1, max_size=1)
        try:
            return await AssetRunner(Assets(pool, None, None), tmp_path).expire_abandoned()
        finally:
            await pool.close()

    assert asyncio.run(sweep()) >= 1
    with psycopg.connect(mesh.env["DATABASE_URL"]) as conn:
        status, error = conn.execute("SELECT status, error FROM tasks.assets WHERE id = %s", (upload["id"],)).fetchone()
    assert status == "failed" and error["code"] == "upload_expired"

    storage = LocalStorage(mesh.run_dir / "storage", "s", "http://x")
    key = urlsplit(upload["upload_url"]).path.removeprefix("/uploads/")
    staged = storage.staging_path(key)
    assert staged.stat().st_size == 1000
    blobs = BlobServer(storage, "127.0.0.1", 0)
    assert blobs.sweep_staging() == 0  # fresh bytes stay (the client may still resume)
    assert blobs.sweep_staging(older_than=-1) >= 1 and not staged.exists()


def test_300_mb_upload_in_chunks_then_renders(authed, mesh, tmp_path):
    """A 300 MB file through upload_url in 8 MiB chunks, then a render trims a second of it."""
    big = tmp_path / "big.mkv"  # raw video: large without costing an encode
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=30:d=29",
                    "-c:v", "rawvideo", "-pix_fmt", "yuv420p", str(big)], check=True)
    size = big.stat().st_size
    assert size >= 300 * 10**6, size
    upload = new_upload(authed, content_type="video/x-matroska")
    chunk = 8 * 1024**2
    with big.open("rb") as f, httpx.Client(timeout=60) as client:
        for start in range(0, size, chunk):
            body = f.read(chunk)
            end = start + len(body) - 1
            r = client.put(upload["upload_url"], content=body, headers={"Content-Range": f"bytes {start}-{end}/{size}"})
            assert r.status_code == (201 if end == size - 1 else 308), (start, r.status_code, r.text)
    asset = wait_asset(authed, upload["id"], timeout=60)
    assert asset["size_bytes"] == size and asset["width"] == 640 and abs(asset["duration"] - 29) < 0.2
    resp = authed.post("/v1/renders", json={**TINY_RENDER, "elements": [
        {"type": "video", "source_url": asset["source_url"], "in_point": 20, "out_point": 21}]})
    job = wait_terminal(authed, resp.json()["id"], timeout=120)
    assert job["status"] == "completed" and abs(job["output"]["duration"] - 1) < 0.05, job
