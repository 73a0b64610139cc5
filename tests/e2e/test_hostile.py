"""Hostile input (issue #9) against a mesh of its own whose fetch exemption is production-narrow:
one stand-in "public" server on 127.0.0.2:<port>, so loopback, localhost and every other private
address are refused exactly as in production. SSRF on every URL field of both faces (address
forms, names resolving privately, redirects), oversize and deeply nested bodies, huge and absurd
specs (caps read from /v1/capabilities), zip-bomb-like and malformed media, header injection in
file names, path traversal in signed links, NUL and non-UTF-8 text. Each gets its documented code
in the face's envelope, never a 500; afterwards another tenant is served as before."""

import functools
import ipaddress
import os
import shutil
import socket
import struct
import subprocess
import threading
import time
import zlib
from http.server import ThreadingHTTPServer
from urllib.parse import urlsplit

import httpx
import pytest

from framelane_core.fetch import is_public
from tests.e2e.conftest import _Quiet, new_workspace_key, start_mesh, stop_mesh
from tests.e2e.test_beatapi import new_account
from tests.e2e.test_renders import wait_terminal

TEXT = {"type": "text", "text": "x", "duration": 1}
SMALL = {"width": 64, "height": 64, "frame_rate": 10, "duration": 1}
DOCUMENTED_SOURCE_FAILURES = {"codec_unsupported", "invalid_source"}


def png(width: int, height: int, idat: bytes = b"") -> bytes:
    """A PNG that declares width x height and carries almost nothing (a decompression bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", idat or zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def public(tmp_path_factory, media_dir):
    """The stand-in public server (127.0.0.2, the mesh's only exemption): real media, hostile
    files, and /__redirect/<url>."""
    folder = tmp_path_factory.mktemp("public")
    for name in ("red.mp4", "green.png", "tone.wav"):
        shutil.copy(media_dir / name, folder / name)
    red = (media_dir / "red.mp4").read_bytes()
    files = {"bomb-100k.png": png(100_000, 100_000), "bomb-16k.png": png(16_000, 16_000),
             "bomb.y4m": b"YUV4MPEG2 W100000 H100000 F30:1 Ip A1:1 C420jpeg\nFRAME\n" + bytes(1000),
             "random.mp4": os.urandom(20_000), "random.wav": os.urandom(20_000), "truncated.mp4": red[:len(red) // 3]}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    httpd = ThreadingHTTPServer(("127.0.0.2", 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.2:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def hostile_mesh(pg_base, tmp_path_factory, public):
    mesh, nats, name = start_mesh(pg_base, tmp_path_factory.mktemp("hostile"),
                                  {"FRAMELANE_FETCH_ALLOW": public.removeprefix("http://")})
    yield mesh
    stop_mesh(pg_base, mesh, nats, name)


@pytest.fixture(scope="module")
def attacker(hostile_mesh):
    key = new_account(hostile_mesh, "enterprise", credits=10_000)
    with httpx.Client(base_url=hostile_mesh.base_url, timeout=60, headers={"Authorization": f"Bearer {key}"}) as c:
        yield c


@pytest.fixture(scope="module")
def caps(attacker) -> dict:
    return attacker.get("/v1/capabilities").json()


def codes(resp: httpx.Response) -> set[str]:
    """The envelope's code and its details' codes, after checking the face's envelope."""
    assert resp.status_code < 500, resp.text
    body = resp.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert err["request_id"] == resp.headers["x-request-id"] != ""
    if resp.request.url.path.startswith("/beatapi/"):
        assert err.get("details", "dropped") is not None, err  # BeatAPI's envelope has no null details
    else:
        assert "details" in err, err
    return {err["code"]} | {d["code"] for d in err.get("details") or []}


def refused(resp: httpx.Response, status: int, code: str, detail: str | None = None) -> dict:
    """Asserts the face's envelope with this status and code (and this code among its details)."""
    found = codes(resp)
    assert resp.status_code == status and resp.json()["error"]["code"] == code and detail in found | {None}, \
        f"{resp.request.method} {resp.request.url.path}: {resp.status_code} {resp.text[:400]}"
    return resp.json()["error"]


def wait_job(c: httpx.Client, path: str, timeout: float = 120) -> dict:
    """A render, task or import once it is done (imports end `ready` or `failed`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = c.get(path, params={"wait": 10}).json()
        if job["status"] in ("completed", "ready", "failed", "cancelled"):
            return job
    raise AssertionError(f"{path} did not finish")


# ---- SSRF --------------------------------------------------------------------------------------

def private_names() -> list[str]:
    """Names this machine resolves offline to a non-public address (/etc/hosts), beyond localhost."""
    names = []
    for name in {socket.gethostname(), "ip6-localhost", "ip6-loopback"}:
        try:
            infos = socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)
        except OSError:
            continue
        if any(not is_public(ipaddress.ip_address(i[4][0].split("%")[0])) for i in infos):
            names.append(name)
    return sorted(names)


def private_bases(port: int) -> list[str]:
    """scheme://host[:port] of every address form that must be refused."""
    return [
        f"http://127.0.0.1:{port}", f"http://localhost:{port}", f"http://LOCALHOST:{port}",
        "http://169.254.169.254", "http://100.100.100.200", f"http://[::1]:{port}",
        f"http://[::ffff:127.0.0.1]:{port}", "http://[::ffff:a9fe:a9fe]", "http://[2002:a9fe:a9fe::]",
        f"http://2130706433:{port}", f"http://0177.0.0.1:{port}", f"http://0x7f000001:{port}",
        f"http://127.1:{port}", f"http://0.0.0.0:{port}", "http://10.0.0.1", "http://192.168.1.1",
        "http://[fd00::1]", "http://[fe80::1]", f"http://user:pass@127.0.0.1:{port}",
        f"http://127.0.0.2:{port}",  # the exempt host on another port: the exemption is host:port exact
        *(f"http://{name}:{port}" for name in private_names()),
    ]


def music(public: str, **inputs) -> dict:
    return {"images": [f"{public}/green.png"], "audio_url": f"{public}/tone.wav", **inputs}


# field name → (method, path, body for a URL). Every URL the API takes, on both faces.
URL_FIELDS = {
    "render video": ("POST", "/v1/renders", lambda u, p: {**SMALL, "elements": [
        {"type": "video", "source_url": f"{u}/a.mp4"}]}),
    "render image": ("POST", "/v1/renders", lambda u, p: {**SMALL, "elements": [
        {"type": "image", "id": "i", "source_url": f"{u}/a.png", "duration": 1}]}),
    "render audio": ("POST", "/v1/renders", lambda u, p: {**SMALL, "elements": [
        TEXT, {"type": "audio", "source_url": f"{u}/a.wav"}]}),
    "render background_image_url": ("POST", "/v1/renders", lambda u, p: {
        **SMALL, "background_image_url": f"{u}/a.png", "elements": [TEXT]}),
    "render webhook_url": ("POST", "/v1/renders", lambda u, p: {**SMALL, "elements": [TEXT],
                                                               "webhook_url": f"{u}/hook"}),
    "preview source": ("POST", "/v1/preview", lambda u, p: {"at": 0, "render_request": {**SMALL, "elements": [
        {"type": "video", "source_url": f"{u}/a.mp4"}]}}),
    "super-resolution source_url": ("POST", "/v1/tasks/super-resolution", lambda u, p: {"source_url": f"{u}/a.png"}),
    "transcribe source_url": ("POST", "/v1/tasks/transcribe", lambda u, p: {"source_url": f"{u}/a.wav"}),
    "task webhook_url": ("POST", "/v1/tasks/super-resolution", lambda u, p: {
        "source_url": f"{p}/green.png", "webhook_url": f"{u}/hook"}),
    "music-video images[]": ("POST", "/v1/tasks/music-video", lambda u, p: music(p, images=[f"{u}/a.png"])),
    "music-video audio_url": ("POST", "/v1/tasks/music-video", lambda u, p: music(p, audio_url=f"{u}/a.wav")),
    "music-video srt_url": ("POST", "/v1/tasks/music-video", lambda u, p: music(p, srt_url=f"{u}/a.srt")),
    "ecommerce-video images[]": ("POST", "/v1/tasks/ecommerce-video", lambda u, p: {
        "images": [f"{p}/green.png", f"{u}/a.png"], "duration": 10}),
    "import url": ("POST", "/v1/imports", lambda u, p: {"url": f"{u}/a.mp4"}),
    "webhook url": ("POST", "/v1/webhooks", lambda u, p: {"url": f"{u}/hook"}),
    "webhook url (PATCH)": ("PATCH", "/v1/webhooks/{hook}", lambda u, p: {"url": f"{u}/hook"}),
    "BeatAPI music-video images[]": ("POST", "/beatapi/v1/music-video/tasks", lambda u, p: music(
        p, images=[f"{u}/a.png"])),
    "BeatAPI music-video audio_url": ("POST", "/beatapi/v1/music-video/tasks", lambda u, p: music(
        p, audio_url=f"{u}/a.mp3")),
    "BeatAPI music-video srt_url": ("POST", "/beatapi/v1/music-video/tasks", lambda u, p: music(
        p, srt_url=f"{u}/a.srt")),
    "BeatAPI ecommerce-video images[]": ("POST", "/beatapi/v1/ecommerce-video/tasks", lambda u, p: {
        "images": [f"{u}/a.png"], "duration": 10}),
    "BeatAPI webhook url": ("POST", "/beatapi/v1/webhooks", lambda u, p: {"url": f"{u}/hook"}),
    "BeatAPI webhook url (PATCH)": ("PATCH", "/beatapi/v1/webhooks/{beat_hook}", lambda u, p: {"url": f"{u}/hook"}),
}


@pytest.fixture(scope="module")
def hooks(attacker, public) -> dict:
    """Endpoints on the stand-in public host, for the PATCH rows."""
    native = attacker.post("/v1/webhooks", json={"url": f"{public}/hook"})
    beat = attacker.post("/beatapi/v1/webhooks", json={"url": f"{public}/hook"})
    assert native.status_code == beat.status_code == 201, (native.text, beat.text)
    return {"hook": native.json()["id"], "beat_hook": beat.json()["data"]["id"]}


@pytest.mark.parametrize("field", URL_FIELDS)
def test_private_targets_are_refused_on_every_url_field(attacker, hostile_mesh, public, hooks, field):
    method, path, body = URL_FIELDS[field]
    status, envelope = (400, {"bad_request"}) if path.startswith("/beatapi/") else (
        422, {"invalid_request", "source_not_allowed"})
    failures = []
    for base in private_bases(hostile_mesh.envoy_port):
        resp = attacker.request(method, path.format(**hooks), json=body(base, public))
        try:
            assert resp.status_code == status and "source_not_allowed" in codes(resp)
            assert resp.json()["error"]["code"] in envelope
        except (AssertionError, ValueError, KeyError):
            failures.append(f"{base}: {resp.status_code} {resp.text[:300]}")
    assert not failures, "\n".join(failures)


def test_the_stand_in_public_host_is_reachable(attacker, public):
    """The control: the exemption works, so the refusals above are the address check's doing."""
    resp = attacker.post("/v1/imports", json={"url": f"{public}/green.png"})
    assert resp.status_code == 202, resp.text
    assert wait_job(attacker, f"/v1/imports/{resp.json()['id']}")["status"] == "ready"


def test_redirects_towards_private_addresses_are_refused_at_the_hop(attacker, hostile_mesh, public):
    port = hostile_mesh.envoy_port
    hop = f"{public}/__redirect"
    jobs = []
    for target in (f"http://127.0.0.1:{port}/x.mp4", "http://169.254.169.254/latest/x.mp4", f"http://[::1]:{port}/x.mp4"):
        resp = attacker.post("/v1/renders", json={**SMALL, "elements": [{"type": "video", "source_url": f"{hop}/{target}"}]})
        jobs.append((f"/v1/renders/{resp.json()['id']}", urlsplit(target).hostname))
    resp = attacker.post("/v1/tasks/super-resolution", json={"source_url": f"{hop}/http://localhost:{port}/a.png"})
    jobs.append((f"/v1/tasks/{resp.json()['id']}", "localhost"))
    resp = attacker.post("/v1/imports", json={"url": f"{hop}/http://2130706433:{port}/a.png"})
    jobs.append((f"/v1/imports/{resp.json()['id']}", "2130706433"))
    for path, host in jobs:
        job = wait_job(attacker, path)
        assert job["status"] == "failed" and job["error"]["code"] == "source_not_allowed", job
        assert host in job["error"]["message"] and "127.0.0.2" not in job["error"]["message"], job
    # The music video's audio is measured at submit: the hop is refused there, with its own code.
    refused(attacker.post("/v1/tasks/music-video", json=music(public, audio_url=f"{hop}/http://127.0.0.1:{port}/a.wav")),
            422, "invalid_request", "source_not_allowed")
    refused(attacker.post("/beatapi/v1/music-video/tasks", json=music(
        public, audio_url=f"{hop}/http://169.254.169.254/a.mp3")), 400, "bad_request", "source_not_allowed")


def test_urls_that_do_not_parse_are_refused_not_crashed_on(attacker):
    for url in ("http://[::1/a.mp4", "http://[fe80::1%%25eth0]/a.mp4", "http://[not-an-ip]/a.mp4"):
        refused(attacker.post("/v1/renders", json={**SMALL, "elements": [{"type": "video", "source_url": url}]}),
                422, "invalid_request", "invalid_format")
        refused(attacker.post("/v1/tasks/transcribe", json={"source_url": url}), 422, "invalid_request",
                "source_not_allowed")
        refused(attacker.post("/v1/imports", json={"url": url}), 422, "source_not_allowed")
        refused(attacker.post("/v1/webhooks", json={"url": url}), 422, "source_not_allowed")


# ---- bodies ------------------------------------------------------------------------------------

def raw_request(base_url: str, method: str, path: str, headers: dict, body: bytes = b"") -> tuple[bytes, float]:
    """Sends the head and `body` only (the headers may promise far more); returns the answer and its time."""
    parts = urlsplit(base_url)
    started = time.monotonic()
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        head = f"{method} {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        sock.sendall((head + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode() + body)
        answer = b""
        while not _whole(answer) and (chunk := sock.recv(65536)):
            answer += chunk
    return answer, time.monotonic() - started


def _whole(answer: bytes) -> bool:
    """True once an HTTP/1.1 answer holds its head and as many body bytes as its Content-Length says."""
    head, found, body = answer.partition(b"\r\n\r\n")
    lengths = [line.split(b":", 1)[1] for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")]
    return bool(found) and len(body) >= int(lengths[0] if lengths else 0)


@pytest.mark.parametrize("path,status,code", [
    ("/v1/renders", 413, "payload_too_large"), ("/v1/webhooks", 413, "payload_too_large"),
    ("/beatapi/v1/files", 400, "bad_request"), ("/beatapi/v1/music-video/tasks", 400, "bad_request"),
])
def test_oversize_bodies_are_refused_from_their_declared_length(hostile_mesh, attacker, path, status, code):
    answer, seconds = raw_request(hostile_mesh.base_url, "POST", path, {
        "Authorization": attacker.headers["Authorization"], "Content-Type": "application/json",
        "Content-Length": str(200 * 1024 * 1024)}, b'{"elements": [')
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode()), answer[:300]
    assert body.startswith(b'{"error":{"code":"' + code.encode() + b'"') and seconds < 3, (body, seconds)


def test_oversize_metadata_headers_and_elements(attacker, caps):
    limits = caps["limits"]
    big = {"note": "x" * (limits["metadata_bytes"]["max"] + 1)}
    refused(attacker.post("/v1/renders", json={**SMALL, "elements": [TEXT], "metadata": big}), 422, "invalid_request",
            "limit_exceeded")
    refused(attacker.post("/v1/tasks/transcribe", json={"source_url": "https://example.invalid/a.wav", "metadata": big}),
            422, "invalid_request", "limit_exceeded")
    for count in (limits["elements"]["max"] + 1, 20_000):
        err = refused(attacker.post("/v1/renders", json={**SMALL, "elements": [TEXT] * count}), 422, "invalid_request",
                      "limit_exceeded")
        assert err["details"][0]["path"] == "$.elements"
    # Refused by Envoy's codec before a request id exists: the envelope, with an empty request_id.
    huge = attacker.get("/v1/workspace", headers={"X-Padding": "a" * 70_000})
    assert huge.status_code == 431 and huge.json()["error"]["code"] == "invalid_request", huge.text


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize("path,body", [
    ("/v1/renders", b'{"elements":[' + b"[" * 50_000 + b"]" * 50_000 + b"]}"),
    ("/v1/renders", b'{"metadata":' + nested(100_000) + b"}"),
    ("/v1/tasks/transcribe", b'{"source_url":' + nested(10_000) + b"}"),
    ("/v1/webhooks", b'{"url":"https://example.com","description":' + nested(10_000) + b"}"),
    ("/v1/api-keys", b'{"name":' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
    ("/beatapi/v1/music-video/tasks", b'{"images":' + b"[" * 50_000 + b"]" * 50_000 + b"}"),
])
def test_deeply_nested_json_is_400(attacker, path, body):
    resp = attacker.post(path, content=body, headers={"Content-Type": "application/json"})
    refused(resp, 400, "bad_request" if path.startswith("/beatapi/") else "invalid_request")


def test_absurd_values_are_refused_with_their_paths(attacker, caps):
    limits = caps["limits"]
    scale = next(t for t in caps["tasks"] if t["type"] == "super-resolution")["params"]["scale"]
    ecommerce = next(w for w in caps["workflows"] if w["type"] == "ecommerce-video")["params"]
    cases = [
        ("/v1/renders", {**SMALL, "duration": limits["duration"]["max"] * 1000, "elements": [TEXT]}, "$.duration"),
        ("/v1/renders", {**SMALL, "duration": 1e308, "elements": [TEXT]}, "$.duration"),
        ("/v1/renders", {**SMALL, "duration": -1, "elements": [TEXT]}, "$.duration"),
        ("/v1/renders", {**SMALL, "width": limits["width"]["max"] * 100, "height": 64, "elements": [TEXT]}, "$.width"),
        ("/v1/renders", {**SMALL, "width": 2**70, "height": 2**70, "elements": [TEXT]}, "$.height"),
        ("/v1/renders", {**SMALL, "width": limits["width"]["max"], "height": limits["height"]["max"],
                         "elements": [TEXT]}, "$.width"),  # each side allowed, their product over max_pixels
        ("/v1/renders", {**SMALL, "frame_rate": limits["frame_rate"]["max"] * 1000, "elements": [TEXT]}, "$.frame_rate"),
        ("/v1/renders", {**SMALL, "elements": [{**TEXT, "time": 1e300}]}, "$.elements[0].time"),
        ("/v1/renders", {**SMALL, "elements": [{**TEXT, "text": "x" * (limits["text_length"]["max"] + 1)}]},
         "$.elements[0].text"),
        ("/v1/preview", {"at": 1e9, "render_request": {**SMALL, "elements": [TEXT]}}, "$.at"),
        ("/v1/tasks/super-resolution", {"source_url": "https://example.invalid/a.png", "scale": scale["max"] * 10**6},
         "$.scale"),
        ("/v1/tasks/ecommerce-video", {"images": ["https://example.invalid/a.png"],
                                       "duration": ecommerce["duration"]["max"] * 10**6}, "$.duration"),
        ("/beatapi/v1/ecommerce-video/tasks", {"images": ["https://example.invalid/a.png"] * 1000, "duration": 10},
         "$.images"),
    ]
    for path, body, where in cases:
        beatapi = path.startswith("/beatapi/")
        err = refused(attacker.post(path, json=body), 400 if beatapi else 422, "bad_request" if beatapi else "invalid_request")
        assert where in {d["path"] for d in err["details"]}, (path, body, err)
    refused(attacker.get("/v1/renders", params={"limit": 10**9}), 422, "invalid_request")
    refused(attacker.get("/v1/renders", params={"limit": 10**14}), 400, "invalid_request")
    refused(attacker.post("/v1/renders", content=b'{"duration": 1e999}', headers={"Content-Type": "application/json"}),
            400, "invalid_request")


# ---- media ---------------------------------------------------------------------------------------

def test_zip_bomb_like_and_malformed_sources_fail_with_documented_codes(attacker, hostile_mesh, public):
    jobs = {}
    for name in ("bomb-100k.png", "bomb-16k.png"):
        jobs[name] = "/v1/renders/" + attacker.post("/v1/renders", json={**SMALL, "elements": [
            {"type": "image", "id": "i", "source_url": f"{public}/{name}", "duration": 1}]}).json()["id"]
    for name in ("random.mp4", "truncated.mp4"):
        jobs[name] = "/v1/renders/" + attacker.post("/v1/renders", json={**SMALL, "elements": [
            {"type": "video", "source_url": f"{public}/{name}"}]}).json()["id"]
    for name in ("bomb.y4m", "bomb-16k.png"):
        jobs[f"super-resolution {name}"] = "/v1/tasks/" + attacker.post("/v1/tasks/super-resolution", json={
            "source_url": f"{public}/{name}", "scale": 1}).json()["id"]
    jobs["transcribe random.wav"] = "/v1/tasks/" + attacker.post("/v1/tasks/transcribe", json={
        "source_url": f"{public}/random.wav"}).json()["id"]
    for name, path in jobs.items():
        job = wait_job(attacker, path)
        assert job["status"] == "failed" and job["error"]["code"] in DOCUMENTED_SOURCE_FAILURES, (name, job)
        for local in (str(hostile_mesh.run_dir), "/tmp/", "/work/"):  # no server path leaks to the client
            assert local not in job["error"]["message"], (name, job["error"])
    assert "over the limit" in wait_job(attacker, jobs["bomb-16k.png"])["error"]["message"]

    # BeatAPI files are probed at once: the same files are refused in the request.
    for data, content_type in ((png(16_000, 16_000), "image/png"), (png(100_000, 100_000), "image/png"),
                               (os.urandom(5000), "image/png"), (os.urandom(5000), "audio/mpeg")):
        refused(attacker.post("/beatapi/v1/files", content=data, headers={"Content-Type": content_type}),
                400, "bad_request")


# ---- names, keys and text --------------------------------------------------------------------------

def multipart(disposition: bytes, data: bytes, content_type: bytes = b"image/png") -> bytes:
    return (b"--XX\r\nContent-Disposition: form-data; name=\"file\"; " + disposition + b"\r\nContent-Type: "
            + content_type + b"\r\n\r\n" + data + b"\r\n--XX--\r\n")


def test_header_injection_in_file_names_is_refused(attacker, public):
    evil = "clip\r\nX-Evil: 1\r\n.mp4"
    for resp in (attacker.post("/v1/uploads", json={"content_type": "video/mp4", "filename": evil}),
                 attacker.post("/v1/imports", json={"url": f"{public}/red.mp4", "filename": evil})):
        refused(resp, 422, "invalid_request", "invalid_characters")
        assert "x-evil" not in resp.headers
    image = png(32, 32, zlib.compress(bytes(32 * 97)))  # a real 32 x 32 black PNG
    form = {"Content-Type": "multipart/form-data; boundary=XX"}
    for disposition in (b"filename*=UTF-8''a%0D%0AX-Evil%3A%201.png", b"filename=\"a\r\nX-Evil: 1\r\n.png\"",
                        b"filename=\"a\x00.png\""):
        resp = attacker.post("/beatapi/v1/files", content=multipart(disposition, image), headers=form)
        refused(resp, 400, "bad_request")
        assert "x-evil" not in resp.headers
    ok = attacker.post("/beatapi/v1/files", content=multipart(b'filename="plain.png"', image), headers=form)
    assert ok.status_code == 201, ok.text  # the control: the same file with a plain name is taken


def test_path_traversal_in_signed_links_is_refused(attacker, hostile_mesh):
    upload = attacker.post("/v1/uploads", json={"content_type": "video/mp4"}).json()
    source, target = urlsplit(upload["source_url"]), urlsplit(upload["upload_url"])
    key = source.path.removeprefix("/blobs/")
    for path in ("/blobs/../../etc/passwd", "/blobs/%2e%2e/%2e%2e/etc/passwd", f"/blobs/{key}/../../../storage-secret",
                 f"/blobs/.uploads/{key}", "/blobs/..%2f..%2fstorage-secret", "/blobs//etc/passwd",
                 "/blobs/uploads\\..\\..\\storage-secret", f"/blobs/{key.replace('/', '%2F')}"):
        answer, _ = raw_request(hostile_mesh.base_url, "GET", f"{path}?{source.query}", {})
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.split(b" ")[1] in (b"400", b"403", b"404"), (path, answer[:300])
        assert body.startswith(b'{"error":{"code":"') and b'\\"error\\"' not in body, (path, body)
    for path in ("/uploads/../../etc/x", f"/uploads/{key}/../../../x", "/uploads/%2e%2e/x", f"/uploads/.uploads/{key}"):
        answer, _ = raw_request(hostile_mesh.base_url, "PUT", f"{path}?{target.query}", {"Content-Length": "3"}, b"abc")
        assert answer.split(b" ")[1] in (b"400", b"403", b"404"), (path, answer[:300])
    assert httpx.get(upload["source_url"]).status_code == 404  # nothing was written anywhere


def test_nul_and_non_utf8_text_is_refused_not_stored(attacker):
    refused(attacker.get("/v1/renders/%ff"), 422, "invalid_request", "invalid_encoding")
    refused(attacker.get("/v1/tasks?cursor=%00%ff"), 422, "invalid_request", "invalid_encoding")
    err = refused(attacker.get("/v1/renders/render_%00"), 422, "invalid_request", "invalid_character")
    assert err["details"][0]["path"] == "$.id"
    err = refused(attacker.post("/v1/renders", json={**SMALL, "elements": [{**TEXT, "text": "a\x00b"}]}), 422,
                  "invalid_request", "invalid_character")
    assert err["details"][0]["path"] == "$.elements[0].text"
    refused(attacker.post("/v1/api-keys", json={"name": "a\x00b"}), 422, "invalid_request", "invalid_character")
    refused(attacker.get("/beatapi/v1/tasks/%ff"), 400, "bad_request", "invalid_encoding")


# ---- and the platform is still there --------------------------------------------------------------

def test_another_tenant_is_served_after_the_barrage(hostile_mesh):
    key = new_workspace_key(hostile_mesh, "pro")
    with httpx.Client(base_url=hostile_mesh.base_url, timeout=30, headers={"Authorization": f"Bearer {key}"}) as c:
        assert c.get("/v1/workspace").status_code == 200
        job = c.post("/v1/renders", json={**SMALL, "elements": [TEXT]})
        assert job.status_code == 202, job.text
        assert wait_terminal(c, job.json()["id"], timeout=60)["status"] == "completed"
    assert all(proc.poll() is None for proc in hostile_mesh.procs.values()), "a process died"
    crashes = subprocess.run(["grep", "-l", "unhandled error", *map(str, hostile_mesh.logs.glob("*.log"))],
                             capture_output=True, text=True).stdout
    assert crashes == "", f"unhandled errors (500s) logged in {crashes}"
