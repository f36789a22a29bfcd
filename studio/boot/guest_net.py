"""The guest's network, as the studio serves it (Qt-free): which HTTP requests of the untrusted
guest are answered, and how.

The machine's virtio NIC talks to v86's in-page network (ARP, DHCP, DNS answered in the page);
every TCP connection the guest makes to port 80 becomes one HTTP request that the page hands to
the studio (studio://app/net/...), like QEMU's user networking gives a guest outbound access
without exposing the host. This module decides and answers:

- `http://<name>.repo.studio/…` are the project's repositories (file://, http:// or https://
  upstream: the studio fetches on the guest's behalf, so the guest speaks plain HTTP). Indexes and
  packages go through the studio's package cache (verified before it keeps anything), so what was
  fetched once installs offline afterwards, in the guest and in the studio.
- mode "repositories" (the default): nothing else. Mode "web": plain HTTP to the internet too, but
  never to the host itself or a private network (loopback, ::1, 10/8, 172.16/12, 192.168/16,
  169.254/16, fc00::/7, `localhost`, v86's `*.external`) unless the user names the host:port in
  `allow`. Names are resolved here and the connection goes to the address that was checked (no
  rebinding), and redirects go back to the guest, whose next request is checked again.
- mode "off": the machine has no NIC at all (the page does not create one).

What is refused gets an HTTP error whose body says why and how to allow it.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from studio.errors import StudioError
from studio.packages.config import REPO_DOMAIN, guest_repository_urls, repository_host  # noqa: F401

MODES = ("repositories", "web", "off")
MAX_BODY = 256 << 20
TIMEOUT = 30


@dataclass
class Reply:
    status: int
    reason: str
    body: bytes = b""
    content_type: str = "application/octet-stream"
    headers: dict[str, str] = field(default_factory=dict)
    path: Path | None = None  # a file to send instead of `body`


def _refused(why: str, how: str) -> Reply:
    body = f"Image Studio refused this request: {why}\n\n{how}\n".encode()
    return Reply(403, "Forbidden by Image Studio", body, "text/plain; charset=utf-8")


LOCAL_NAMES = re.compile(r"(^|\.)(localhost|external|local|internal|studio)$")


def address_problem(address: str) -> str:
    """Why the guest may not connect to `address` (an IP), or ""."""
    ip = ipaddress.ip_address(address)
    if ip.is_loopback:
        return "it is the host itself (loopback)"
    if ip.is_private or ip.is_link_local or ip.is_reserved or ip.is_multicast or ip.is_unspecified:
        return "it is a private or local network address"
    return ""


@dataclass
class GuestNetwork:
    """Answers the guest's HTTP requests. `repositories` maps guest host -> (name, upstream URL);
    `serve_index(name, url)` / `serve_package(name, url, filename)` return the cached file for a
    repository's index / a package (the caller's package machinery: fetch, verify, cache)."""

    mode: str = "repositories"
    repositories: dict[str, tuple[str, str]] = field(default_factory=dict)
    allow: list[str] = field(default_factory=list)  # "host:port" (or "host") the user allows
    serve_index: Callable[[str, str], Path] | None = None
    serve_package: Callable[[str, str, str], Path] | None = None
    resolve: Callable[[str, int], list[str]] = None  # host, port -> addresses (tests may pin DNS)
    activity: Callable[[str, int, int], None] | None = None  # url, status, bytes

    def __post_init__(self):
        if self.mode not in MODES:
            raise StudioError(f"network mode {self.mode!r}: use one of {', '.join(MODES)}")
        if self.resolve is None:
            self.resolve = _resolve

    def handle(self, url: str, method: str = "GET", headers: dict[str, str] | None = None) -> Reply:
        reply = self._handle(url, method.upper(), headers or {})
        if self.activity:
            self.activity(url, reply.status, reply.path.stat().st_size if reply.path else len(reply.body))
        return reply

    def _handle(self, url: str, method: str, headers: dict[str, str]) -> Reply:
        parsed = urllib.parse.urlsplit(url)
        host = (parsed.hostname or "").lower().rstrip(".")
        if parsed.scheme != "http" or not host:
            return _refused(f"{url} is not a plain http:// URL", "The machine speaks plain HTTP through the studio.")
        if host in self.repositories:
            if method not in ("GET", "HEAD"):
                return _refused(f"{method} to a repository", "Repositories are read with GET.")
            return self._repository(host, parsed.path)
        if self.mode != "web":
            names = ", ".join(sorted(self.repositories)) or "none"
            return _refused(f"the machine may reach only the project's repositories ({names}), not {host}",
                            "To let it reach the web over plain HTTP, choose Machine > Network > Web, or set "
                            '[boot] network = "web" in studio.toml.')
        port = parsed.port or 80
        explicitly = f"{host}:{port}" in self.allow or host in self.allow
        if LOCAL_NAMES.search(host) and not explicitly:
            return _refused(f"{host} names the host or a local network",
                            f'To allow it, add "{host}:{port}" to [boot] network_allow in studio.toml.')
        try:
            addresses = self.resolve(host, port)
        except OSError as err:
            return Reply(502, "Bad Gateway", f"Image Studio could not resolve {host}: {err}\n".encode(), "text/plain")
        if not explicitly:
            for address in addresses:
                problem = address_problem(address)
                if problem:
                    return _refused(f"{host} ({address}): {problem}",
                                    f'To allow it, add "{host}:{port}" to [boot] network_allow in studio.toml.')
        return _forward(addresses[0], port, host, parsed, method, headers)

    def _repository(self, host: str, path: str) -> Reply:
        name, upstream = self.repositories[host]
        parts = [p for p in path.split("/") if p]
        if len(parts) != 2 or parts[0] != "x86" or "/" in parts[1] or parts[1].startswith("."):
            return Reply(404, "Not Found", f"{path}: the studio serves x86/APKINDEX.tar.gz and x86/*.apk\n".encode(),
                         "text/plain")
        try:
            if parts[1] == "APKINDEX.tar.gz":
                return Reply(200, "OK", path=self.serve_index(name, upstream))
            if parts[1].endswith(".apk"):
                return Reply(200, "OK", path=self.serve_package(name, upstream, urllib.parse.unquote(parts[1])))
        except StudioError as err:
            status = 404 if "no package" in str(err) else 502
            return Reply(status, "Not Found" if status == 404 else "Bad Gateway",
                         f"Image Studio: {err}\n".encode(), "text/plain; charset=utf-8")
        return Reply(404, "Not Found", f"{path}: not an index or a package\n".encode(), "text/plain")


def _resolve(host: str, port: int) -> list[str]:
    # localhost is the loopback whatever /etc/hosts says (RFC 6761; a minimal system may have none):
    # never a name the resolver could send elsewhere, and always the host's own services.
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return ["127.0.0.1", "::1"]
    return sorted({info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)})


def _forward(address: str, port: int, host: str, parsed, method: str, headers: dict[str, str]) -> Reply:
    """One plain HTTP request to the checked `address`, with the guest's Host; redirects are not
    followed (the guest follows them with a new request, checked again)."""
    connection = http.client.HTTPConnection(address, port, timeout=TIMEOUT)
    target = parsed.path or "/"
    if parsed.query:
        target += "?" + parsed.query
    sent = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection", "proxy-connection")}
    sent["Host"] = host if port == 80 else f"{host}:{port}"
    try:
        connection.request(method, target, headers=sent)
        response = connection.getresponse()
        body = response.read(MAX_BODY + 1)
    except (OSError, http.client.HTTPException) as err:
        return Reply(502, "Bad Gateway", f"Image Studio could not fetch http://{host}{target}: {err}\n".encode(),
                     "text/plain")
    finally:
        connection.close()
    if len(body) > MAX_BODY:
        return Reply(502, "Bad Gateway", b"Image Studio: the response is larger than 256 MiB\n", "text/plain")
    kept = {k: v for k, v in response.getheaders()
            if k.lower() in ("location", "last-modified", "etag", "cache-control", "content-disposition")}
    return Reply(response.status, response.reason, body, response.getheader("Content-Type") or
                 "application/octet-stream", kept)


def network_for(project, activity: Callable[[str, int, int], None] | None = None) -> GuestNetwork | None:
    """The network a boot of `project` gets (None: its network is off): its repositories served
    from the package cache, its mode and allowed hosts from [boot] in studio.toml."""
    if project.boot.network == "off":
        return None
    from studio.image.project_packages import RepositoryServer, repositories_of

    base = project.base_index().entries
    server = RepositoryServer(project, base)
    repositories = {repository_host(r.name): (r.name, r.url) for r in repositories_of(project, base)}
    return GuestNetwork(project.boot.network, repositories, list(project.boot.network_allow),
                        server.index, server.package, activity=activity)
