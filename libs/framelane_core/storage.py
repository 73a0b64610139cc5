"""Object storage behind one interface. The local backend keeps blobs in a directory and hands out
URLs signed with HMAC-SHA256 and an expiry, served by the gateway's blob route (with Range). The S3
backend (FRAMELANE_STORAGE_BACKEND=s3) keeps them in a bucket; the same signed /blobs/ URLs are
handed out and the gateway answers them with a redirect to a presigned S3 URL.

Uploads: `signed_upload_url` names PUT /uploads/<key> on the gateway, which stages the bytes under
`staging_path(key)` (never served) and `move_in`s the finished file. `local_key_for(url)` tells a
signed /blobs/ URL of our own storage, so fetchers read it from storage instead of over HTTP."""

import hashlib
import hmac
import mimetypes
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from framelane_core.errors import InvalidRequest

_KEY = re.compile(r"^[a-z0-9_]+(/[A-Za-z0-9][A-Za-z0-9._-]*)+$")
DEFAULT_TTL_SECONDS = 3600
UPLOAD_MAX_BYTES = 5 * 1024**3


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


def sign(secret: str, key: str, expires: int, workspace: str = "") -> str:
    """The HMAC of a link: the key, its expiry and the workspace its bytes are billed to."""
    message = f"{key}\n{expires}\n{workspace}" if workspace else f"{key}\n{expires}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def verify(secret: str, key: str, expires: str, signature: str, now: float | None = None,
           workspace: str = "") -> bool:
    """True for an untampered signature that has not expired."""
    try:
        exp = int(expires)
    except ValueError:
        return False
    if exp < (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(sign(secret, key, exp, workspace), signature)


def sign_upload(secret: str, key: str, expires: int) -> str:
    """Upload (PUT) signatures differ from download ones: a GET link never grants a write."""
    return sign(secret, f"PUT {key}", expires)


def verify_upload(secret: str, key: str, expires: str, signature: str, now: float | None = None) -> bool:
    try:
        exp = int(expires)
    except ValueError:
        return False
    if exp < (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(sign_upload(secret, key, exp), signature)


class _SignedLinks:
    """What every backend shares: signed /blobs/ and /uploads/ links and upload staging."""

    secret: str
    public_url: str
    staging_root: Path

    def signed_url(self, key: str, *, workspace: str, ttl: int = DEFAULT_TTL_SECONDS,
                   now: float | None = None) -> tuple[str, int]:
        """(URL, expiry as Unix seconds) of a short-lived link to the blob. The workspace is signed
        into the link: the gateway counts the bytes it serves against it (egress)."""
        expires = int((now if now is not None else time.time()) + ttl)
        sig = sign(self.secret, key, expires, workspace)
        ws = f"&ws={quote(workspace)}" if workspace else ""
        return f"{self.public_url}/blobs/{quote(check_key(key))}?exp={expires}{ws}&sig={sig}", expires

    def signed_upload_url(self, key: str, ttl: int = DEFAULT_TTL_SECONDS, now: float | None = None) -> tuple[str, int]:
        """(URL, expiry) of the gateway's PUT /uploads/<key> route for this key."""
        expires = int((now if now is not None else time.time()) + ttl)
        sig = sign_upload(self.secret, key, expires)
        return f"{self.public_url}/uploads/{quote(check_key(key))}?exp={expires}&sig={sig}", expires

    def local_key_for(self, url: str, now: float | None = None) -> str | None:
        """The key of a valid, unexpired signed /blobs/ URL of this storage; None for any other URL."""
        try:
            parts, base = urlsplit(url), urlsplit(self.public_url)
        except ValueError:
            return None
        prefix = f"{base.path.rstrip('/')}/blobs/"
        if (parts.scheme, parts.netloc.lower()) != (base.scheme, base.netloc.lower()) or not parts.path.startswith(prefix):
            return None
        key = unquote(parts.path[len(prefix):])
        query = parse_qs(parts.query)
        exp, sig, ws = (query.get(name, [""])[0] for name in ("exp", "sig", "ws"))
        if not verify(self.secret, key, exp, sig, now, ws):
            return None
        try:
            return check_key(key)
        except InvalidRequest:
            return None

    def staging_path(self, key: str) -> Path:
        """Where an upload's bytes accumulate until complete (not a key: never served)."""
        return self.staging_root / check_key(key)


class LocalStorage(_SignedLinks):
    """Blobs as files under root; the key is the relative path."""

    backend = "local"

    def __init__(self, root: Path, secret: str, public_url: str):
        self.root, self.secret, self.public_url = Path(root), secret, public_url.rstrip("/")
        self.staging_root = self.root / ".uploads"

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

    def move_in(self, key: str, source: Path) -> StoredObject:
        """Stores source under key by renaming it (a finished upload; same filesystem)."""
        dest = self.path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(source, dest)
        except OSError:  # another filesystem: copy beside the destination, then rename
            tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
            shutil.copyfile(source, tmp)
            os.replace(tmp, dest)
            Path(source).unlink(missing_ok=True)
        return self.stat(key)

    def copy_to(self, key: str, dest: Path) -> Path:
        """A local copy of the blob at dest."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.path(key), dest)
        return dest


class S3Storage(_SignedLinks):
    """Blobs as objects of one S3 (or S3-compatible) bucket; the key is the object key."""

    backend = "s3"

    def __init__(self, bucket: str, secret: str, public_url: str, staging_root: Path, *, endpoint_url: str | None = None,
                 region: str | None = None, access_key_id: str | None = None, secret_access_key: str | None = None,
                 presign_ttl: int = 300):
        import boto3  # noqa: PLC0415 - only deployments on S3 load it
        from botocore.config import Config  # noqa: PLC0415

        self.bucket, self.secret, self.public_url = bucket, secret, public_url.rstrip("/")
        self.staging_root, self.presign_ttl = Path(staging_root), presign_ttl
        self.client = boto3.client(
            "s3", endpoint_url=endpoint_url or None, region_name=region or "us-east-1",
            aws_access_key_id=access_key_id or None, aws_secret_access_key=secret_access_key or None,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
        )

    def path(self, key: str) -> Path:
        raise NotImplementedError("S3 objects have no local path; use copy_to or presigned_url")

    def put_file(self, key: str, source: Path) -> StoredObject:
        content_type = mimetypes.guess_type(str(key))[0] or "application/octet-stream"
        self.client.upload_file(str(source), self.bucket, check_key(key), ExtraArgs={"ContentType": content_type})
        return self.stat(key)

    def move_in(self, key: str, source: Path) -> StoredObject:
        stored = self.put_file(key, source)
        Path(source).unlink(missing_ok=True)
        return stored

    def stat(self, key: str) -> StoredObject | None:
        from botocore.exceptions import ClientError  # noqa: PLC0415

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return StoredObject(key, int(head["ContentLength"]), head.get("ETag", ""),
                            head.get("ContentType") or "application/octet-stream")

    def delete_prefix(self, prefix: str) -> None:
        prefix = check_key(prefix).rstrip("/") + "/"
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            objects = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if objects:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True})

    def copy_to(self, key: str, dest: Path) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        self.client.download_file(self.bucket, check_key(key), str(dest))
        return dest

    def presigned_url(self, key: str, ttl: int | None = None) -> str:
        """A presigned S3 GET URL (where the gateway's /blobs/ route redirects)."""
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": check_key(key)}, ExpiresIn=ttl or self.presign_ttl)


def storage_from_settings(settings) -> LocalStorage | S3Storage:
    """The configured backend. S3 settings are read here from the environment:
    FRAMELANE_STORAGE_BACKEND (local|s3), FRAMELANE_S3_BUCKET, FRAMELANE_S3_ENDPOINT_URL,
    FRAMELANE_S3_REGION, FRAMELANE_S3_ACCESS_KEY_ID, FRAMELANE_S3_SECRET_ACCESS_KEY
    (empty keys: boto3's default credential chain)."""
    backend = os.environ.get("FRAMELANE_STORAGE_BACKEND", "local").strip().lower() or "local"
    if backend == "s3":
        return S3Storage(
            os.environ["FRAMELANE_S3_BUCKET"], settings.storage_secret, settings.public_url,
            Path(settings.storage_dir) / ".uploads",
            endpoint_url=os.environ.get("FRAMELANE_S3_ENDPOINT_URL"), region=os.environ.get("FRAMELANE_S3_REGION"),
            access_key_id=os.environ.get("FRAMELANE_S3_ACCESS_KEY_ID"),
            secret_access_key=os.environ.get("FRAMELANE_S3_SECRET_ACCESS_KEY"),
        )
    if backend != "local":
        raise ValueError(f"FRAMELANE_STORAGE_BACKEND must be local or s3, not {backend!r}")
    return LocalStorage(Path(settings.storage_dir), settings.storage_secret, settings.public_url)
