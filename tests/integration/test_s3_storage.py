"""The S3 storage backend against a real S3-compatible server on loopback (moto's server):
objects in and out, presigned GETs behind the gateway's /blobs/ route, and an upload PUT through
the gateway's /uploads/ route landing in the bucket."""

import asyncio
import time

import httpx
import pytest

from framelane_core.devmesh import free_port
from framelane_core.storage import S3Storage, storage_from_settings
from framelane_gateway.blobs import BlobServer

moto_server = pytest.importorskip("moto.server")


@pytest.fixture(scope="module")
def s3_endpoint():
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    yield f"http://127.0.0.1:{server._port}"
    server.stop()


@pytest.fixture
def storage(s3_endpoint, tmp_path, monkeypatch):
    monkeypatch.setenv("FRAMELANE_STORAGE_BACKEND", "s3")
    monkeypatch.setenv("FRAMELANE_S3_BUCKET", "framelane-test")
    monkeypatch.setenv("FRAMELANE_S3_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("FRAMELANE_S3_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("FRAMELANE_S3_SECRET_ACCESS_KEY", "testing")

    class Settings:
        storage_secret, storage_dir = "s3-test-secret", str(tmp_path / "storage")
        public_url = f"http://127.0.0.1:{free_port()}"

    store = storage_from_settings(Settings)
    assert isinstance(store, S3Storage)
    store.client.create_bucket(Bucket="framelane-test")
    return store


def test_objects_round_trip(storage, tmp_path):
    src = tmp_path / "a.mp4"
    src.write_bytes(b"hello s3" * 1000)
    stored = storage.put_file("renders/r1/out.mp4", src)
    assert stored.size == 8000 and stored.content_type == "video/mp4"
    assert storage.stat("renders/r1/missing.mp4") is None
    assert storage.copy_to("renders/r1/out.mp4", tmp_path / "copy").read_bytes() == src.read_bytes()
    assert httpx.get(storage.presigned_url("renders/r1/out.mp4")).content == src.read_bytes()
    moved = tmp_path / "b.bin"
    moved.write_bytes(b"x" * 10)
    assert storage.move_in("renders/r1/poster.png", moved).size == 10 and not moved.exists()
    storage.delete_prefix("renders/r1")
    assert storage.stat("renders/r1/out.mp4") is None and storage.stat("renders/r1/poster.png") is None


async def test_gateway_routes_redirect_and_upload_into_the_bucket(storage):
    port = int(storage.public_url.rpartition(":")[2])
    blobs = BlobServer(storage, "127.0.0.1", port)
    await blobs.run()
    try:
        key = "uploads/ws_test/upload_1.mp4"
        upload_url, _ = storage.signed_upload_url(key)
        data = bytes(range(256)) * 400
        async with httpx.AsyncClient(timeout=10) as client:
            first = await client.put(upload_url, content=data[:50000], headers={"Content-Range": f"bytes 0-49999/{len(data)}"})
            assert first.status_code == 308 and first.headers["range"] == "bytes=0-49999"
            last = await client.put(upload_url, content=data[50000:],
                                    headers={"Content-Range": f"bytes 50000-{len(data) - 1}/{len(data)}"})
            assert last.status_code == 201, last.text
            assert (await asyncio.to_thread(storage.stat, key)).size == len(data)
            url, _ = storage.signed_url(key, workspace="ws_test")
            assert storage.local_key_for(url) == key
            resp = await client.get(url)
            assert resp.status_code == 302 and resp.headers["location"].startswith(storage.client.meta.endpoint_url)
            assert (await client.get(url, follow_redirects=True)).content == data
            expired, _ = storage.signed_url(key, workspace="ws_test", now=time.time() - 7200)
            assert (await client.get(expired)).status_code == 403 and storage.local_key_for(expired) is None
    finally:
        await blobs.close()
