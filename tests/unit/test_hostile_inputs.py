"""Hostile input at the layers that decide (issue #9; the whole mesh: tests/e2e/test_hostile.py):
the fetcher's address check with the production setting (no exemption), object keys, the gRPC
server's refusal of undecodable and NUL text, source probing caps, names and metadata bounds."""

import ipaddress
import struct
import zlib

import pytest
from google.protobuf import json_format

from framelane.renderer.v1 import render_pb2
from framelane_core.errors import InvalidRequest
from framelane_core.fetch import Allow, SourceNotAllowed, check_url, is_public
from framelane_core.grpcserver import _UNDECODABLE, _check_request, _lenient, method_body_field
from framelane_core.storage import LocalStorage, check_key
from framelane_renderer.engine import ProbeError, probe, validate
from framelane_renderer.engine.catalog import LIMITS
from framelane_tasks import catalog as task_catalog
from framelane_tasks.files import parse_body


@pytest.mark.parametrize("address", [
    "2002:7f00:1::", "2002:a9fe:a9fe::", "::ffff:7f00:1", "::ffff:169.254.169.254", "64:ff9b::7f00:1", "::127.0.0.1",
])
def test_ipv4_inside_ipv6_is_judged_as_the_ipv4_address(address):
    assert not is_public(ipaddress.ip_address(address))
    assert is_public(ipaddress.ip_address("2002:808:808::"))  # 6to4 around 8.8.8.8 stays public


@pytest.mark.parametrize("url", ["http://[::1/x", "http://[fe80::1%%25eth0]/x", "http://[not-an-ip]/x",
                                 "http://[2002:7f00:1::]/x", "http://0x7f.1/x"])
async def test_urls_that_do_not_parse_or_hide_loopback_are_refused(url):
    with pytest.raises(SourceNotAllowed):
        await check_url(url, Allow())


@pytest.mark.parametrize("key", ["../etc/passwd", "uploads/../../etc/passwd", "uploads/ws/..", "/etc/passwd",
                                 "uploads/ws/.hidden", "uploads\\..\\x", "uploads/ws/a\x00b", "uploads//x",
                                 "uploads/ws/a\r\nb", ".uploads/ws/x", "uploads"])
def test_object_keys_refuse_traversal(key, tmp_path):
    with pytest.raises(InvalidRequest):
        check_key(key)
    storage = LocalStorage(tmp_path, "secret", "http://127.0.0.1:8080")
    with pytest.raises(InvalidRequest):
        storage.path(key)


def test_a_signed_link_with_a_traversal_key_is_not_ours(tmp_path):
    storage = LocalStorage(tmp_path, "secret", "http://127.0.0.1:8080")
    url, _ = storage.signed_url("renders/r1/output.mp4", workspace="ws_1")
    assert storage.local_key_for(url) == "renders/r1/output.mp4"
    assert storage.local_key_for(url.replace("/renders/r1/", "/renders/r1/../r2/")) is None
    assert storage.local_key_for(url.replace("ws=ws_1", "ws=ws_2")) is None


def test_undecodable_and_nul_requests_are_invalid_requests_with_paths():
    parse = _lenient(render_pb2.GetRenderRequest.FromString)
    assert parse(b"\x0a\x01\xff") is _UNDECODABLE  # field 1, one byte of invalid UTF-8
    with pytest.raises(InvalidRequest) as err:
        _check_request(_UNDECODABLE, "")
    assert err.value.details[0]["code"] == "invalid_encoding"

    with pytest.raises(InvalidRequest) as err:
        _check_request(render_pb2.GetRenderRequest(id="render_\x00"), "")
    assert err.value.details[0]["path"] == "$.id"

    body = "/framelane.renderer.v1.RenderService/CreateRender"
    request = json_format.ParseDict({"spec": {"elements": [{"type": "text", "text": "ok", "n": 1, "b": True},
                                                            {"metadata": {"k": ["a", "b\x00"]}}]}},
                                    render_pb2.CreateRenderRequest())
    with pytest.raises(InvalidRequest) as err:
        _check_request(request, method_body_field(body))
    assert err.value.details[0]["path"] == "$.elements[1].metadata.k[1]"  # the client's path, not $.spec...
    _check_request(json_format.ParseDict({"spec": {"elements": [{"text": "fine"}]}}, render_pb2.CreateRenderRequest()),
                   "spec")


def png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("width,height,message", [
    (100_000, 100_000, "no decodable"), (16_000, 16_000, "over the limit"),
])
def test_probe_refuses_frames_nothing_should_decode_and_never_names_the_path(tmp_path, width, height, message):
    path = tmp_path / "secret-dir" / "bomb.png"
    path.parent.mkdir()
    path.write_bytes(png_header(width, height))
    with pytest.raises(ProbeError, match=message) as err:
        probe(str(path))
    assert "secret-dir" not in str(err.value)
    (tmp_path / "secret-dir" / "junk.mp4").write_bytes(b"\x00\x01junk" * 100)
    with pytest.raises(ProbeError) as err:
        probe(str(tmp_path / "secret-dir" / "junk.mp4"))
    assert "secret-dir" not in str(err.value)


def test_metadata_is_bounded_on_renders_and_tasks():
    cap = LIMITS["metadata_bytes"]["max"]
    spec = {"elements": [{"type": "text", "text": "x", "duration": 1}]}
    assert validate({**spec, "metadata": {"k": "x" * (cap - 10)}}).ok
    result = validate({**spec, "metadata": {"k": "x" * cap}})
    assert [(v.path, v.code) for v in result.errors] == [("$.metadata", "limit_exceeded")]
    with pytest.raises(InvalidRequest) as err:
        task_catalog.validate("transcribe", {"source_url": "https://example.com/a.wav", "metadata": {"k": "x" * cap}})
    assert err.value.details == [{"path": "$.metadata", "code": "limit_exceeded",
                                  "message": f"Must be at most {cap} bytes as JSON."}]


def test_unparseable_render_urls_are_violations_not_exceptions():
    result = validate({"elements": [{"type": "video", "source_url": "http://[::1/a.mp4"}],
                       "webhook_url": "http://[oops]/"})
    assert {(v.path, v.code) for v in result.errors} == {("$.elements[0].source_url", "invalid_format"),
                                                          ("$.webhook_url", "invalid_format")}


@pytest.mark.parametrize("disposition", [b"filename*=UTF-8''a%0D%0AX-Evil%3A%201.png", b'filename="a\tb.png"'])
def test_multipart_file_names_with_control_characters_are_refused(disposition):
    body = (b'--XX\r\nContent-Disposition: form-data; name="file"; ' + disposition
            + b"\r\nContent-Type: image/png\r\n\r\nPNG\r\n--XX--\r\n")
    with pytest.raises(InvalidRequest) as err:
        parse_body("multipart/form-data; boundary=XX", body)
    assert err.value.details[0]["code"] == "invalid_filename"
