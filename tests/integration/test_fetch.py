"""The safe fetcher against a real HTTP server on loopback."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from framelane_core.fetch import Allow, InvalidSource, SourceNotAllowed, SourceNotFound, check_url, fetch_to_file


DATED = "Sun, 22 Nov 2026 10:00:00 GMT"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/clip.bin" and self.headers.get("If-None-Match") == '"v1"':
            self.send_response(304)
            self.end_headers()
        elif self.path == "/dated.bin" and self.headers.get("If-Modified-Since") == DATED:
            self.send_response(304)
            self.end_headers()
        elif self.path == "/dated.bin":  # like a static file server that sends no ETag
            self.send_response(200)
            self.send_header("Content-Length", "3000")
            self.send_header("Last-Modified", DATED)
            self.end_headers()
            self.wfile.write(b"d" * 3000)
        elif self.path == "/clip.bin":
            body = b"x" * 5000
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", '"v1"')
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/hop":
            self.send_response(302)
            self.send_header("Location", "/clip.bin")
            self.end_headers()
        elif self.path == "/to-metadata":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
        else:
            self.send_response(404)
            self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/x", "http://localhost/x", "http://169.254.169.254/latest/meta-data/", "http://[::1]/x",
    "http://2130706433/x", "http://0177.0.0.1/x", "http://10.1.2.3/x", "http://192.168.0.1/x",
    "http://[::ffff:127.0.0.1]/x", "file:///etc/passwd", "ftp://example.com/x", "http://0.0.0.0/x",
])
async def test_private_and_odd_urls_are_refused(url):
    with pytest.raises(SourceNotAllowed):
        await check_url(url, Allow())


async def test_allow_list_exempts_exactly_one_host_port(server):
    allow = Allow.parse(f"127.0.0.1:{server}")
    assert (await check_url(f"http://127.0.0.1:{server}/clip.bin", allow)).ip == "127.0.0.1"
    with pytest.raises(SourceNotAllowed):
        await check_url(f"http://127.0.0.1:{server + 1}/clip.bin", allow)
    assert Allow.parse("127.0.0.0/8").exempts("x", 1, __import__("ipaddress").ip_address("127.0.0.2"))


async def test_fetch_follows_safe_redirects_and_refuses_unsafe_ones(server, tmp_path):
    allow = Allow.parse(f"127.0.0.1:{server}")
    got = await fetch_to_file(f"http://127.0.0.1:{server}/hop", tmp_path / "a", allow=allow, max_bytes=10_000)
    assert got.size == 5000 and got.etag == '"v1"' and got.final_url.endswith("/clip.bin")
    with pytest.raises(SourceNotAllowed):
        await fetch_to_file(f"http://127.0.0.1:{server}/to-metadata", tmp_path / "b", allow=allow, max_bytes=10_000)
    with pytest.raises(SourceNotFound):
        await fetch_to_file(f"http://127.0.0.1:{server}/missing", tmp_path / "c", allow=allow, max_bytes=10_000)
    with pytest.raises(InvalidSource):
        await fetch_to_file(f"http://127.0.0.1:{server}/clip.bin", tmp_path / "d", allow=allow, max_bytes=100)


async def test_source_cache_revalidates_with_the_etag_and_reuses_its_copy(server, tmp_path):
    from framelane_core.sources import fetch_source  # noqa: PLC0415

    allow = Allow.parse(f"127.0.0.1:{server}")
    url = f"http://127.0.0.1:{server}/clip.bin"
    first = await fetch_source(url, tmp_path, allow)
    again = await fetch_source(url, tmp_path, allow)  # answered 304 Not Modified
    assert first == again and again.read_bytes() == b"x" * 5000
    assert not list(tmp_path.glob("*.part"))


async def test_source_cache_revalidates_with_the_date_when_there_is_no_etag(server, tmp_path, monkeypatch):
    from framelane_core import sources  # noqa: PLC0415

    allow = Allow.parse(f"127.0.0.1:{server}")
    url = f"http://127.0.0.1:{server}/dated.bin"
    first = await sources.fetch_source(url, tmp_path, allow)
    answers = []

    async def recording(*args, **kwargs):
        answers.append(await fetch_to_file(*args, **kwargs))
        return answers[-1]

    monkeypatch.setattr(sources, "fetch_to_file", recording)
    again = await sources.fetch_source(url, tmp_path, allow)
    assert first == again and again.read_bytes() == b"d" * 3000
    assert answers[0].not_modified and answers[0].size == 0
