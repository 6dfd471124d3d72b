"""The web application: the REST API under ``/api`` and server-rendered pages, over one :class:`storylens.Corpus`.

Every request reads the store afresh (nothing is cached in the process except the compare stage's own cache in
the store), so articles that ``storylens watch`` or ``POST /api/articles`` add appear without a restart.

Safety:

* writes (``POST /api/articles``) need ``Authorization: Bearer <token>`` when a token is configured
  (``STORYLENS_TOKEN`` / ``ApiSettings.token``); with no token configured, writes are refused unless the server is
  bound to a loopback address;
* request bodies above ``ApiSettings.max_request_bytes`` are refused with 413, whether or not they announce their
  length;
* query and body values are validated (4xx with a message that names the field);
* pages escape all article text (Jinja2 autoescaping; no ``|safe`` on stored text) and send a Content-Security-Policy
  that forbids inline scripts, so a ``<script>`` inside an article is shown as text and never runs.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from storylens.api.cache import ResponseCache
from storylens.api.writer import InProcessWriter, Writer, WriterClient, WriterUnavailable
from storylens.compare import COMPARE_VERSION
from storylens.corpus import Corpus
from storylens.model import StoryComparison, from_jsonable
from storylens.settings import Settings

WEB = Path(__file__).with_name("web")
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


log = logging.getLogger(__name__)


@dataclass
class AppState:
    """What the routes share: the corpus (reads), the writer (posts and comparisons: in this process, or the writer
    process of ``storylens serve``) and the response cache."""

    settings: Settings
    corpus: Corpus
    writer: Writer
    responses: ResponseCache = field(default_factory=ResponseCache)
    _last_post: float = 0.0

    def _stored(self, story_id: str) -> tuple[str, bool] | None:
        """The story's stored comparison (JSON text) of this compare version, and whether it is current."""
        found = self.corpus.store.stored_comparison_text(story_id)
        if found is None or found[2] != COMPARE_VERSION:
            return None
        return found[0], found[1]

    def comparison_text(self, story_id: str, compute: bool = True) -> tuple[str | None, bool]:
        """The story's comparison as stored (JSON text, not decoded) and whether it is stale.

        Current: served as stored.  Stale (the story changed since): the writer is asked to compute it again; a
        writer in this process does so now (only when ``compute``), the writer process later (behind the posts), and
        the stored one is served meanwhile, marked stale.  None stored: computed once by the writer and waited for (``compute``), else
        None.  Raises :class:`WriterUnavailable` when the writer cannot answer."""
        found = self._stored(story_id)
        if found is not None and found[1]:
            return found[0], False
        if found is not None:
            if self.writer.background or compute:  # queued in the writer process; in this one, done now
                self.writer.compare(story_id, wait=False)
            if not self.writer.background:
                again = self._stored(story_id)
                if again is not None:
                    return again[0], not again[1]
            return found[0], True
        if not compute or self.corpus.store.story_updated_at(story_id) is None:
            return None, False
        self.writer.compare(story_id, wait=True)
        found = self._stored(story_id)
        return (found[0], not found[1]) if found is not None else (None, False)

    def comparison(self, story_id: str, compute: bool = True) -> StoryComparison | None:
        """The story's comparison as :meth:`comparison_text` finds it, decoded (None when there is no such story, or
        nothing stored and ``compute`` is off)."""
        text, _ = self.comparison_text(story_id, compute)
        return from_jsonable(StoryComparison, json.loads(text)) if text is not None else None

    def quote_group(self, group_id: str) -> dict[str, Any]:
        """A quote group by id (its story's comparison computed by the writer when none is stored); 404 when there
        is none."""
        story_id = group_id.split(":", 1)[0] if ":" in group_id else None
        if story_id and self.corpus.store.story(story_id) is not None:
            self.comparison_text(story_id)
        g = self.corpus.store.quote_group(group_id)
        if g is None:
            raise HTTPException(404, f"no quote group with id {group_id!r}")
        return g

    def write_policy(self) -> str:
        if self.settings.api.token:
            return "token"
        return "loopback" if is_loopback(self.settings.api.host) else "refused"


def state_of(request: Request) -> AppState:
    st: AppState = request.app.state.storylens
    return st


def state_of_app(app: FastAPI) -> AppState:
    st: AppState = app.state.storylens
    return st


def require_write(request: Request) -> None:
    """Writes need the configured token; with none configured, only a loopback-bound server accepts them."""
    st = state_of(request)
    token = st.settings.api.token
    if token:
        auth = request.headers.get("authorization", "")
        scheme, _, given = auth.partition(" ")
        if scheme.lower() != "bearer" or not given:
            raise HTTPException(401, "this endpoint needs a token: send `Authorization: Bearer <STORYLENS_TOKEN>`",
                                headers={"WWW-Authenticate": "Bearer"})
        if not hmac.compare_digest(given.strip().encode(), token.encode()):
            raise HTTPException(403, "the token is not valid", headers={"WWW-Authenticate": "Bearer"})
        return
    if not is_loopback(st.settings.api.host):
        raise HTTPException(403, "writes are disabled: set STORYLENS_TOKEN to accept writes on a server that is not "
                                 "bound to loopback")
    # token-less loopback writes: only from this machine's own pages or tools.  A Host that is not loopback means
    # DNS rebinding; an Origin of another site means a cross-site request from the user's browser.
    host = urlsplit("//" + request.headers.get("host", "")).hostname or ""
    if not is_loopback(host):
        raise HTTPException(403, f"writes without a token are accepted only for a loopback Host, not {host!r}")
    origin = request.headers.get("origin")
    if origin and origin != "null" and not is_loopback(urlsplit(origin).hostname or ""):
        raise HTTPException(403, f"cross-site write from {origin} refused")


class LimitBodyMiddleware:
    """Refuse request bodies above ``limit`` bytes with 413: by Content-Length up front, and while reading."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    n = int(value)
                except ValueError:
                    await self._reply(send, 400, "invalid Content-Length")
                    return
                if n > self.limit:
                    await self._reply(send, 413, f"request body of {n} bytes is above the limit of {self.limit}")
                    return
        if scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        # read the body up to the limit before the app sees it, then replay it: a body without Content-Length
        # (chunked) that grows past the limit is refused without buffering more than `limit` bytes
        chunks: list[bytes] = []
        seen = 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            if msg["type"] != "http.request":
                continue
            body = msg.get("body", b"")
            seen += len(body)
            if seen > self.limit:
                await self._reply(send, 413, f"request body is above the limit of {self.limit} bytes")
                return
            chunks.append(body)
            if not msg.get("more_body", False):
                break
        replay = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replay_receive() -> Message:
            if replay:
                return replay.pop()
            return await receive()

        await self.app(scope, replay_receive, send)

    @staticmethod
    async def _reply(send: Send, status: int, detail: str) -> None:
        import json

        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


SECURITY_HEADERS = ((b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"), (b"x-frame-options", b"DENY"))


class SecurityHeadersMiddleware:
    """The security headers on every response that does not set them itself (plain ASGI: no task per request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                headers = list(msg.get("headers", []))
                have = {k.lower() for k, _ in headers}
                headers.extend((k, v) for k, v in SECURITY_HEADERS if k not in have)
                msg["headers"] = headers
            await send(msg)

        await self.app(scope, receive, send_with_headers)


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api") and "text/html" in request.headers.get("accept", "text/html")


def create_app(settings: Settings | None = None, corpus: Corpus | None = None) -> FastAPI:
    """The FastAPI app over the store named by ``settings.db_url`` (or over ``corpus`` when given)."""
    settings = settings or Settings.from_env()
    if corpus is None:
        corpus = Corpus(settings.db_url, settings=settings)
    api = settings.api
    writer: Writer = (WriterClient(api.writer_address, api.writer_key, api.writer_timeout_s, api.writer_start_s)
                      if api.writer_address and api.writer_key else InProcessWriter(corpus))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        writer.close()

    app = FastAPI(
        lifespan=lifespan,
        title="storylens",
        version="1",
        summary="One story, every outlet: stories, quotes and their mutations, coverage and framing across outlets.",
        docs_url=None,  # the local /docs page below: Swagger UI would load from a CDN
        redoc_url=None,
    )
    app.state.storylens = AppState(settings=settings, corpus=corpus, writer=writer)

    from storylens.api import pages, routes

    app.include_router(routes.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_html(request) and exc.status_code in (400, 404, 422):
            return pages.error_page(request, exc.status_code, str(exc.detail))
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(WriterUnavailable)
    async def writer_unavailable(request: Request, exc: WriterUnavailable) -> Response:
        detail = str(exc)
        if _wants_html(request):
            return pages.error_page(request, 503, detail)
        return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("query", "path", "body"))
            problems.append({"field": where, "message": e.get("msg", "invalid"), "input": _short(e.get("input"))})
        detail = "; ".join(f"{p['field']}: {p['message']}" for p in problems) or "invalid request"
        if _wants_html(request):
            return pages.error_page(request, 422, detail)
        return JSONResponse({"detail": detail, "errors": problems}, status_code=422)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response((WEB / "static" / "favicon.svg").read_bytes(), media_type="image/svg+xml")

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs(request: Request) -> Response:
        return pages.api_docs_page(request, app.openapi())

    app.add_middleware(LimitBodyMiddleware, limit=settings.api.max_request_bytes)
    app.add_middleware(SecurityHeadersMiddleware)
    return app


def _short(v: Any) -> Any:
    if isinstance(v, str) and len(v) > 200:
        return v[:200] + "…"
    if isinstance(v, str | int | float | bool) or v is None:
        return v
    return None
