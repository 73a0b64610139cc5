"""Every path of BeatAPI's POST /beatapi/v1/files (reference §B8): what is refused and how."""

import io
import subprocess

import httpx
import pytest
from PIL import Image

from tests.e2e.conftest import new_workspace_key

SRT = b"1\n00:00:00,000 --> 00:00:01,500\nHello\n\n2\n00:00:01,500 --> 00:00:03,000\nworld\n"


@pytest.fixture(scope="module")
def files(mesh):
    key = new_workspace_key(mesh, "pro")
    with httpx.Client(base_url=f"{mesh.base_url}/beatapi/v1", headers={"Authorization": f"Bearer {key}"},
                      timeout=60) as client:
        yield client


def refused(resp: httpx.Response, status: int, code: str, detail: str | None = None) -> None:
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    assert error["code"] == code and error["request_id"], error
    if detail is not None:
        assert [d["code"] for d in error.get("details") or []] == [detail], error


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def test_accepted_kinds(files):
    image = files.post("/files", files={"file": ("red.png", png_bytes(), "image/png")}, data={"purpose": "input"})
    assert image.status_code == 201 and image.json()["data"]["mime_type"] == "image/png", image.text
    subtitle = files.post("/files", files={"file": ("lyrics.srt", SRT, "text/plain")})
    assert subtitle.status_code == 201 and subtitle.json()["data"]["mime_type"] == "application/x-subrip"
    raw = files.post("/files", content=png_bytes(), headers={"Content-Type": "image/png"})
    assert raw.status_code == 201 and raw.json()["data"]["size_bytes"] == len(png_bytes())


def test_refusals(files, media_dir, tmp_path):
    refused(files.post("/files", content=b"%PDF-1.4", headers={"Content-Type": "application/pdf"}),
            400, "bad_request", "unsupported_content_type")
    refused(files.post("/files", content=b"not a png at all", headers={"Content-Type": "image/png"}),
            400, "bad_request")
    refused(files.post("/files", content=b"", headers={"Content-Type": "image/png"}), 400, "bad_request")
    refused(files.post("/files", data={"purpose": "input"}, files={"other": ("a.png", png_bytes(), "image/png")}),
            400, "bad_request", "required")
    refused(files.post("/files", files={"file": ("bad.srt", b"\xff\xfe not srt", "application/x-subrip")}),
            400, "bad_request", "invalid_srt")
    # Audio must last 10 to 180 s (the 6 s tone is too short).
    refused(files.post("/files", content=(media_dir / "tone.wav").read_bytes(), headers={"Content-Type": "audio/wav"}),
            400, "bad_request", "audio_duration")
    # A file name with CR/LF (header injection) ends the name at the line break (the rest is a part
    # header of the multipart body, ignored): nothing reaches a response header.
    body = (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\x0d\x0aX-Evil: 1.png\"\r\n"
            b"Content-Type: image/png\r\n\r\n" + png_bytes() + b"\r\n--b--\r\n")
    resp = files.post("/files", content=body, headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert resp.status_code == 201 and "x-evil" not in resp.headers, resp.text


def test_oversize_bodies_are_refused_from_their_length(files):
    """Over the 50 MB limit: refused from the declared length, before the body is read (Envoy's 413,
    which BeatAPI's vocabulary calls bad_request)."""
    big = b"\0" * (60 * 1024 * 1024)
    resp = files.post("/files", content=big, headers={"Content-Type": "audio/wav"})
    refused(resp, 400, "bad_request")
    assert "limited to" in resp.json()["error"]["message"]
