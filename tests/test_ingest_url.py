"""URL and feed readers against a local http.server in a thread (loopback allowed by setting)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from storylens.ingest import read_inputs
from storylens.model import RawDocument, ReadError
from storylens.settings import IngestSettings

PAGE = ("<html><head><title>Summit talks</title></head><body><article><h1>Summit talks</h1>"
        + "<p>The leaders met on Monday and discussed arms control at length in Geneva.</p>" * 5
        + "</article></body></html>").encode()


def feed(base: str) -> bytes:
    return f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Local news</title>
<item><title>Page one</title><link>{base}/page</link><pubDate>Tue, 08 Jun 2021 10:00:00 GMT</pubDate></item>
<item><title>Broken</title><link>{base}/500</link></item>
<item><title>Broken with summary</title><link>{base}/500</link><description>Summary text of the entry.</description></item>
</channel></rss>""".encode()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        # the timeout tests give up on /slow before it answers: a client gone is expected, not a server error (whose
        # traceback, printed from this thread while another test parses source, trips CPython 3.11's AST recursion
        # counter, which is shared between threads)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        if self.path == "/page":
            self._send(200, PAGE, "text/html; charset=utf-8")
        elif self.path == "/host":
            self._send(200, self.headers.get("Host", "").encode(), "text/plain")
        elif self.path == "/ua":
            self._send(200, self.headers.get("User-Agent", "").encode(), "text/plain")
        elif self.path == "/feed":
            self._send(200, feed(base), "application/rss+xml")
        elif self.path == "/500":
            self._send(500, b"oops", "text/plain")
        elif self.path == "/slow":
            time.sleep(1.5)
            self._send(200, PAGE, "text/html")
        elif self.path == "/big":
            self._send(200, b"x" * 5000, "text/html")
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/page")
            self.end_headers()
        else:
            self._send(404, b"no", "text/plain")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = False  # server_close() waits for the requests under way: none outlives the module
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


LOCAL = IngestSettings(allow_private_urls=True, timeout_s=0.5)


def test_page(server: str) -> None:
    (doc,) = read_inputs([f"{server}/page"], LOCAL)
    assert isinstance(doc, RawDocument) and doc.url == f"{server}/page" and doc.html and "Geneva" in doc.html


def test_user_agent_and_redirect(server: str) -> None:
    (doc,) = read_inputs([f"{server}/ua"], LOCAL)
    assert isinstance(doc, RawDocument) and doc.text == LOCAL.user_agent
    (doc,) = read_inputs([f"{server}/redirect"], LOCAL)
    assert isinstance(doc, RawDocument) and doc.url == f"{server}/page"


def test_private_address_refused_by_default(server: str) -> None:
    (err,) = read_inputs([f"{server}/page"], IngestSettings())
    assert isinstance(err, ReadError) and "refused" in err.reason and "127.0.0.1" in err.reason


def test_500_and_timeout_are_per_item_errors(server: str) -> None:
    out = list(read_inputs([f"{server}/500", f"{server}/slow", f"{server}/page"], LOCAL))
    assert isinstance(out[0], ReadError) and "HTTP 500" in out[0].reason
    assert isinstance(out[1], ReadError) and "timed out" in out[1].reason
    assert isinstance(out[2], RawDocument)


def test_size_limit(server: str) -> None:
    (err,) = read_inputs([f"{server}/big"], IngestSettings(allow_private_urls=True, max_bytes=1000))
    assert isinstance(err, ReadError) and "size limit" in err.reason


def test_feed_fetches_entry_pages(server: str) -> None:
    out = list(read_inputs([f"{server}/feed"], LOCAL))
    assert len(out) == 3
    page, broken, summary = out
    assert isinstance(page, RawDocument) and page.title == "Page one" and page.html and "Geneva" in page.html
    assert page.published and "2021" in page.published and page.meta.get("feed") == f"{server}/feed"
    assert isinstance(broken, ReadError) and "HTTP 500" in broken.reason
    assert isinstance(summary, RawDocument) and summary.html == "Summary text of the entry."
    assert "HTTP 500" in summary.meta["fetch_error"]


def test_feed_url_500_or_timeout(server: str) -> None:
    out = list(read_inputs([f"{server}/500", f"{server}/slow"], LOCAL))
    assert all(isinstance(x, ReadError) for x in out)


def test_bad_scheme() -> None:
    out = list(read_inputs(["http://"], LOCAL))
    assert isinstance(out[0], ReadError)


def test_dns_rebinding_cannot_reach_a_private_address(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A host that resolves to a public address when checked and to loopback when connected (DNS rebinding):
    the request goes to the checked address, never to the local server."""
    import socket

    port = int(server.rsplit(":", 1)[1])
    real = socket.getaddrinfo
    answers = iter(["8.8.8.8"])  # the first answer is public, every later one loopback

    def rebinding(host: str, *args: Any, **kw: Any) -> Any:
        if host == "news.rebind.example":
            ip = next(answers, "127.0.0.1")
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    (res,) = read_inputs([f"http://news.rebind.example:{port}/page"], IngestSettings(timeout_s=0.5))
    assert isinstance(res, ReadError), "the connection reached the rebound loopback address"
    assert "news.rebind.example" in res.reason


def test_pinned_request_keeps_the_host_name(server: str) -> None:
    from storylens.ingest.url import _pinned, fetch

    url, headers, ext = _pinned("https://news.example:8443/a?b=1", "8.8.8.8")
    assert (url, headers, ext) == ("https://8.8.8.8:8443/a?b=1", {"Host": "news.example:8443"},
                                   {"sni_hostname": "news.example"})
    assert _pinned("http://news.example/a", "2001:4860::8888")[0] == "http://[2001:4860::8888]/a"
    # against a real server: the pinned request is sent to the address with the name in the Host header
    port = server.rsplit(":", 1)[1]
    import httpx

    target, headers, ext = _pinned(f"http://localhost:{port}/host", "127.0.0.1")
    with httpx.Client() as c:
        assert c.get(target, headers=headers, extensions=ext).text == f"localhost:{port}"
    assert fetch(f"{server}/host", LOCAL).content.decode() == f"127.0.0.1:{port}"
