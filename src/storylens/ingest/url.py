"""Reader for ``http(s)://`` URLs (httpx): timeouts, a size limit, a User-Agent, and refusal of private /
loopback addresses (SSRF) unless ``allow_private_urls``.  A feed URL yields one document per entry."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from storylens.ingest._common import InputError, decode_bytes, decode_html, too_big
from storylens.model import RawDocument, ReadError
from storylens.settings import IngestSettings

MAX_REDIRECTS = 5
FEED_TYPES = ("application/rss", "application/atom", "application/rdf", "application/xml", "text/xml",
              "application/feed")


@dataclass(slots=True)
class Fetched:
    url: str
    content: bytes
    content_type: str
    fetched: str | None = None


def check_url(url: str, settings: IngestSettings) -> str | None:
    """Refuse a URL that is not http(s) or whose host resolves to a non-public address; returns the checked
    address to connect to (``None`` when private addresses are allowed and nothing was resolved)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise InputError(f"unsupported URL scheme in {url} (http and https only)")
    host = parts.hostname
    if not host:
        raise InputError(f"URL {url} has no host")
    if settings.allow_private_urls:
        return None
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80),
                                   proto=socket.IPPROTO_TCP)
    except socket.gaierror as e:
        raise InputError(f"cannot resolve host of {url}: {e.strerror or e}") from e
    first: str | None = None
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not ip.is_global or ip.is_multicast:
            raise InputError(f"refused {url}: {host} resolves to the private/loopback address {ip} "
                             f"(set settings.ingest.allow_private_urls to allow)")
        first = first or str(ip)
    if first is None:
        raise InputError(f"cannot resolve host of {url}: no address")
    return first


def _pinned(url: str, ip: str | None) -> tuple[str, dict[str, str], dict[str, str]]:
    """The request for ``url`` sent to the checked address ``ip``: the host in the URL replaced by the address,
    the name kept in the Host header and as the TLS server name (certificate checked against the name), so a
    second DNS answer (rebinding) cannot redirect the connection to a private address."""
    if ip is None:
        return url, {}, {}
    parts = urlsplit(url)
    host = parts.hostname or ""
    addr = f"[{ip}]" if ":" in ip else ip
    netloc = addr + (f":{parts.port}" if parts.port else "")
    headers = {"Host": host + (f":{parts.port}" if parts.port else "")}
    ext = {"sni_hostname": host} if parts.scheme == "https" else {}
    return parts._replace(netloc=netloc).geturl(), headers, ext


def fetch(url: str, settings: IngestSettings, client: httpx.Client | None = None) -> Fetched:
    """GET a URL, following redirects by hand so every hop is checked and connected to the checked address;
    InputError on any failure."""
    own = client is None
    c = client or httpx.Client(timeout=settings.timeout_s, headers={"User-Agent": settings.user_agent},
                               follow_redirects=False)
    try:
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            target, headers, ext = _pinned(current, check_url(current, settings))
            try:
                with c.stream("GET", target, headers=headers, extensions=ext) as r:
                    if r.is_redirect and "location" in r.headers:
                        current = urljoin(current, r.headers["location"])
                        continue
                    if r.status_code >= 400:
                        raise InputError(f"HTTP {r.status_code} {r.reason_phrase} from {current}")
                    declared = r.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > settings.max_bytes:
                        raise InputError(too_big(f"response of {current}", int(declared), settings.max_bytes))
                    buf = bytearray()
                    for chunk in r.iter_bytes():
                        buf.extend(chunk)
                        if len(buf) > settings.max_bytes:
                            raise InputError(too_big(f"response of {current}", len(buf), settings.max_bytes))
                    return Fetched(current, bytes(buf), r.headers.get("content-type", ""), r.headers.get("date"))
            except httpx.TimeoutException as e:
                raise InputError(f"timed out after {settings.timeout_s:g}s fetching {current}") from e
            except httpx.HTTPError as e:
                raise InputError(f"cannot fetch {current}: {type(e).__name__}: {e}") from e
        raise InputError(f"too many redirects from {url}")
    finally:
        if own:
            c.close()


def is_feed(f: Fetched) -> bool:
    ctype = f.content_type.lower()
    if "html" in ctype:
        return False
    if ctype.startswith(FEED_TYPES) or "rss" in ctype or "atom" in ctype:
        return True
    head = f.content[:2048].lstrip().lower()
    return head.startswith(b"<?xml") and (b"<rss" in head or b"<feed" in head or b"<rdf" in head)


def to_raw(f: Fetched, source: str, **fields: str | None) -> RawDocument:
    ctype = f.content_type.lower()
    declared = ctype.split("charset=", 1)[1].split(";")[0].strip() if "charset=" in ctype else None
    meta = {"fetched": f.fetched} if f.fetched else {}
    if ctype.startswith("text/plain"):
        return RawDocument(source=source, url=f.url, text=decode_bytes(f.content, f.url, declared), meta=meta,
                           **fields)
    return RawDocument(source=source, url=f.url, html=decode_html(f.content, f.url, declared), meta=meta,
                       **fields)


def read_url(url: str, settings: IngestSettings) -> Iterator[RawDocument | ReadError]:
    from storylens.ingest.feed import read_feed_bytes

    with httpx.Client(timeout=settings.timeout_s, headers={"User-Agent": settings.user_agent},
                      follow_redirects=False) as client:
        try:
            f = fetch(url, settings, client)
        except InputError as e:
            yield ReadError(url, str(e))
            return
        if not f.content.strip():
            yield ReadError(url, f"empty response from {url}")
            return
        if is_feed(f):
            yield from read_feed_bytes(f.content, url, settings, client)
            return
        try:
            yield to_raw(f, url)
        except InputError as e:
            yield ReadError(url, str(e))
