"""Sources of renders and tasks: fetched through the safe fetcher into a disk cache keyed by URL,
revalidated with the stored ETag, or Last-Modified date from servers that send no ETag (a 304
reuses the cached copy). A signed link to our own storage
(an upload's, import's or file's URL) is read from storage instead of over HTTP: the mesh's public
URL may well be loopback, which the SSRF check rightly refuses."""

import asyncio
import hashlib
import json
import uuid
from pathlib import Path

from framelane_core.fetch import Allow, SourceNotFound, fetch_to_file

SOURCE_MAX_BYTES = 5 * 1024**3


async def local_source(key: str, cache_dir: Path, storage) -> Path:
    """The stored object itself (local backend) or a cached copy of it (S3: keys never change)."""
    stored = await asyncio.to_thread(storage.stat, key)
    if stored is None:
        raise SourceNotFound("The uploaded file is not complete yet or no longer exists.")
    if getattr(storage, "backend", "local") == "local":
        return storage.path(key)
    path = cache_dir / f"blob-{hashlib.sha256(key.encode()).hexdigest()}"
    if not path.exists():
        tmp = cache_dir / f"{path.name}.{uuid.uuid4().hex}.part"
        await asyncio.to_thread(storage.copy_to, key, tmp)
        tmp.replace(path)
    return path


async def fetch_source(url: str, cache_dir: Path, allow: Allow, storage=None, max_bytes: int = SOURCE_MAX_BYTES) -> Path:
    """A local copy of url, from the cache when the server says it has not changed."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = storage.local_key_for(url) if storage is not None else None
    if key is not None:
        return await local_source(key, cache_dir, storage)
    digest = hashlib.sha256(url.encode()).hexdigest()
    path, meta = cache_dir / digest, cache_dir / f"{digest}.json"
    headers = {}
    if path.exists() and meta.exists():
        validators = json.loads(meta.read_text())
        if validators.get("etag"):
            headers["If-None-Match"] = validators["etag"]
        if validators.get("last_modified"):
            headers["If-Modified-Since"] = validators["last_modified"]
    # A unique temporary name: worker processes sharing the cache never see half a file.
    tmp = cache_dir / f"{digest}.{uuid.uuid4().hex}.part"
    fetched = await fetch_to_file(url, tmp, allow=allow, max_bytes=max_bytes, headers=headers)
    if fetched.not_modified:
        return path
    tmp.replace(path)
    meta.write_text(json.dumps({"url": url, "etag": fetched.etag, "last_modified": fetched.last_modified}))
    return path
