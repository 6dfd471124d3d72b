"""Server-rendered pages (Jinja2, autoescaped).  Article text only ever reaches a page through autoescaping;
search snippets are escaped first and only then get their ``<mark>`` elements."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import Counter, defaultdict
from typing import Annotated, Any
from urllib.parse import quote as urlquote
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from storylens.api.app import WEB, state_of
from storylens.api.views import found, group_of_quotes, outlet_key, stories_in_time_order, timeline_chart
from storylens.compare.present import LABEL, diff_parts, spread_view, statement_text
from storylens.model import Article, Quote, Story, StoryComparison, SummarySentence, from_jsonable
from storylens.store.search import MARK_END, MARK_START, tokens

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(env=jinja2.Environment(loader=jinja2.FileSystemLoader(str(WEB / "templates")),
                                                   autoescape=True, trim_blocks=False))
PAGE = 50
NARRATIVE_SUMMARIES = 12  # stories of a narrative page whose comparison is computed on first view


def _u(value: Any) -> str:
    """A path segment: ids may hold '/', ':' or spaces."""
    return urlquote(str(value), safe="")


def _marks(value: str | None) -> Markup:
    """Escape a snippet, then turn the match markers into <mark> elements."""
    s = str(escape(value or ""))
    return Markup(s.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>"))


def _http_url(value: Any) -> str | None:
    """Only http(s) URLs become links: a stored ``javascript:`` URL must never be clickable."""
    v = str(value or "").strip()
    return v if v.lower().startswith(("http://", "https://")) else None


def _qs(params: dict[str, Any], **over: Any) -> str:
    merged = {k: v for k, v in {**params, **over}.items() if v not in (None, "")}
    return urlencode(merged)


templates.env.filters["u"] = _u
templates.env.filters["marks"] = _marks
templates.env.filters["http_url"] = _http_url
templates.env.globals["qs"] = _qs
templates.env.globals["parts"] = diff_parts
templates.env.globals["labels"] = LABEL
templates.env.globals["statement"] = statement_text


def render(request: Request, name: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    st = state_of(request)
    ctx.setdefault("title", "storylens")
    ctx["n_articles_now"] = st.corpus.store.count_articles()
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)


def error_page(request: Request, status: int, detail: str) -> HTMLResponse:
    return render(request, "error.html", status_code=status, title=f"{status}", status=status, detail=detail)


def api_docs_page(request: Request, schema: dict[str, Any]) -> HTMLResponse:
    ops = []
    for path, methods in schema.get("paths", {}).items():
        for method, op in methods.items():
            params = [{"name": p["name"], "in": p["in"], "required": p.get("required", False),
                       "description": p.get("description") or p.get("schema", {}).get("description", ""),
                       "type": _schema_type(p.get("schema", {}))} for p in op.get("parameters", [])]
            ops.append({"method": method.upper(), "path": path, "summary": op.get("summary", ""), "params": params})
    return render(request, "docs.html", title="API", ops=ops)


def _schema_type(s: dict[str, Any]) -> str:
    if "anyOf" in s:
        return " | ".join(_schema_type(x) for x in s["anyOf"] if x.get("type") != "null")
    if "enum" in s:
        return " | ".join(str(x) for x in s["enum"])
    t = str(s.get("type", ""))
    return f"{t} ({s['format']})" if "format" in s else t


def _comparison(request: Request, story_id: str, compute: bool = True) -> tuple[StoryComparison | None, str | None]:
    """The story's comparison (computed when stale and ``compute``), or None and the reason it could not be."""
    comparison, problem, _ = _comparison_and_age(request, story_id, compute)
    return comparison, problem


def _comparison_and_age(request: Request, story_id: str, compute: bool = True
                        ) -> tuple[StoryComparison | None, str | None, bool]:
    """As :func:`_comparison`, and whether the comparison predates the story's latest change (being recomputed)."""
    try:
        text, stale = state_of(request).comparison_text(story_id, compute)
    except Exception as e:  # noqa: BLE001 - the page still shows the articles
        log.exception("compare failed for %s", story_id)
        return None, f"the comparison could not be computed: {type(e).__name__}: {e}", False
    return (from_jsonable(StoryComparison, json.loads(text)) if text is not None else None), None, stale


# ---- story list ------------------------------------------------------------------------------------------------
DateQ = Annotated[dt.date | None, Query()]
TextQ = Annotated[str | None, Query(max_length=200)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]


@router.get("/", response_class=HTMLResponse)
def story_list(request: Request, since: DateQ = None, until: DateQ = None, outlet: TextQ = None, entity: TextQ = None,
               q: TextQ = None, offset: Offset = 0) -> Response:
    c = state_of(request).corpus
    found = c.stories(since=since, until=until, outlet=outlet or None, entity=entity or None, q=q or None,
                      limit=PAGE + 1, offset=offset)
    params = {"since": since, "until": until, "outlet": outlet, "entity": entity, "q": q}
    return render(request, "stories.html", title="Stories", stories=found[:PAGE], params=params, offset=offset,
                  more=len(found) > PAGE, page=PAGE)


# ---- story page ---------------------------------------------------------------------------------------------------
@router.get("/stories/{story_id}", response_class=HTMLResponse)
def story_page(request: Request, story_id: str) -> Response:
    c = state_of(request).corpus
    s = found(c.story(story_id), f"story with id {story_id!r}")
    articles = sorted(c.articles(s.articles), key=lambda a: (str(a.published.value or ""), a.id))
    comparison, problem, stale = _comparison_and_age(request, story_id)
    return render(request, "story.html", title=s.title, story=s, **story_context(s, articles, comparison),
                  problem=problem, stale=stale)


def story_context(story: Story, articles: list[Article], comparison: StoryComparison | None) -> dict[str, Any]:
    order = [aid for aid in (comparison.articles if comparison is not None else []) if any(a.id == aid for a in articles)]
    order += [a.id for a in articles if a.id not in order]
    cite = {aid: i + 1 for i, aid in enumerate(order)}  # the compare stage's citation order: [1] is its first article
    by_id = {a.id: a for a in articles}
    by_outlet: dict[str, list[Article]] = defaultdict(list)
    for a in articles:
        by_outlet[outlet_key(a.outlet)].append(a)
    ctx: dict[str, Any] = {"articles": articles, "cite": cite, "by_id": by_id,
                           "known_outlets": {a.outlet for a in articles if a.outlet},
                           "by_outlet": sorted(by_outlet.items(), key=lambda kv: (-len(kv[1]), kv[0]))}
    if comparison is None:
        ctx.update(summary=[], groups=[], spread=spread_view([]), outlet_rows=[], shared=[], coverage=None,
                   framing=[], chart=timeline_chart(
            [(a.published.value, a.title or a.id, 1, f"#a-{cite[a.id]}") for a in articles if a.published.value]),
            timeline=[])
        return ctx
    fact_no = {f.id: i + 1 for i, f in enumerate(comparison.coverage.facts)}
    framing: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    for sig in comparison.framing:
        framing[outlet_key(sig.outlet)][(sig.kind, sig.value)] += 1
    cov = comparison.coverage
    # the coverage matrix is transposed: a row per fact several outlets report, a column per outlet (outlets are
    # few, facts many: it fits the width of a laptop and scrolls inside its box on a phone)
    shared = [j for j, f in enumerate(cov.facts) if len(f.outlets) > 1]
    events = [(e.date, e.label, len(e.articles), f"#a-{cite[e.articles[0]]}" if e.articles and e.articles[0] in cite
               else None) for e in comparison.timeline]
    outlet_rows = []
    for outlet, arts in sorted(by_outlet.items(), key=lambda kv: min(cite[a.id] for a in kv[1])):
        outlet_rows.append({"outlet": outlet, "articles": sorted(arts, key=lambda a: cite[a.id]),
                            "first": min((a.published.value for a in arts if a.published.value), default=None),
                            "languages": sorted({a.language for a in arts if a.language and a.language != "en"})})
    ctx.update(
        summary=comparison.summary,
        spread=spread_view(comparison.quote_groups),
        groups=comparison.quote_groups,
        outlet_rows=outlet_rows,
        coverage=comparison.coverage,
        shared=[(j, cov.facts[j], [_heat(cov, i, j) for i in range(len(cov.outlets))]) for j in shared],
        fact_no=fact_no,
        framing=sorted((o, sorted(cnt.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1]))) for o, cnt in
                       framing.items()),
        chart=timeline_chart(events),
        timeline=sorted(comparison.timeline, key=lambda e: e.date),
    )
    return ctx


def _heat(cov: Any, i: int, j: int) -> tuple[int, int]:
    """(reported 0/1, heat level 0-3) of outlet i and fact j: the level grows with the articles carrying it."""
    v = cov.matrix[i][j] if i < len(cov.matrix) and j < len(cov.matrix[i]) else 0
    n = cov.counts[i][j] if getattr(cov, "counts", None) and i < len(cov.counts) and j < len(cov.counts[i]) else v
    return (1 if v else 0), (0 if not v else 1 if n <= 1 else 2 if n == 2 else 3)


# ---- narratives ---------------------------------------------------------------------------------------------------
@router.get("/narratives", response_class=HTMLResponse)
def narrative_list(request: Request) -> Response:
    c = state_of(request).corpus
    ns = list(c.narratives())
    stories = {s.id: s for s in c.store.stories(ids=[sid for n in ns for sid in n.stories])} if ns else {}
    return render(request, "narratives.html", title="Narratives", narratives=ns, stories=stories)


@router.get("/narratives/{narrative_id}", response_class=HTMLResponse)
def narrative_page(request: Request, narrative_id: str) -> Response:
    c = state_of(request).corpus
    n = found(c.narrative(narrative_id), f"narrative with id {narrative_id!r}")
    stories = stories_in_time_order(c, n.stories)
    chart = timeline_chart([(s.first_seen, s.title, len(s.articles), f"/stories/{_u(s.id)}") for s in stories
                            if s.first_seen])
    # each story's opening summary sentences, from its comparison (cached in the store after the first view);
    # past NARRATIVE_SUMMARIES stories only the comparisons already cached are shown
    summaries: dict[str, list[SummarySentence]] = {}
    for i, s in enumerate(stories):
        comp, _ = _comparison(request, s.id, compute=i < NARRATIVE_SUMMARIES)
        if comp is not None and comp.summary:
            summaries[s.id] = comp.summary[:2]
    cited = {aid for sents in summaries.values() for sent in sents for aid in sent.citations}
    outlets = {a.id: a.outlet or "source" for a in c.store.articles(sorted(cited))} if cited else {}
    cites: dict[str, list[list[tuple[str, str]]]] = {}  # per story, per sentence: (article id, label)
    for sid, sents in summaries.items():
        for sent in sents:
            seen: Counter[str] = Counter()
            row = []
            for aid in sent.citations:
                if aid in outlets:
                    seen[outlets[aid]] += 1
                    k = seen[outlets[aid]]
                    row.append((aid, outlets[aid] if k == 1 else f"{outlets[aid]} {k}"))
            cites.setdefault(sid, []).append(row)
    return render(request, "narrative.html", title=n.title, narrative=n, stories=stories, chart=chart,
                  summaries=summaries, cites=cites)


# ---- quotes -------------------------------------------------------------------------------------------------------
@router.get("/quotes", response_class=HTMLResponse)
def quote_list(request: Request, speaker: TextQ = None, outlet: TextQ = None, q: TextQ = None, since: DateQ = None,
               offset: Offset = 0) -> Response:
    c = state_of(request).corpus
    found = c.quotes(speaker=speaker or None, outlet=outlet or None, q=q or None, since=since, limit=PAGE + 1,
                     offset=offset)
    groups = group_of_quotes(c, found)
    params = {"speaker": speaker, "outlet": outlet, "q": q, "since": since}
    return render(request, "quotes.html", title="Quotes", quotes=found[:PAGE], groups=groups, params=params,
                  offset=offset, more=len(found) > PAGE, page=PAGE)


@router.get("/quotes/{group_id:path}", response_class=HTMLResponse)
def quote_page(request: Request, group_id: str) -> Response:
    st = state_of(request)
    c = st.corpus
    g = st.quote_group(group_id)
    from storylens.model import QuoteGroup

    group = from_jsonable(QuoteGroup, g)
    # the first report on top, then the reports in the order they appeared (date, then time where known)
    first_id = group.first_quote or next((v.quote_id for v in group.variants if v.article_id == group.first_article),
                                         None)
    variants = sorted(group.variants, key=lambda v: v.quote_id != first_id)
    story = c.story(group.story_id) if group.story_id else None
    chart = timeline_chart([(v.published, f"{outlet_key(v.outlet)}: {', '.join(v.mutations) or 'verbatim'}", 1,
                             f"#v-{i + 1}") for i, v in enumerate(variants) if v.published])
    return render(request, "quote.html", title=f"Quote: {statement_text(group)[:60]}", group=group,
                  variants=variants, story=story, chart=chart, first_id=first_id)


# ---- entities -----------------------------------------------------------------------------------------------------
@router.get("/entities", response_class=HTMLResponse)
def entity_list(request: Request, type: TextQ = None, q: TextQ = None) -> Response:  # noqa: A002
    c = state_of(request).corpus
    counts = c.store.entity_article_counts()
    ents = list(c.entities(type=type or None))
    if q:
        k = q.casefold()
        ents = [e for e in ents if k in e.name.casefold() or any(k in a.casefold() for a in e.aliases)]
    ents.sort(key=lambda e: (-counts.get(e.id, 0), e.name))
    labels = sorted({e.label for e in c.entities()})
    return render(request, "entities.html", title="People and organisations", entities=ents[:500], counts=counts,
                  params={"type": type, "q": q}, labels=labels)


@router.get("/entities/{entity_id:path}", response_class=HTMLResponse)
def entity_page(request: Request, entity_id: str) -> Response:
    c = state_of(request).corpus
    info = found(c.entity(entity_id), f"entity with id or name {entity_id!r}")
    groups = group_of_quotes(c, info.quotes)
    by_story: dict[str | None, list[Any]] = defaultdict(list)
    for qt in info.quotes:
        by_story[qt.story_id].append(qt)
    stories = {s.id: s for s in c.store.stories(ids=[s for s in by_story if s])}
    story_list_ = c.stories(entity=info.entity.id, limit=50)
    arts = c.articles(info.articles[:200])
    return render(request, "entity.html", title=info.entity.name, info=info, groups=groups,
                  by_story=sorted(by_story.items(), key=lambda kv: str(kv[0])), stories=stories,
                  story_list=story_list_, articles=arts)


# ---- outlets ------------------------------------------------------------------------------------------------------
@router.get("/outlets", response_class=HTMLResponse)
def outlet_list(request: Request) -> Response:
    rows = state_of(request).corpus.store.outlets()
    return render(request, "outlets.html", title="Outlets", outlets=rows)


@router.get("/outlets/{name:path}", response_class=HTMLResponse)
def outlet_page(request: Request, name: str) -> Response:
    c = state_of(request).corpus
    row = found(next((r for r in c.store.outlets() if (r["outlet"] or "unknown").lower() == name.lower()), None),
                f"outlet named {name!r}")
    stories = c.stories(outlet=row["outlet"], limit=25) if row["outlet"] else []
    coverage = []
    signals: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], str] = {}
    for s in stories:
        comp, _ = _comparison(request, s.id)
        if comp is None:
            continue
        cov = comp.coverage
        outlets_lower = [o.lower() for o in cov.outlets]
        if row["outlet"].lower() in outlets_lower:
            i = outlets_lower.index(row["outlet"].lower())
            key = cov.outlets[i]
            coverage.append({"story": s, "reported": sum(cov.matrix[i]) if i < len(cov.matrix) else 0,
                             "facts": len(cov.facts), "exclusive": len(cov.exclusive.get(key, [])),
                             "omitted": len(cov.omitted.get(key, []))})
        for sig in comp.framing:
            if (sig.outlet or "").lower() == row["outlet"].lower():
                signals[(sig.kind, sig.value)] += 1
                if sig.sentence:
                    examples.setdefault((sig.kind, sig.value), sig.sentence)
    arts = c.articles(outlet=row["outlet"], limit=100) if row["outlet"] else []
    return render(request, "outlet.html", title=row["outlet"] or "unknown outlet", row=row, stories=stories,
                  coverage=coverage, signals=sorted(signals.items(), key=lambda kv: (kv[0][0], -kv[1])),
                  examples=examples, articles=arts)


# ---- articles -----------------------------------------------------------------------------------------------------
@router.get("/articles/{article_id:path}", response_class=HTMLResponse)
def article_page(request: Request, article_id: str) -> Response:
    c = state_of(request).corpus
    a = found(c.article(article_id), f"article with id {article_id!r}")
    story_id = c.store.story_of([a.id]).get(a.id)
    story = c.story(story_id) if story_id else None
    return render(request, "article.html", title=a.title or a.id, article=a, story=story,
                  paragraphs=segments(a.text, a.quotes))


def segments(text: str, quotes: list[Quote]) -> list[list[tuple[str, Quote | None]]]:
    """The text as paragraphs of (piece, quote or None), quotes marked where they do not overlap."""
    marks = []
    end = -1
    for q in sorted(quotes, key=lambda q: (q.start, -q.end)):
        if q.start >= end and 0 <= q.start < q.end <= len(text):
            marks.append(q)
            end = q.end
    pieces: list[tuple[str, Quote | None]] = []
    pos = 0
    for q in marks:
        if q.start > pos:
            pieces.append((text[pos:q.start], None))
        pieces.append((text[q.start:q.end], q))
        pos = q.end
    if pos < len(text):
        pieces.append((text[pos:], None))
    paras: list[list[tuple[str, Quote | None]]] = [[]]
    for piece, mark in pieces:
        if mark is not None:
            paras[-1].append((piece, mark))
            continue
        parts = piece.split("\n")
        for i, part in enumerate(parts):
            if i > 0 and (paras[-1] or part.strip()):
                paras.append([])
            if part:
                paras[-1].append((part, None))
    return [p for p in paras if any(s.strip() for s, _ in p)]


# ---- search -------------------------------------------------------------------------------------------------------
@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, q: Annotated[str, Query(max_length=500)] = "") -> Response:
    c = state_of(request).corpus
    res = None
    groups: dict[str, str] = {}
    if q.strip() and tokens(q):
        res = c.search(q, limit=50)
        groups = group_of_quotes(c, res.quotes)
    return render(request, "search.html", title=f"Search: {q}" if q else "Search", q=q, res=res, groups=groups)
