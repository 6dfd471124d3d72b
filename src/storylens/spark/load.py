"""``storylens load DIR``: the Spark runner's Parquet tables into a store (SQLite or PostgreSQL).

Reads the tables with pyarrow (no Spark needed), in batches; each batch of articles is one transaction that
writes the articles with their mentions, quotes and embeddings (an article already in the store is replaced),
so an interrupted load leaves whole articles and a re-run completes it.  Stories, canonical entities, quote
groups and errors follow; narratives are then linked by the local runner over the loaded stories.  The story
assigner's streaming state is rebuilt from the store by the next ``storylens ingest``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from storylens.model import Story, article_from_jsonable
from storylens.store import Store
from storylens.store.postgres import pg_safe
from storylens.store.schema import (
    ArticleRow,
    EmbeddingRow,
    EntityMentionRow,
    EntityRow,
    IngestionRunRow,
    ItemErrorRow,
    QuoteGroupRow,
    QuoteRow,
    SourceRow,
    StoryRow,
    utcnow,
)

EMBED_MODEL = "use-multilingual-v3"


@dataclass(slots=True)
class LoadReport:
    counts: dict[str, int] = field(default_factory=dict)
    run_id: int | None = None

    def summary(self) -> str:
        c = self.counts
        return (f"{c.get('articles', 0)} articles, {c.get('quotes', 0)} quotes, {c.get('stories', 0)} stories, "
                f"{c.get('entities', 0)} entities, {c.get('quote_groups', 0)} quote groups, "
                f"{c.get('errors', 0)} errors loaded")


@dataclass(slots=True)
class _Tables:
    """Where the tables are: a pyarrow file system (local, ``file://``, ``s3://``, ``gs://``, ``hdfs://``, …) and
    the directory on it."""

    fs: Any
    root: str

    @classmethod
    def at(cls, directory: str | Path) -> _Tables:
        import pyarrow.fs as pafs

        text = str(directory)
        if "://" in text:
            try:
                fs, path = pafs.FileSystem.from_uri(text)
            except Exception as e:  # noqa: BLE001 - pyarrow's message names the scheme or the missing library
                raise FileNotFoundError(f"cannot open {text}: {e}") from e
            return cls(fs, path.rstrip("/") or "/")
        return cls(pafs.LocalFileSystem(), str(Path(text).resolve()))

    def has(self, table: str) -> bool:
        import pyarrow.fs as pafs

        return bool(self.fs.get_file_info(f"{self.root}/{table}").type != pafs.FileType.NotFound)


def _batches(tables: _Tables, table: str, batch_size: int, columns: list[str] | None = None
             ) -> Iterator[list[dict[str, Any]]]:
    import pyarrow.dataset as ds

    if not tables.has(table):
        return
    dataset = ds.dataset(f"{tables.root}/{table}", format="parquet", filesystem=tables.fs)
    names = [c for c in (columns or dataset.schema.names) if c in dataset.schema.names]
    for batch in dataset.to_batches(columns=names, batch_size=batch_size):
        rows = batch.to_pylist()
        if rows:
            yield rows


def _date(v: Any) -> dt.date | None:
    if v is None or isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v)[:10])


def load(directory: str | Path, store: Store, batch_size: int = 500,
         on_progress: Callable[[str, int], None] | None = None) -> LoadReport:
    """Load the Parquet tables under ``directory`` (as written by ``storylens spark``) into ``store``: a local
    path or any URI pyarrow opens (``s3://bucket/out``, ``gs://…``, ``hdfs://namenode/out``)."""
    d = _Tables.at(directory)
    if not d.has("articles"):
        raise FileNotFoundError(f"{directory} has no `articles` table: is it the --out directory of `storylens spark`?")
    report = LoadReport(run_id=store.start_run([f"spark:{directory}"]))
    counts = report.counts
    for key in ("articles", "duplicates", "quotes", "mentions", "stories", "entities", "quote_groups", "errors"):
        counts[key] = 0
    sources: dict[str, int] = {}
    status = "done"
    pg = store.dialect == "postgresql"
    try:
        with store.session() as s:
            next_seq = int(s.scalar(select(func.coalesce(func.max(ArticleRow.seq), 0))) or 0) + 1
        cols = ["id", "ordinal", "story_id", "record", "minhash", "embedding"]
        # the articles in input order give the same `seq` order as a local ingest of the same input
        rows_all: list[tuple[list[int], dict[str, Any]]] = []
        for rows in _batches(d, "articles", batch_size, ["id", "ordinal"]):
            rows_all += [(r["ordinal"] or [], r) for r in rows]
        seq_of = {r["id"]: next_seq + i for i, (_, r) in enumerate(sorted(rows_all, key=lambda p: p[0]))}
        del rows_all
        for rows in _batches(d, "articles", batch_size, cols):
            with store.session.begin() as s:
                ids = [r["id"] for r in rows]
                s.execute(delete(EntityMentionRow).where(EntityMentionRow.article_id.in_(ids)))
                s.execute(delete(QuoteRow).where(QuoteRow.article_id.in_(ids)))
                s.execute(delete(EmbeddingRow).where(EmbeddingRow.article_id.in_(ids)))
                s.execute(delete(ArticleRow).where(ArticleRow.id.in_(ids)))
                arts, mentions, quotes, embeds = [], [], [], []
                for r in rows:
                    rec = json.loads(r["record"])
                    a = article_from_jsonable(rec)
                    loc = a.source.split("#", 1)[0]
                    if loc not in sources:
                        sources[loc] = _source(s, loc)
                    arts.append(dict(
                        id=a.id, seq=seq_of[a.id], source=a.source, source_id=sources[loc], run_id=report.run_id,
                        url=a.url, title=a.title, outlet=a.outlet, published=a.published.value,
                        published_source=a.published.source, published_inferred=a.published.inferred,
                        language=a.language, text=a.text, content_hash=a.content_hash, duplicate_of=a.duplicate_of,
                        duplicate_kind=a.duplicate_kind, story_id=r.get("story_id"), minhash=r.get("minhash"),
                        record=rec, ingested_at=utcnow()))
                    mentions += [dict(article_id=a.id, entity_id=m.entity_id, text=m.text, label=m.label,
                                      start=m.start, end=m.end) for m in a.entities]
                    for i, q in enumerate(a.quotes):
                        sp = q.speaker
                        quotes.append(dict(id=q.id or f"{a.id}:q{i}", article_id=a.id, text=q.text, kind=q.kind,
                                           start=q.start, end=q.end, speaker_name=sp.name if sp else None,
                                           speaker_text=sp.text if sp else None,
                                           speaker_entity_id=sp.entity_id if sp else None,
                                           cue=q.cue.text if q.cue else None))
                    if r.get("embedding") is not None:
                        embeds.append(dict(article_id=a.id, model=EMBED_MODEL, data=r["embedding"]))
                    counts["duplicates"] += a.duplicate_of is not None
                if pg:
                    arts, mentions, quotes = pg_safe(arts), pg_safe(mentions), pg_safe(quotes)
                s.execute(insert(ArticleRow), arts)
                if mentions:
                    s.execute(insert(EntityMentionRow), mentions)
                if quotes:
                    s.execute(insert(QuoteRow), quotes)
                if embeds:
                    s.execute(insert(EmbeddingRow), embeds)
            counts["articles"] += len(rows)
            counts["quotes"] += len(quotes)
            counts["mentions"] += len(mentions)
            if on_progress:
                on_progress("articles", len(rows))

        for rows in _batches(d, "canonical_entities", batch_size):
            with store.session.begin() as s:
                s.execute(delete(EntityRow).where(EntityRow.id.in_([r["id"] for r in rows])))
                s.execute(insert(EntityRow), _safe(pg, [dict(id=r["id"], name=r["name"], label=r["label"],
                                                   aliases=list(r.get("aliases") or []),
                                                   evidence=list(r.get("evidence") or [])) for r in rows]))
            counts["entities"] += len(rows)

        for rows in _batches(d, "stories", batch_size):
            with store.session.begin() as s:
                ids = [r["id"] for r in rows]
                s.execute(delete(StoryRow).where(StoryRow.id.in_(ids)))
                for r in rows:
                    st = Story(r["id"], r["title"] or "", list(r["articles"] or []), _date(r.get("first_seen")),
                               _date(r.get("last_seen")), list(r.get("keywords") or []), list(r.get("outlets") or []))
                    s.add(StoryRow(id=st.id, title=st.title, first_seen=st.first_seen, last_seen=st.last_seen,
                                   keywords=st.keywords, outlets=st.outlets, n_articles=len(st.articles),
                                   updated_at=utcnow()))
                    if st.articles:
                        s.execute(update(ArticleRow).where(ArticleRow.id.in_(st.articles)).values(story_id=st.id))
            counts["stories"] += len(rows)

        for rows in _batches(d, "quote_groups", batch_size):
            with store.session.begin() as s:
                s.execute(delete(QuoteGroupRow).where(QuoteGroupRow.id.in_([r["id"] for r in rows])))
                s.execute(insert(QuoteGroupRow), _safe(pg, [dict(id=r["id"], story_id=r.get("story_id"), canonical=r["canonical"],
                                                       speaker=r.get("speaker"), data=json.loads(r["data"]))
                                                  for r in rows]))
            counts["quote_groups"] += len(rows)

        for rows in _batches(d, "errors", batch_size):
            with store.session.begin() as s:
                s.execute(insert(ItemErrorRow), _safe(pg, [dict(run_id=report.run_id, source=r["source"], stage=r["stage"],
                                                      reason=r["reason"], created_at=utcnow()) for r in rows]))
            counts["errors"] += len(rows)
        # the streaming assigner's state no longer matches the store: the next ingest replays it
        store.put_state("story_assigner:n", b"-1")
    except BaseException:
        status = "interrupted"
        raise
    finally:
        store.finish_run(report.run_id or 0, {"new": counts.get("articles", 0) - counts.get("duplicates", 0),
                                               "duplicate": counts.get("duplicates", 0),
                                               "rejected": counts.get("errors", 0)}, status)
    return report


def _safe(pg: bool, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return list(pg_safe(rows)) if pg else rows


def _source(s: Any, loc: str) -> int:
    kind = "url" if loc.startswith(("http://", "https://")) else "file"
    row = s.scalar(select(SourceRow).where(SourceRow.location == loc))
    if row is None:
        row = SourceRow(kind=kind, location=loc)
        s.add(row)
        s.flush()
    return int(row.id)


def link_narratives(store: Store) -> int:
    """Narratives over the loaded stories (the local runner's step); 0 when the stories stage is unavailable."""
    from storylens.pipeline import Runner

    try:
        Runner(store).link_narratives()
    except ImportError:
        return 0
    return len(store.narratives())


__all__ = ["IngestionRunRow", "LoadReport", "link_narratives", "load"]
