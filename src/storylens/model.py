"""Typed records that flow between the pipeline stages.

Every stage is a plain function over these records; none of them touches the database, the network or the
terminal.  Offsets (``start``/``end``) always index :attr:`Article.text`, the cleaned body that is shown.
The JSON contract of ``storylens analyze`` / ``storylens cluster`` is produced from these records by
:func:`article_contract` and :func:`clusters_contract`; fields may be added, never renamed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

T = TypeVar("T")

QuoteKind = Literal["direct", "partial", "indirect"]



def shift_date(d: dt.date, days: int) -> dt.date:
    """``d`` moved by ``days``, held at the calendar's ends (9999-12-31 plus a week is 9999-12-31): an article may
    carry any date, and a window around it must not overflow."""
    try:
        return d + dt.timedelta(days=days)
    except OverflowError:
        return dt.date.max if days > 0 else dt.date.min

@dataclass(slots=True)
class RawDocument:
    """What every reader yields: one document before cleaning.

    ``source`` is where it came from (a path, ``path#line`` for JSONL, a URL, ``warc-path#record``);
    ``id`` is the input's own id when it has one.  Exactly one of ``text`` / ``html`` is normally set.
    """

    source: str
    id: str | None = None
    url: str | None = None
    title: str | None = None
    text: str | None = None
    html: str | None = None
    published: str | None = None
    outlet: str | None = None
    language: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The id used in outputs: the input id, else the source."""
        return self.id or self.source


@dataclass(slots=True)
class ReadError:
    """A per-item failure reported by a reader or a stage; the batch goes on."""

    source: str
    reason: str
    stage: str = "read"


@dataclass(slots=True)
class Span:
    start: int
    end: int
    text: str


@dataclass(slots=True)
class Paragraph:
    start: int
    end: int
    language: str | None = None


@dataclass(slots=True)
class RemovedLine:
    """A line of page furniture removed by cleaning, with the rule that removed it."""

    text: str
    rule: str


@dataclass(slots=True)
class DateMention:
    """A date expression in the text ("on Monday", "June 16") resolved against the publication date."""

    text: str
    start: int
    end: int
    value: dt.date | None


@dataclass(slots=True)
class PublishedDate:
    value: dt.date | None = None
    source: Literal["metadata", "dateline", "text", "unknown"] = "unknown"
    inferred: bool = False
    evidence: str | None = None


@dataclass(slots=True)
class EntityMention:
    text: str
    start: int
    end: int
    label: str  # PERSON, ORG, GPE/LOC, DATE, LAW, NORP, ...
    entity_id: str | None = None  # canonical entity id, shared across articles
    name: str | None = None  # canonical name


@dataclass(slots=True)
class SpeakerRef:
    name: str | None  # canonical name, or None when unresolved
    text: str
    start: int
    end: int
    entity_id: str | None = None


@dataclass(slots=True)
class Quote:
    text: str
    start: int
    end: int
    kind: QuoteKind
    speaker: SpeakerRef | None = None
    cue: Span | None = None
    id: str | None = None  # "<article id>:q<n>", set by the analyzer
    # the stretches in quote marks when they are not the whole span: the parts of a quote its attribution
    # interrupts ("A," she said, "B."), or the quoted words of a reported clause ("said the port pursues a “dual
    # track”": start/end span the clause); ``text`` then joins them.  Empty: one contiguous span
    segments: list[Span] = field(default_factory=list)


@dataclass(slots=True)
class Article:
    """One cleaned, detected article; analysis fills ``sentences``, ``entities`` and ``quotes``."""

    id: str
    source: str
    text: str
    title: str | None = None
    url: str | None = None
    outlet: str | None = None
    outlet_evidence: str | None = None
    published: PublishedDate = field(default_factory=PublishedDate)
    language: str | None = None
    dateline: str | None = None
    paragraphs: list[Paragraph] = field(default_factory=list)
    removed: list[RemovedLine] = field(default_factory=list)
    date_mentions: list[DateMention] = field(default_factory=list)
    content_hash: str = ""
    duplicate_of: str | None = None
    duplicate_kind: Literal["exact", "near"] | None = None
    sentences: list[Span] = field(default_factory=list)
    entities: list[EntityMention] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Entity:
    """A canonical real-world entity across the whole store."""

    id: str
    name: str
    label: str
    aliases: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)  # why each alias was merged


@dataclass(slots=True)
class Story:
    id: str
    title: str
    articles: list[str]
    first_seen: dt.date | None = None
    last_seen: dt.date | None = None
    keywords: list[str] = field(default_factory=list)
    outlets: list[str] = field(default_factory=list)


@dataclass(slots=True)
class StoryMerge:
    kept: str
    merged: str
    bridge_article: str
    score: float


@dataclass(slots=True)
class Narrative:
    id: str
    title: str
    stories: list[str]
    keywords: list[str] = field(default_factory=list)


# ---- compare ------------------------------------------------------------------------------------------

MutationKind = Literal[
    "identical", "cut", "extended", "words_changed", "words_inserted", "name_changed", "tense_changed",
    "translated", "paraphrased", "speaker_changed",
]


@dataclass(slots=True)
class DiffOp:
    op: Literal["equal", "delete", "insert", "replace"]
    canonical: str  # words of the canonical text in this op
    variant: str  # words of the variant in this op


@dataclass(slots=True)
class QuoteChange:
    """One change of a report against the first report of its statement: the words before and after, and where
    (``start``/``end`` index the variant's article text; equal for words that were dropped).  JSON: ``from``/``to``."""

    kind: MutationKind
    from_: str = field(default="", metadata={"json": "from"})
    to: str = ""
    start: int | None = None
    end: int | None = None


@dataclass(slots=True)
class QuoteVariant:
    quote_id: str  # the quote's id; ``<quote id>@<start>-<end>`` when the variant is one statement of a longer quote
    article_id: str
    outlet: str | None
    published: dt.date | None
    text: str
    kind: QuoteKind
    speaker: str | None
    mutations: list[MutationKind] = field(default_factory=list)  # kinds of change against the first report
    diff: list[DiffOp] = field(default_factory=list)  # ops tiling ``text``, against the first report
    similarity: float = 1.0
    details: list[str] = field(default_factory=list)  # compare: each change in words ("name: Harbour Act → ...")
    # compare (additive): the statement's span in the article text, and each change against the first report
    start: int | None = None
    end: int | None = None
    changes: list[QuoteChange] = field(default_factory=list)


@dataclass(slots=True)
class QuoteGroup:
    id: str
    canonical: str
    speaker: str | None
    variants: list[QuoteVariant]
    first_outlet: str | None = None
    first_article: str | None = None
    first_published: dt.date | None = None
    story_id: str | None = None
    canonical_article: str | None = None  # compare: the article and quote whose text is canonical (the longest)
    canonical_quote: str | None = None
    statement: str | None = None  # compare: the statement as first reported (what every change is measured against)
    first_quote: str | None = None  # compare: the variant id (``quote_id``) of the first report


@dataclass(slots=True)
class FactMention:
    article_id: str
    outlet: str | None
    sentence: str
    start: int
    end: int


@dataclass(slots=True)
class Fact:
    id: str
    text: str  # the representative sentence
    mentions: list[FactMention]
    outlets: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Conflict:
    fact_id: str
    kind: Literal["number", "date", "name"]
    values: dict[str, list[str]]  # outlet -> values
    evidence: dict[str, list[str]] = field(default_factory=dict)  # compare: outlet -> the sentences holding the values


@dataclass(slots=True)
class Coverage:
    outlets: list[str]
    facts: list[Fact]
    matrix: list[list[int]]  # outlets x facts, 1 when the outlet reports the fact
    exclusive: dict[str, list[str]]  # outlet -> fact ids only it reports
    omitted: dict[str, list[str]]  # outlet -> widely reported fact ids it leaves out
    conflicts: list[Conflict] = field(default_factory=list)
    counts: list[list[int]] = field(default_factory=list)  # compare: outlets x facts, articles carrying the fact


@dataclass(slots=True)
class FramingSignal:
    article_id: str
    outlet: str | None
    kind: Literal["attribution_verb", "unattributed_evaluation", "quote_share", "loaded_word"]
    value: str
    sentence: str | None = None
    start: int | None = None
    end: int | None = None
    speaker: str | None = None  # compare: the speaker an attribution verb is used for


@dataclass(slots=True)
class SummarySentence:
    text: str
    citations: list[str]  # article ids
    fact_id: str | None = None


@dataclass(slots=True)
class TimelineEvent:
    date: dt.date
    label: str
    articles: list[str]
    quotes: list[str] = field(default_factory=list)
    evidence: str | None = None
    kind: str = "event"  # compare: "published" (articles appear) or "event" (a date resolved from the text)
    story_id: str | None = None  # compare: set on narrative timelines


@dataclass(slots=True)
class StoryComparison:
    story_id: str
    quote_groups: list[QuoteGroup]
    coverage: Coverage
    framing: list[FramingSignal]
    summary: list[SummarySentence]
    timeline: list[TimelineEvent]
    # compare (additive): title, article ids in citation order ([1] is articles[0]), optional abstractive summary
    title: str | None = None
    articles: list[str] = field(default_factory=list)
    abstract: list[SummarySentence] = field(default_factory=list)
    version: int = 0  # compare: the format of the comparison (a cached one of another version is recomputed)


@dataclass(slots=True)
class StorySummary:
    """One story of a narrative: its dates and cited summary."""

    story_id: str
    title: str
    first_seen: dt.date | None
    last_seen: dt.date | None
    summary: list[SummarySentence]
    articles: list[str] = field(default_factory=list)


@dataclass(slots=True)
class NarrativeComparison:
    """A narrative across stories: per-story summaries in time order, one timeline, quotes recurring across stories."""

    narrative_id: str
    title: str
    stories: list[StorySummary]
    timeline: list[TimelineEvent]
    quote_groups: list[QuoteGroup] = field(default_factory=list)
    articles: list[str] = field(default_factory=list)  # citation order over the whole narrative


# ---- serialisation ------------------------------------------------------------------------------------


def to_jsonable(obj: Any) -> Any:
    """Dataclasses, dates and containers to plain JSON values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.metadata.get("json", f.name): to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dt.datetime | dt.date):
        return obj.isoformat()
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    return obj


def article_contract(a: Article) -> dict[str, Any]:
    """The public per-article object of ``storylens analyze --format jsonl`` (DESIGN.md)."""
    return {
        "id": a.id,
        "source": a.source,
        "title": a.title,
        "outlet": a.outlet,
        "published": a.published.value.isoformat() if a.published.value else None,
        "language": a.language,
        "text": a.text,
        "duplicate_of": a.duplicate_of,
        "entities": [
            {"text": e.text, "start": e.start, "end": e.end, "label": e.label, "entity_id": e.entity_id,
             "name": e.name}
            for e in a.entities
        ],
        "quotes": [
            {
                "text": q.text, "start": q.start, "end": q.end, "kind": q.kind,
                "speaker": None if q.speaker is None else {
                    "name": q.speaker.name, "text": q.speaker.text, "start": q.speaker.start, "end": q.speaker.end},
                "cue": None if q.cue is None else {"text": q.cue.text, "start": q.cue.start, "end": q.cue.end},
                # added field: the stretches in quote marks, present only when they are not the whole span
                **({"segments": [{"start": g.start, "end": g.end} for g in q.segments]}
                   if q.segments and [(g.start, g.end) for g in q.segments] != [(q.start, q.end)] else {}),
            }
            for q in a.quotes
        ],
        # additive fields beyond the contract
        "published_inferred": a.published.inferred,
        "published_evidence": a.published.evidence,
        "dateline": a.dateline,
        "url": a.url,
    }


def clusters_contract(stories: list[Story], narratives: list[Narrative]) -> dict[str, Any]:
    """The public object of ``storylens cluster --format json`` (DESIGN.md)."""
    return {
        "stories": [
            {"id": s.id, "title": s.title, "articles": list(s.articles),
             "first_seen": s.first_seen.isoformat() if s.first_seen else None,
             "last_seen": s.last_seen.isoformat() if s.last_seen else None,
             "keywords": s.keywords, "outlets": s.outlets}
            for s in stories
        ],
        "narratives": [
            {"id": n.id, "title": n.title, "stories": list(n.stories), "keywords": n.keywords} for n in narratives
        ],
    }


def _decode(tp: Any, value: Any) -> Any:
    """Rebuild a value of annotated type ``tp`` from its JSON form (the inverse of :func:`to_jsonable`)."""
    import types
    import typing

    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decode(args[0], value) if len(args) == 1 else value
    if origin is typing.Literal:
        return value
    if origin in (list, tuple):
        (inner, *_) = typing.get_args(tp) or (Any,)
        return [_decode(inner, v) for v in value]
    if origin is dict:
        _, inner = typing.get_args(tp) or (Any, Any)
        return {k: _decode(inner, v) for k, v in value.items()}
    if tp is dt.date and isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    if tp is dt.datetime and isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return from_jsonable(tp, value)
    return value


@functools.cache
def _fields_of(cls: type) -> tuple[tuple[str, str, Any], ...]:
    """(field name, JSON name, resolved type) of a record class, computed once per class."""
    import typing

    hints = typing.get_type_hints(cls)
    return tuple((f.name, f.metadata.get("json", f.name), hints[f.name]) for f in dataclasses.fields(cls))


def from_jsonable(cls: type[T], data: dict[str, Any]) -> T:
    """Rebuild a record (and its nested records) from :func:`to_jsonable` output; unknown keys are ignored."""
    kwargs = {name: _decode(tp, data[key]) for name, key, tp in _fields_of(cls) if key in data}  # type: ignore[arg-type]
    return cls(**kwargs)


def article_from_jsonable(data: dict[str, Any]) -> Article:
    return from_jsonable(Article, data)
