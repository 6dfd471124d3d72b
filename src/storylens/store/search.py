"""Full-text search over articles and quotes.

SQLite uses the FTS5 tables of migration ``0002_search`` (BM25 ranking, snippets); PostgreSQL the generated
``tsvector`` columns with GIN indexes (``ts_rank``, ``ts_headline``); any other back end falls back to ``LIKE``.
The user's query is reduced to word tokens (letters and digits, any script) before it reaches the database, and
every value is a bound parameter: no SQL is built from user input.  A token ending in ``*`` matches as a prefix;
all tokens must match.

Snippets mark matches with :data:`MARK_START` / :data:`MARK_END` (private-use characters) so that a page can escape
the text first and then turn the markers into ``<mark>`` elements.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import threading
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select, text

from storylens.store.schema import ArticleRow, QuoteRow

if TYPE_CHECKING:
    from storylens.store.db import Store

MARK_START = "\ue000"
MARK_END = "\ue001"
QUOTE_SPAN = 1 << 20
MAX_TOKENS = 16
QUOTE_COLS = "q.id, q.article_id, q.text, coalesce(q.speaker_name, q.speaker_text), a.outlet, a.published, a.story_id"
_TOKEN = re.compile(r"[^\W_]+\*?", re.UNICODE)


@dataclass(slots=True)
class ArticleHit:
    id: str
    title: str | None
    outlet: str | None
    published: dt.date | None
    story_id: str | None
    snippet: str
    score: float


@dataclass(slots=True)
class QuoteHit:
    id: str
    article_id: str
    text: str
    speaker: str | None
    outlet: str | None
    published: dt.date | None
    story_id: str | None
    snippet: str
    score: float


@dataclass(slots=True)
class SearchResults:
    query: str
    articles: list[ArticleHit] = field(default_factory=list)
    quotes: list[QuoteHit] = field(default_factory=list)


def tokens(query: str) -> list[tuple[str, bool]]:
    """The word tokens of a user query, each with whether it is a prefix (``word*``); at most MAX_TOKENS."""
    out: list[tuple[str, bool]] = []
    for m in _TOKEN.finditer(query):
        t = m.group(0)
        prefix = t.endswith("*")
        word = t.rstrip("*")
        if word:
            out.append((word, prefix))
    return out[:MAX_TOKENS]


def fts5_query(toks: list[tuple[str, bool]]) -> str:
    """An FTS5 MATCH expression: every token a quoted string (so no FTS operator can slip in), all required."""
    return " ".join(f'"{w}"' + ("*" if p else "") for w, p in toks)


def pg_tsquery(toks: list[tuple[str, bool]]) -> str:
    """A ``to_tsquery('simple', …)`` expression: tokens are letters and digits only, joined by ``&``."""
    return " & ".join(w.lower() + (":*" if p else "") for w, p in toks)


_HAS_INDEX: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()
_WATCH: weakref.WeakKeyDictionary[Any, tuple[sqlite3.Connection, threading.Lock]] = weakref.WeakKeyDictionary()


def generation(store: Store) -> int | None:
    """A number that changes whenever any connection, of this process or another, commits to the store: SQLite's
    ``data_version`` read on a connection of its own (it never writes, so every commit is another's).  None on
    other back ends and in-memory databases: no cheap equivalent, nothing may be cached by it."""
    database = store.engine.url.database
    if store.dialect != "sqlite" or not database or database == ":memory:":
        return None
    watch = _WATCH.get(store.engine)
    if watch is None:
        con = sqlite3.connect(f"file:{database}?mode=ro", uri=True, check_same_thread=False)
        watch = _WATCH[store.engine] = (con, threading.Lock())
    con, lock = watch
    with lock:
        return int(con.execute("PRAGMA data_version").fetchone()[0])


def has_index(store: Store) -> bool:
    """Whether the dialect-specific full-text index exists (it does after migration 0002 on SQLite/PostgreSQL)."""
    known = _HAS_INDEX.get(store.engine)
    if known is None:
        known = _HAS_INDEX[store.engine] = _probe(store)
    return known


def _probe(store: Store) -> bool:
    with store.engine.connect() as conn:
        if store.dialect == "sqlite":
            return conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'articles_fts'")).first() is not None
        if store.dialect == "postgresql":
            q = text("SELECT 1 FROM information_schema.columns WHERE table_name = 'articles' AND column_name = 'search_tsv'")
            return conn.execute(q).first() is not None
    return False


def _date(v: Any) -> dt.date | None:
    if v is None or isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v)[:10])


@dataclass(slots=True)
class _Fts:
    """What both searches start from: the query's tokens, the bound parameters and the index that answers."""

    toks: list[tuple[str, bool]]
    params: dict[str, Any]
    index: str  # "fts5" (SQLite), "tsvector" (PostgreSQL) or "like" (any other back end, or no index)


def _fts_params(store: Store, query: str, limit: int, offset: int) -> _Fts | None:
    """The tokens of ``query`` (None when it has none) and the parameters of the back end's full-text query."""
    toks = tokens(query)
    if not toks:
        return None
    params: dict[str, Any] = {"limit": limit, "offset": offset, "m1": MARK_START, "m2": MARK_END}
    if store.dialect == "sqlite" and has_index(store):
        params["q"] = fts5_query(toks)
        return _Fts(toks, params, "fts5")
    if store.dialect == "postgresql" and has_index(store):
        params["q"] = pg_tsquery(toks)
        return _Fts(toks, params, "tsvector")
    return _Fts(toks, params, "like")


def search_articles(store: Store, query: str, limit: int = 20, offset: int = 0) -> list[ArticleHit]:
    fts = _fts_params(store, query, limit, offset)
    if fts is None:
        return []
    toks, params = fts.toks, fts.params
    if fts.index == "fts5":
        # rank inside FTS5 first (cheap), then fetch and snippet only the page of hits: FTS5's snippet() over
        # every match of a common word costs ~40 ms at 10,000 articles
        top = text("SELECT rowid, article_id, bm25(articles_fts, 0.0, 4.0, 1.0) AS score FROM articles_fts "
                   "WHERE articles_fts MATCH :q ORDER BY score, rowid LIMIT :limit OFFSET :offset")
        with store.engine.connect() as conn:
            ranked = conn.execute(top, params).all()
            if not ranked:
                return []
            found = conn.execute(
                select(ArticleRow.seq, ArticleRow.id, ArticleRow.title, ArticleRow.outlet, ArticleRow.published,
                       ArticleRow.story_id, ArticleRow.text).where(ArticleRow.seq.in_([r[0] for r in ranked]))).all()
        by_key = {(r[0], r[1]): r for r in found}
        hits = []
        for seq, aid, score in ranked:
            r = by_key.get((seq, aid))
            if r is not None:
                hits.append(ArticleHit(id=r[1], title=r[2], outlet=r[3], published=_date(r[4]), story_id=r[5],
                                       snippet=snippet(r[6], toks), score=-float(score)))
        return hits
    if fts.index == "tsvector":
        params["opts"] = f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=40, MinWords=15, MaxFragments=2"
        sql = text(
            "SELECT a.id, a.title, a.outlet, a.published, a.story_id, "
            "ts_headline('simple'::regconfig, left(a.text, 100000), query, :opts) AS snip, "
            "ts_rank(a.search_tsv, query) AS score "
            "FROM articles a, to_tsquery('simple'::regconfig, :q) query "
            "WHERE a.search_tsv @@ query ORDER BY score DESC, a.seq LIMIT :limit OFFSET :offset")
        with store.engine.connect() as conn:
            rows = conn.execute(sql, params).all()
        return [ArticleHit(id=r[0], title=r[1], outlet=r[2], published=_date(r[3]), story_id=r[4], snippet=r[5],
                           score=float(r[6])) for r in rows]
    return _like_articles(store, toks, limit, offset)


def search_quotes(store: Store, query: str, limit: int = 20, offset: int = 0) -> list[QuoteHit]:
    fts = _fts_params(store, query, limit, offset)
    if fts is None:
        return []
    toks, params = fts.toks, fts.params
    if fts.index == "fts5":
        # as for articles: rank inside FTS5, then join and snippet only the page (snippet() over every match of a
        # common word, before the sort, cost 3x the ranking)
        sql = text(
            "SELECT " + QUOTE_COLS + ", snippet(quotes_fts, 2, :m1, :m2, '…', 32) AS snip, top.score FROM "
            "(SELECT rowid, quote_id, bm25(quotes_fts) AS score FROM quotes_fts WHERE quotes_fts MATCH :q "
            " ORDER BY score, rowid LIMIT :limit OFFSET :offset) top "
            "JOIN quotes_fts ON quotes_fts.rowid = top.rowid JOIN quotes q ON q.id = top.quote_id "
            "JOIN articles a ON a.id = q.article_id WHERE quotes_fts MATCH :q "
            "ORDER BY top.score, a.published, a.seq, q.start")
        with store.engine.connect() as conn:
            rows = conn.execute(sql, params).all()
        sign = -1.0
    elif fts.index == "tsvector":
        params["opts"] = f"StartSel={MARK_START}, StopSel={MARK_END}, HighlightAll=true"
        sql = text(
            "SELECT " + QUOTE_COLS + ", ts_headline('simple'::regconfig, q.text, query, :opts) AS snip, "
            "ts_rank(q.search_tsv, query) AS score "
            "FROM quotes q JOIN articles a ON a.id = q.article_id, to_tsquery('simple'::regconfig, :q) query "
            "WHERE q.search_tsv @@ query ORDER BY score DESC, a.published, a.seq, q.start LIMIT :limit OFFSET :offset")
        with store.engine.connect() as conn:
            rows = conn.execute(sql, params).all()
        sign = 1.0
    else:
        return _like_quotes(store, toks, limit, offset)
    return [QuoteHit(id=r[0], article_id=r[1], text=r[2], speaker=r[3], outlet=r[4], published=_date(r[5]),
                     story_id=r[6], snippet=r[7], score=sign * float(r[8])) for r in rows]


def search(store: Store, query: str, limit: int = 20, offset: int = 0) -> SearchResults:
    """Articles and quotes matching every word of ``query``, best first."""
    return SearchResults(query=query, articles=search_articles(store, query, limit, offset),
                         quotes=search_quotes(store, query, limit, offset))


def rebuild(store: Store) -> None:
    """Re-index everything (SQLite FTS5; PostgreSQL's generated columns need no rebuild)."""
    if store.dialect != "sqlite" or not has_index(store):
        return
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM articles_fts"))
        conn.execute(text("DELETE FROM quotes_fts"))
        conn.execute(text("INSERT INTO articles_fts(rowid, article_id, title, body) "
                          "SELECT seq, id, coalesce(title, ''), text FROM articles"))
        conn.execute(text(
            "INSERT INTO quotes_fts(rowid, quote_id, article_id, body) SELECT a.seq * :span + "
            "(SELECT count(*) FROM quotes q2 WHERE q2.article_id = q.article_id AND q2.rowid < q.rowid), "
            "q.id, q.article_id, q.text FROM quotes q JOIN articles a ON a.id = q.article_id"), {"span": QUOTE_SPAN})


def snippet(body: str, toks: list[tuple[str, bool]], width: int = 200) -> str:
    """A window of ``body`` around the first match of any token, every match marked (tokens are letters and
    digits only, and escaped before they reach the pattern)."""
    alts = [re.escape(w) + (r"\w*" if p else r"(?!\w)") for w, p in toks]
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(alts) + ")", re.IGNORECASE)
    m = pattern.search(body)
    pos = m.start() if m else 0
    start = max(0, pos - width // 3)
    if start:
        space = body.find(" ", start, pos)
        start = space + 1 if space >= 0 else start
    end = min(len(body), start + width)
    if end < len(body):
        space = body.rfind(" ", pos, end)
        end = space if space > pos else end
    piece = pattern.sub(lambda x: MARK_START + x.group(0) + MARK_END, body[start:end])
    return ("…" if start else "") + piece + ("…" if end < len(body) else "")


# ---- fallback: LIKE over the plain columns (any SQLAlchemy back end) --------------------------------------------


def _like_snippet(body: str, words: list[str], width: int = 160) -> str:
    low = body.lower()
    pos = min((i for i in (low.find(w) for w in words) if i >= 0), default=0)
    start = max(0, pos - width // 2)
    piece = body[start:start + width]
    for w in sorted(set(words), key=len, reverse=True):
        piece = re.sub(re.escape(w), lambda m: MARK_START + m.group(0) + MARK_END, piece, flags=re.IGNORECASE)
    return ("…" if start else "") + piece + ("…" if start + width < len(body) else "")


def _like_articles(store: Store, toks: list[tuple[str, bool]], limit: int, offset: int) -> list[ArticleHit]:
    words = [w.lower() for w, _ in toks]
    stmt = select(ArticleRow.id, ArticleRow.title, ArticleRow.outlet, ArticleRow.published, ArticleRow.story_id,
                  ArticleRow.text).order_by(ArticleRow.seq)
    for w in words:
        like = f"%{w}%"
        stmt = stmt.where(or_(func.lower(ArticleRow.text).like(like), func.lower(ArticleRow.title).like(like)))
    with store.session() as s:
        rows = s.execute(stmt.limit(limit).offset(offset)).all()
    return [ArticleHit(id=r[0], title=r[1], outlet=r[2], published=r[3], story_id=r[4],
                       snippet=_like_snippet(r[5], words), score=0.0) for r in rows]


def _like_quotes(store: Store, toks: list[tuple[str, bool]], limit: int, offset: int) -> list[QuoteHit]:
    words = [w.lower() for w, _ in toks]
    stmt = (select(QuoteRow.id, QuoteRow.article_id, QuoteRow.text,
                   func.coalesce(QuoteRow.speaker_name, QuoteRow.speaker_text), ArticleRow.outlet, ArticleRow.published,
                   ArticleRow.story_id)
            .join(ArticleRow, ArticleRow.id == QuoteRow.article_id).order_by(ArticleRow.published, ArticleRow.seq))
    for w in words:
        stmt = stmt.where(func.lower(QuoteRow.text).like(f"%{w}%"))
    with store.session() as s:
        rows = s.execute(stmt.limit(limit).offset(offset)).all()
    return [QuoteHit(id=r[0], article_id=r[1], text=r[2], speaker=r[3], outlet=r[4], published=r[5], story_id=r[6],
                     snippet=_like_snippet(r[2], words), score=0.0) for r in rows]
