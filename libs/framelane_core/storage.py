"""Object storage behind one interface. The local backend keeps blobs in a directory and hands out
URLs signed with HMAC-SHA256 and an expiry, served by the gateway's blob route (with Range)."""

import hashlib
import hmac
import mimetypes
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from framelane_core.errors import InvalidRequest

_KEY = re.compile(r"^[a-z0-9_]+(/[A-Za-z0-9][A-Za-z0-9._-]*)+$")
DEFAULT_TTL_SECONDS = 3600


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    etag: str
    content_type: str


def check_key(key: str) -> str:
    """Object keys are `area/segment/...` with no traversal, no leading dot, no odd characters."""
    if not _KEY.match(key) or ".." in key:
        raise InvalidRequest(f"Invalid object key: {key[:100]!r}")
    return key


def sign(secret: str, key: str, expires: int) -> str:
    return hmac.new(secret.encode(), f"{key}\n{expires}".encode(), hashlib.sha256).hexdigest()


def verify(secret: str, key: str, expires: str, signature: str, now: float | None = None) -> bool:
    """True for an untampered signature that has not expired."""
    try:
        exp = int(expires)
    except ValueError:
        return False
    if exp < (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(sign(secret, key, exp), signature)


class LocalStorage:
    """Blobs as files under root; the key is the relative path."""

    def __init__(self, root: Path, secret: str, public_url: str):
        self.root, self.secret, self.public_url = Path(root), secret, public_url.rstrip("/")

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put_file(self, key: str, source: Path) -> StoredObject:
        """Stores a copy of source under key (atomically: readers never see half a file)."""
        dest = self.path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        shutil.copyfile(source, tmp)
        os.replace(tmp, dest)
        return self.stat(key)

    def stat(self, key: str) -> StoredObject | None:
        p = self.path(key)
        if not p.is_file():
            return None
        st = p.stat()
        etag = f'"{st.st_size:x}-{st.st_mtime_ns:x}"'
        return StoredObject(key, st.st_size, etag, mimetypes.guess_type(p.name)[0] or "application/octet-stream")

    def delete_prefix(self, prefix: str) -> None:
        shutil.rmtree(self.root / check_key(prefix), ignore_errors=True)

    def signed_url(self, key: str, ttl: int = DEFAULT_TTL_SECONDS, now: float | None = None) -> tuple[str, int]:
        """(URL, expiry as Unix seconds) of a short-lived link to the blob."""
        expires = int((now if now is not None else time.time()) + ttl)
        url = f"{self.public_url}/blobs/{quote(check_key(key))}?exp={expires}&sig={sign(self.secret, key, expires)}"
        return url, expires


def storage_from_settings(settings) -> LocalStorage:
    return LocalStorage(Path(settings.storage_dir), settings.storage_secret, settings.public_url)
