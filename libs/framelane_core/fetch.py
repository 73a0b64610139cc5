"""Safe URL fetching: every URL the platform fetches (sources, imports, webhook targets) goes
through here. Only http(s); every address the host resolves to must be public (no loopback,
private, link-local, multicast, reserved or cloud-metadata address), checked again at every
redirect hop, and the connection goes to the address that was checked (no DNS rebinding).

FRAMELANE_FETCH_ALLOW is the one, narrow exemption: comma-separated `host:port` pairs or CIDR
ranges that skip the private-address check (tests serving media on 127.0.0.1:<port>)."""

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import grpc
import httpx

from framelane_core.errors import FramelaneError, InvalidRequest

# Metadata endpoints outside the ranges ipaddress already calls private or link-local.
_METADATA = [ipaddress.ip_network("100.100.100.200/32"), ipaddress.ip_network("100.64.0.0/10")]


class SourceNotAllowed(InvalidRequest):
    code = "source_not_allowed"


class SourceNotFound(FramelaneError):
    grpc_code = grpc.StatusCode.INVALID_ARGUMENT
    code = "source_not_found"


class InvalidSource(FramelaneError):
    grpc_code = grpc.StatusCode.INVALID_ARGUMENT
    code = "invalid_source"


@dataclass(frozen=True)
class Allow:
    """The FRAMELANE_FETCH_ALLOW exemptions."""

    host_ports: frozenset[tuple[str, int]] = frozenset()
    networks: tuple = ()

    @classmethod
    def parse(cls, text: str) -> "Allow":
        pairs, nets = set(), []
        for item in (i.strip() for i in text.split(",")):
            if not item:
                continue
            if "/" in item:
                nets.append(ipaddress.ip_network(item, strict=False))
            else:
                host, _, port = item.rpartition(":")
                pairs.add((host.strip("[]").lower(), int(port)))
        return cls(frozenset(pairs), tuple(nets))

    def exempts(self, host: str, port: int, ip) -> bool:
        return (host.lower(), port) in self.host_ports or (str(ip), port) in self.host_ports or any(
            ip in net for net in self.networks
        )


def is_public(ip) -> bool:
    """False for any address a fetch must never reach."""
    if ip.version == 6:  # an IPv4 address inside an IPv6 one (::ffff:a.b.c.d, 6to4 2002:aabb:ccdd::) is that address
        ip = ip.ipv4_mapped or ip.sixtofour or ip
    return not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
        or ip.is_unspecified or any(ip in net for net in _METADATA if net.version == ip.version)
    )


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (ip) and what to ask for (host, port, url)."""

    url: str
    scheme: str
    host: str
    port: int
    ip: str


async def check_url(url: str, allow: Allow, path: str = "$.source_url") -> Target:
    """Resolves the URL's host and refuses it (source_not_allowed) unless every address is public."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed or invalid [IPv6] host
        raise SourceNotAllowed(f"Not a valid URL: {url[:200]}", details=[
            {"path": path, "code": "source_not_allowed", "message": "Must be a valid http(s) URL."}]) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceNotAllowed(f"Only http and https URLs can be fetched: {url[:200]}", details=[
            {"path": path, "code": "source_not_allowed", "message": "URL scheme must be http or https."}])
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise SourceNotAllowed(f"Invalid port in {url[:200]}", details=[
            {"path": path, "code": "source_not_allowed", "message": "Invalid port."}]) from None
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise SourceNotFound(f"Host {host} does not resolve.") from None
    ips = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for ip in ips:
        if not is_public(ip) and not allow.exempts(host, port, ip):
            raise SourceNotAllowed(f"{host} resolves to a non-public address ({ip}).", details=[
                {"path": path, "code": "source_not_allowed", "message": "URL must resolve to public addresses."}])
    return Target(url, parts.scheme, host, port, str(ips[0]))


async def check_source(url: str, allow: Allow, path: str, storage) -> None:
    """The submit-time check of a source URL: a signed link to our own storage is read from storage
    (no fetch, so no address check); every other URL must be safe to fetch."""
    if storage.local_key_for(url) is None:
        await check_url(url, allow, path)


@dataclass(frozen=True)
class Fetched:
    path: Path
    size: int
    content_type: str
    etag: str
    final_url: str
    not_modified: bool = False
    last_modified: str = ""


async def fetch_to_file(url: str, dest: Path, *, allow: Allow, max_bytes: int, timeout: float = 30.0,
                        max_redirects: int = 5, headers: dict | None = None) -> Fetched:
    """Downloads url to dest, refusing unsafe hops, bodies over max_bytes and non-2xx answers."""
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        for _ in range(max_redirects + 1):
            target = await check_url(url, allow)
            ip = f"[{target.ip}]" if ":" in target.ip else target.ip
            parts = urlsplit(url)
            direct = parts._replace(netloc=f"{ip}:{target.port}").geturl()
            request = client.build_request(
                "GET", direct, headers={**(headers or {}), "Host": parts.netloc.rsplit("@", 1)[-1]},
                extensions={"sni_hostname": target.host} if target.scheme == "https" else {},
            )
            response = await client.send(request, stream=True)
            try:
                conditional = {"If-None-Match", "If-Modified-Since"} & set(headers or {})
                if response.status_code == 304 and conditional:
                    # Nothing was written: the caller's cached copy is current.
                    return Fetched(dest, 0, "", response.headers.get("etag", ""), url, True)
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("location", ""))
                    continue
                if response.status_code == 404 or response.status_code == 410:
                    raise SourceNotFound(f"Source URL returned {response.status_code}.")
                if not response.is_success:
                    raise InvalidSource(f"Source URL returned {response.status_code}.")
                declared = int(response.headers.get("content-length") or 0)
                if declared > max_bytes:
                    raise InvalidSource(f"Source is {declared} bytes; the limit is {max_bytes}.")
                size = 0
                dest.parent.mkdir(parents=True, exist_ok=True)
                with dest.open("wb") as f:
                    async for chunk in response.aiter_bytes(1 << 20):
                        size += len(chunk)
                        if size > max_bytes:
                            raise InvalidSource(f"Source is larger than the limit of {max_bytes} bytes.")
                        f.write(chunk)
                return Fetched(dest, size, response.headers.get("content-type", ""),
                               response.headers.get("etag", ""), url,
                               last_modified=response.headers.get("last-modified", ""))
            except httpx.HTTPError as err:
                raise InvalidSource(f"Fetching the source failed: {type(err).__name__}.") from None
            finally:
                await response.aclose()
        raise InvalidSource(f"More than {max_redirects} redirects.")
