"""The REST API (``/api``).  JSON shapes are the CLI's (``storylens ... --format json``); every list takes
``limit``/``offset`` and ``format=csv|json`` for a download of the same rows."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Hashable, Mapping
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from storylens.api.app import AppState, require_write, state_of
from storylens.api.views import (
    article_row,
    entity_row,
    export,
    found,
    group_of_quotes,
    narrative_row,
    page,
    quote_row,
    stories_in_time_order,
    story_row,
)
from storylens.model import article_contract, to_jsonable
from storylens.pipeline import ItemResult

router = APIRouter(prefix="/api", tags=["api"])

MAX_ITEMS = 1000  # articles per POST
MAX_PAGE = 1000
MAX_EXPORT = 100_000
WRITE_TYPES = ("application/json", "application/x-ndjson", "application/jsonl")
CONTRACT_FIELDS = ("id", "url", "title", "text", "html", "published", "outlet", "language")


class Format(StrEnum):
    csv = "csv"
    json = "json"


Limit = Annotated[int | None, Query(ge=1, le=MAX_EXPORT, description=f"page size (default 50, at most {MAX_PAGE}; "
                                                                       f"exports: all rows up to {MAX_EXPORT})")]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
Fmt = Annotated[Format | None, Query(alias="format", description="csv or json: download the rows instead")]
DateQ = Annotated[dt.date | None, Query(description="a date, YYYY-MM-DD")]
Text = Annotated[str | None, Query(min_length=1, max_length=200)]


def _limit(limit: int | None, fmt: Format | None) -> int:
    if fmt is not None:
        return limit or MAX_EXPORT
    if limit is not None and limit > MAX_PAGE:
        raise HTTPException(422, f"limit: at most {MAX_PAGE} per page (use format=csv or format=json to download more)")
    return limit or 50


def _list(rows: list[dict[str, Any]], limit: int, offset: int, fmt: Format | None, name: str,
          columns: list[str] | None = None) -> Any:
    has_more = len(rows) > limit
    rows = rows[:limit]
    if fmt is not None:
        return export(rows, fmt.value, name, columns)
    return page(rows, limit, offset, has_more)


# ---- health -------------------------------------------------------------------------------------------------------
@router.get("/health", summary="Liveness, article and story counts, and the write policy")
def health(request: Request) -> dict[str, Any]:
    from storylens.store.search import has_index

    st = state_of(request)
    store = st.corpus.store
    return {"status": "ok", "articles": store.count_articles(), "stories": store.count_stories(),
            "database": store.dialect, "search_index": has_index(store), "writes": st.write_policy()}


# ---- stories ------------------------------------------------------------------------------------------------------
@router.get("/stories", summary="Stories, newest first (filters: since, until, outlet, entity, q)")
def list_stories(request: Request, since: DateQ = None, until: DateQ = None, outlet: Text = None,
                 entity: Text = None, q: Text = None, limit: Limit = None, offset: Offset = 0,
                 fmt: Fmt = None) -> Any:
    n = _limit(limit, fmt)
    c = state_of(request).corpus
    found = c.stories(since=since, until=until, outlet=outlet, entity=entity, q=q, limit=n + 1, offset=offset)
    return _list([story_row(s) for s in found], n, offset, fmt, "stories",
                 ["id", "title", "first_seen", "last_seen", "n_articles", "outlets", "keywords", "articles"])


@router.get("/stories/{story_id}", summary="One story: articles, cited summary, quote groups with variants and "
                                           "mutations, coverage matrix, framing signals, timeline")
async def get_story(request: Request, story_id: str) -> Response:
    """``{"story", "articles", "comparison", "comparison_stale"}``.  The body is kept in the process while the story
    and its stored comparison stay the same (one small query finds that out, on the event loop: a kept body costs no
    thread); the stored comparison is spliced in as stored, never decoded and encoded again.  ``comparison_stale``:
    the story changed since its comparison was computed; the writer is computing it again, and the last one is
    served meanwhile."""
    st = state_of(request)
    stamp = found(st.corpus.store.story_stamp(story_id), f"story with id {story_id!r}")
    body = st.responses.get(("story", story_id), stamp)
    if body is None:
        body = await run_in_threadpool(_story_body, st, story_id, stamp)
    return Response(body, media_type="application/json")


def _story_body(st: AppState, story_id: str, stamp: Hashable) -> bytes:
    c = st.corpus
    s = found(c.story(story_id), f"story with id {story_id!r}")
    comparison, stale = st.comparison_text(story_id)
    head = json.dumps({"story": story_row(s), "articles": c.store.article_summaries(s.articles)},
                      ensure_ascii=False, default=str)
    body = (head[:-1] + ', "comparison": ' + (comparison or "null")
            + f', "comparison_stale": {json.dumps(stale)}}}').encode()
    st.responses.put(("story", story_id), stamp, body)
    return body


@router.get("/stories/{story_id}/spread", summary="How each quote of the story spread: the spread contract of "
                                                  "`storylens spread` for one story")
def get_story_spread(request: Request, story_id: str) -> dict[str, Any]:
    from storylens.compare.spread import spread_contract

    st = state_of(request)
    s = found(st.corpus.story(story_id), f"story with id {story_id!r}")
    return spread_contract([(s, st.comparison(story_id))])


# ---- narratives -------------------------------------------------------------------------------------------------
@router.get("/narratives", summary="Narratives: stories linked across time by theme and actors")
def list_narratives(request: Request, limit: Limit = None, offset: Offset = 0, fmt: Fmt = None) -> Any:
    n = _limit(limit, fmt)
    rows = [narrative_row(x) for x in state_of(request).corpus.narratives()][offset:offset + n + 1]
    return _list(rows, n, offset, fmt, "narratives", ["id", "title", "stories", "keywords"])


@router.get("/narratives/{narrative_id}", summary="One narrative with its stories in time order")
def get_narrative(request: Request, narrative_id: str) -> dict[str, Any]:
    c = state_of(request).corpus
    n = found(c.narrative(narrative_id), f"narrative with id {narrative_id!r}")
    stories = stories_in_time_order(c, n.stories)
    return {"narrative": narrative_row(n), "stories": [story_row(s) for s in stories]}


# ---- quotes -------------------------------------------------------------------------------------------------------
@router.get("/quotes", summary="Quotes with speaker, outlet and date (filters: speaker, outlet, q, since)")
def list_quotes(request: Request, speaker: Text = None, outlet: Text = None, q: Text = None, since: DateQ = None,
                story: Text = None, limit: Limit = None, offset: Offset = 0, fmt: Fmt = None) -> Any:
    n = _limit(limit, fmt)
    c = state_of(request).corpus
    found = c.quotes(speaker=speaker, outlet=outlet, q=q, since=since, story_id=story, limit=n + 1, offset=offset)
    groups = group_of_quotes(c, found)
    return _list([quote_row(x, groups.get(x.id)) for x in found], n, offset, fmt, "quotes",
                 ["published", "outlet", "speaker", "kind", "text", "article_id", "id", "story_id", "group_id"])


@router.get("/quotes/{group_id:path}", summary="One quote group: every outlet's variant, when, and what changed")
def get_quote_group(request: Request, group_id: str) -> dict[str, Any]:
    return state_of(request).quote_group(group_id)


# ---- entities -----------------------------------------------------------------------------------------------------
@router.get("/entities", summary="Canonical entities with aliases and article counts (filter: type)")
def list_entities(request: Request, type: Text = None, q: Text = None,  # noqa: A002 - mirrors the CLI flag
                  limit: Limit = None, offset: Offset = 0, fmt: Fmt = None) -> Any:
    n = _limit(limit, fmt)
    c = state_of(request).corpus
    counts = c.store.entity_article_counts()
    rows = [entity_row(e, counts.get(e.id, 0)) for e in c.entities(type=type)]
    if q:
        k = q.casefold()
        rows = [r for r in rows if k in r["name"].casefold() or any(k in a.casefold() for a in r["aliases"])]
    rows.sort(key=lambda r: (-r["articles"], r["name"]))
    return _list(rows[offset:offset + n + 1], n, offset, fmt, "entities", ["name", "type", "articles", "aliases", "id"])


@router.get("/entities/{entity_id:path}", summary="One entity (id or name): aliases with evidence, articles, quotes")
def get_entity(request: Request, entity_id: str) -> dict[str, Any]:
    c = state_of(request).corpus
    info = found(c.entity(entity_id), f"entity with id or name {entity_id!r}")
    d: dict[str, Any] = to_jsonable(info)
    groups = group_of_quotes(c, info.quotes)
    for qd in d["quotes"]:
        qd["group_id"] = groups.get(qd["id"])
    return d


# ---- outlets ------------------------------------------------------------------------------------------------------
@router.get("/outlets", summary="Outlets with article and story counts and their date range")
def list_outlets(request: Request, limit: Limit = None, offset: Offset = 0, fmt: Fmt = None) -> Any:
    n = _limit(limit, fmt)
    rows = state_of(request).corpus.store.outlets()[offset:offset + n + 1]
    return _list(rows, n, offset, fmt, "outlets", ["outlet", "articles", "stories", "first", "last"])


# ---- articles -----------------------------------------------------------------------------------------------------
@router.get("/articles", summary="Stored articles without their text (filters: outlet, since, until, story)")
def list_articles(request: Request, outlet: Text = None, since: DateQ = None, until: DateQ = None, story: Text = None,
                  limit: Limit = None, offset: Offset = 0, fmt: Fmt = None) -> Any:
    n = _limit(limit, fmt)
    c = state_of(request).corpus
    arts = c.articles(outlet=outlet, since=since, until=until, story_id=story, limit=n + 1, offset=offset)
    sids = c.store.story_of([a.id for a in arts]) if arts else {}
    return _list([article_row(a, sids.get(a.id)) for a in arts], n, offset, fmt, "articles",
                 ["id", "published", "outlet", "language", "title", "duplicate_of", "quotes", "url", "story_id"])


@router.get("/articles/{article_id:path}", summary="One article: the analyze contract plus what cleaning removed")
def get_article(request: Request, article_id: str) -> dict[str, Any]:
    c = state_of(request).corpus
    a = found(c.article(article_id), f"article with id {article_id!r}")
    d = {**article_contract(a), "removed": to_jsonable(a.removed)}
    d["story_id"] = c.store.story_of([a.id]).get(a.id)
    return d


def _validate_item(obj: Any, where: str) -> tuple[dict[str, Any] | str | None, str | None]:
    """An input-contract item to what Corpus.ingest takes (a dict, or a URL to fetch), else the reason."""
    if not isinstance(obj, Mapping):
        return None, f"{where}: expected a JSON object, got {type(obj).__name__}"
    for k in CONTRACT_FIELDS:
        v = obj.get(k)
        if v is not None and not isinstance(v, str):
            return None, f"{where}: field {k!r} must be a string"
    has_body = any(isinstance(obj.get(k), str) and obj[k].strip() for k in ("text", "html"))
    if not has_body:
        url = obj.get("url")
        if isinstance(url, str) and url.strip():
            if not url.lower().startswith(("http://", "https://")):
                return None, f"{where}: url must be http(s)"
            return url.strip(), None  # fetched by the URL reader, which refuses private addresses
        return None, f"{where}: needs a non-empty 'text' or 'html' (or a 'url' to fetch)"
    return {k: v for k, v in obj.items()}, None


def _refuse_private_urls(items: list[Any], results: list[ItemResult | None], settings: Any) -> list[Any]:
    """URLs are checked before anything is fetched (the URL reader checks again, and on every redirect)."""
    from storylens.ingest.url import check_url

    kept: list[Any] = []
    slots = [i for i, r in enumerate(results) if r is None]
    for slot, item in zip(slots, items, strict=True):
        if isinstance(item, str):
            try:
                check_url(item, settings.ingest)
            except Exception as e:  # noqa: BLE001 - InputError: the reader's own message
                results[slot] = ItemResult(source=item, status="rejected", stage="read", reason=str(e))
                continue
        kept.append(item)
    return kept


def _parse_body(body: bytes, content_type: str) -> list[tuple[str, Any]]:
    """(where, item) pairs from a JSON or JSONL body; a malformed line is an item that fails validation."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise HTTPException(400, f"the body is not UTF-8: {e}") from e
    if not text.strip():
        raise HTTPException(400, "the body is empty: send a JSON object, a JSON list of objects, or JSONL")
    ct = content_type.split(";", 1)[0].strip().lower()
    if ct in ("application/json", "") and text.lstrip()[:1] in ("{", "["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            if ct == "application/json" and text.lstrip()[:1] == "[":
                raise HTTPException(400, f"the body is not valid JSON: {e}") from e
            data = None  # JSONL sent as application/json: parse by lines below
        if data is not None:
            if isinstance(data, Mapping) and isinstance(data.get("articles"), list):
                data = data["articles"]
            items = data if isinstance(data, list) else [data]
            return [(f"item {i + 1}", x) for i, x in enumerate(items)]
    out: list[tuple[str, Any]] = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append((f"line {i}", json.loads(line)))
        except json.JSONDecodeError as e:
            out.append((f"line {i}", _Bad(f"line {i}: not valid JSON ({e.msg})")))
    return out


class _Bad:
    def __init__(self, reason: str) -> None:
        self.reason = reason


@router.post("/articles", dependencies=[Depends(require_write)],
             summary="Ingest articles: a JSON object, a JSON list or JSONL in the input contract; per-item results",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {"type": "array", "items": {"type": "object", "properties": {
                     k: {"type": "string"} for k in CONTRACT_FIELDS}}}},
                 "application/x-ndjson": {"schema": {"type": "string"}}}}})
async def post_articles(request: Request) -> JSONResponse:
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype not in WRITE_TYPES:
        # a form or text/plain body is what a cross-site page can send without a CORS preflight: refused
        raise HTTPException(415, f"send the articles as {' or '.join(WRITE_TYPES)}, not {ctype or 'no Content-Type'}")
    body = await request.body()
    pairs = _parse_body(body, request.headers.get("content-type", ""))
    if not pairs:
        raise HTTPException(400, "no articles in the body")
    if len(pairs) > MAX_ITEMS:
        raise HTTPException(413, f"{len(pairs)} articles in one request: at most {MAX_ITEMS}")
    items: list[Any] = []
    results: list[ItemResult | None] = []
    for where, obj in pairs:
        if isinstance(obj, _Bad):
            results.append(ItemResult(source=f"api:{where}", status="rejected", stage="validate", reason=obj.reason))
            continue
        item, reason = _validate_item(obj, where)
        if item is None:
            rid = obj.get("id") if isinstance(obj, Mapping) and isinstance(obj.get("id"), str) else None
            results.append(ItemResult(source=f"api:{where}", id=rid, status="rejected", stage="validate",
                                      reason=reason))
        else:
            items.append(item)
            results.append(None)
    st = state_of(request)
    items = await run_in_threadpool(_refuse_private_urls, items, results, st.settings)
    ingested: list[ItemResult] = []
    if items:  # stored (narratives linked with them) by the writer before it answers; 503 when it cannot
        ingested = await run_in_threadpool(st.writer.ingest, items)
    merged = [r for r in results if r is not None] + ingested
    counts = {s: sum(1 for r in merged if r.status == s) for s in ("new", "updated", "duplicate", "unchanged",
                                                                     "rejected")}
    status = 200 if counts["rejected"] < len(merged) else 422
    return JSONResponse({"results": [to_jsonable(r) for r in merged], "counts": counts}, status_code=status)


# ---- search -------------------------------------------------------------------------------------------------------
@router.get("/search", summary="Full-text search over articles and quotes (every word must match; word* = prefix)")
async def search(request: Request, q: Annotated[str, Query(min_length=1, max_length=500)],
                 limit: Annotated[int, Query(ge=1, le=200)] = 20, offset: Offset = 0,
                 fmt: Fmt = None) -> Any:
    """Kept in the process while the store has no new commit (a kept body costs no thread)."""
    from storylens.store.search import generation, tokens

    if not tokens(q):
        raise HTTPException(422, "q: the query has no words to search for")
    st = state_of(request)
    stamp = generation(st.corpus.store)  # any commit to the store, by any process, changes it
    key = ("search", q, limit, offset, fmt)
    cached = st.responses.get(key, stamp)
    if cached is not None:
        return _stored_response(cached, fmt)
    return await run_in_threadpool(_search, st, q, limit, offset, fmt, key, stamp)


def _search(st: AppState, q: str, limit: int, offset: int, fmt: Format | None, key: Hashable,
            stamp: Hashable) -> Response:
    c = st.corpus
    res = c.search(q, limit=limit, offset=offset)
    quotes = to_jsonable(res.quotes)
    groups = group_of_quotes(c, res.quotes)
    for qd in quotes:
        qd["group_id"] = groups.get(qd["id"])
    if fmt is not None:
        rows = [{"type": "article", **a} for a in to_jsonable(res.articles)] + [{"type": "quote", **x} for x in quotes]
        out: Response = export(rows, fmt.value, "search")
    else:
        out = JSONResponse({"query": q, "articles": to_jsonable(res.articles), "quotes": quotes})
    st.responses.put(key, stamp, bytes(out.body))
    return out


def _stored_response(body: bytes, fmt: Format | None) -> Response:
    if fmt is None:
        return Response(body, media_type="application/json")
    return Response(body, media_type="text/csv; charset=utf-8" if fmt is Format.csv else "application/json",
                    headers={"Content-Disposition": f'attachment; filename="search.{fmt.value}"'})
