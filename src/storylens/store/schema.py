"""SQLAlchemy 2 schema of the store.  Changes go through Alembic migrations (``store/migrations``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class SourceRow(Base):
    """Where articles come from: a file, a directory, a URL, a feed, the API."""

    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    location: Mapped[str] = mapped_column(Text, unique=True)
    first_seen: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class IngestionRunRow(Base):
    __tablename__ = "ingestion_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    inputs: Mapped[list[Any]] = mapped_column(JSON, default=list)
    n_new: Mapped[int] = mapped_column(Integer, default=0)
    n_duplicate: Mapped[int] = mapped_column(Integer, default=0)
    n_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    n_rejected: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="running")


class ItemErrorRow(Base):
    __tablename__ = "item_errors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("ingestion_runs.id"), nullable=True, index=True)
    source: Mapped[str] = mapped_column(Text)
    stage: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ArticleRow(Base):
    __tablename__ = "articles"
    id: Mapped[str] = mapped_column(String(512), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, index=True)  # arrival order, for deterministic replays
    source: Mapped[str] = mapped_column(Text)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"), nullable=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("ingestion_runs.id"), nullable=True)
    url: Mapped[str | None] = mapped_column(Text, nullable=True)
    title: Mapped[str | None] = mapped_column(Text, nullable=True)
    outlet: Mapped[str | None] = mapped_column(String(256), nullable=True, index=True)
    published: Mapped[dt.date | None] = mapped_column(Date, nullable=True, index=True)
    published_source: Mapped[str] = mapped_column(String(16), default="unknown")
    published_inferred: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    duplicate_of: Mapped[str | None] = mapped_column(String(512), nullable=True, index=True)
    duplicate_kind: Mapped[str | None] = mapped_column(String(8), nullable=True)
    story_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    minhash: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)  # the whole Article record (model.to_jsonable)
    ingested_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class EntityRow(Base):
    __tablename__ = "entities"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(512), index=True)
    label: Mapped[str] = mapped_column(String(32), index=True)
    aliases: Mapped[list[Any]] = mapped_column(JSON, default=list)
    evidence: Mapped[list[Any]] = mapped_column(JSON, default=list)


class EntityMentionRow(Base):
    __tablename__ = "entity_mentions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[str] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    entity_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    text: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(32))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)


class QuoteRow(Base):
    __tablename__ = "quotes"
    id: Mapped[str] = mapped_column(String(600), primary_key=True)
    article_id: Mapped[str] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    speaker_name: Mapped[str | None] = mapped_column(String(512), nullable=True, index=True)
    speaker_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    speaker_entity_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    cue: Mapped[str | None] = mapped_column(Text, nullable=True)


class EmbeddingRow(Base):
    __tablename__ = "embeddings"
    article_id: Mapped[str] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    model: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class StoryRow(Base):
    __tablename__ = "stories"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    first_seen: Mapped[dt.date | None] = mapped_column(Date, nullable=True, index=True)
    last_seen: Mapped[dt.date | None] = mapped_column(Date, nullable=True, index=True)
    keywords: Mapped[list[Any]] = mapped_column(JSON, default=list)
    outlets: Mapped[list[Any]] = mapped_column(JSON, default=list)
    n_articles: Mapped[int] = mapped_column(Integer, default=0)
    narrative_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class StoryMergeRow(Base):
    __tablename__ = "story_merges"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kept: Mapped[str] = mapped_column(String(64))
    merged: Mapped[str] = mapped_column(String(64))
    bridge_article: Mapped[str] = mapped_column(String(512))
    score: Mapped[float] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class NarrativeRow(Base):
    __tablename__ = "narratives"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    stories: Mapped[list[Any]] = mapped_column(JSON, default=list)
    keywords: Mapped[list[Any]] = mapped_column(JSON, default=list)


class ComparisonRow(Base):
    """Cached compare-stage output of one story, invalidated when the story changes."""

    __tablename__ = "comparisons"
    story_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    story_updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class QuoteGroupRow(Base):
    __tablename__ = "quote_groups"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    story_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    canonical: Mapped[str] = mapped_column(Text)
    speaker: Mapped[str | None] = mapped_column(String(512), nullable=True, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class StateRow(Base):
    """Opaque state of streaming components (story assigner, learned furniture), with a version counter."""

    __tablename__ = "state"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class StoryStateRow(Base):
    """The streaming assigner's state of one story (storylens.stories.stream); its members' signals in
    ``story_members``.  Closed stories are found again by ``story_keys``."""

    __tablename__ = "story_states"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    closed: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    first: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    last: Mapped[dt.date | None] = mapped_column(Date, nullable=True, index=True)
    last_arrival: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)


class StoryMemberRow(Base):
    """One article's story signals (storylens.stories.signals), as the stream computed them on arrival."""

    __tablename__ = "story_members"
    article_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    story_id: Mapped[str] = mapped_column(String(64), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)  # arrival order within the story
    best_lex: Mapped[float] = mapped_column(Float, default=0.0)
    best_emb: Mapped[float] = mapped_column(Float, default=0.0)
    best_xemb: Mapped[float] = mapped_column(Float, default=0.0)
    compared: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class StoryKeyRow(Base):
    """Lookup keys (rare names and terms) of a closed story."""

    __tablename__ = "story_keys"
    key: Mapped[str] = mapped_column(String(256), primary_key=True)
    story_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class StorySummaryRow(Base):
    """What narrative linking knows of a story (storylens.stories.narratives.StorySummary)."""

    __tablename__ = "story_summaries"
    story_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class StoryNameRow(Base):
    """A story's main names, which find the stories it may share a narrative with."""

    __tablename__ = "story_names"
    key: Mapped[str] = mapped_column(String(256), primary_key=True)
    story_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class NarrativeSummaryRow(Base):
    """The sum of a narrative's story summaries (storylens.stories.narratives.NarrativeState)."""

    __tablename__ = "narrative_summaries"
    narrative_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class StreamDocFreqRow(Base):
    """The stream's background document frequencies (a hashed table, stored by non-empty bucket)."""

    __tablename__ = "stream_df"
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer, default=0)


class FurnitureLineRow(Base):
    """One line key of the learned furniture model (storylens.clean.furniture.FurnitureModel): furniture, or a
    candidate with the keys of the articles it was seen in (comma-separated, fewer than the model's threshold)."""

    __tablename__ = "furniture_lines"
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    furniture: Mapped[bool] = mapped_column(Boolean, default=False)
    articles: Mapped[str] = mapped_column(Text, default="")


Index("ix_quotes_article_start", QuoteRow.article_id, QuoteRow.start)
