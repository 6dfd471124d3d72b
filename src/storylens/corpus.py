"""The Python API: ``storylens.Corpus`` — for notebooks and other programs.  The CLI and the web app are thin
layers over it.

>>> from storylens import Corpus
>>> c = Corpus("sqlite:///news.db")
>>> report = c.ingest(["examples/corpus"])
>>> c.stories().to_pandas()
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from storylens.model import (
    Article,
    Entity,
    Narrative,
    RawDocument,
    Story,
    StoryComparison,
    from_jsonable,
    to_jsonable,
)
from storylens.pipeline import IngestReport, Item, ItemResult, Runner
from storylens.settings import Settings
from storylens.store import Store, StoredQuote

if TYPE_CHECKING:
    import pandas as pd

T = TypeVar("T")


class ResultList(list[T], Generic[T]):
    """A list of typed records with ``to_pandas()`` and ``to_dicts()``."""

    def to_dicts(self) -> list[dict[str, Any]]:
        return [to_jsonable(x) for x in self]

    def to_pandas(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.to_dicts())


@dataclass(slots=True)
class EntityInfo:
    entity: Entity
    articles: list[str] = field(default_factory=list)
    quotes: list[StoredQuote] = field(default_factory=list)


def _date(value: str | dt.date | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)


class Corpus:
    """A store of articles with the whole pipeline behind it.

    ``db_url``: any SQLAlchemy URL; default ``STORYLENS_DB`` or ``sqlite:///storylens.db`` in the working directory.
    """

    def __init__(self, db_url: str | None = None, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.from_env()
        if db_url is not None:
            self.settings.db_url = db_url if "://" in db_url else f"sqlite:///{db_url}"
        self.store = Store(self.settings.db_url)
        self.runner = Runner(self.store, self.settings)

    def close(self) -> None:
        self.runner.c.close()
        self.store.close()

    def __enter__(self) -> Corpus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- ingest -----------------------------------------------------------------------------------------
    def ingest(self, paths_or_records: Item | Iterable[Item],
               on_result: Callable[[ItemResult], None] | None = None, link: bool = True) -> IngestReport:
        """Ingest files, directories, URLs, feeds, ``-`` or input-contract dicts; returns per-item results.
        ``link=False`` leaves narrative linking (which reads every story) to a later ``link_narratives()``."""
        items: list[Item]
        if isinstance(paths_or_records, str | Path | Mapping | RawDocument):
            items = [paths_or_records]
        else:
            items = list(paths_or_records)
        return self.runner.ingest(items, on_result=on_result, link=link)

    def link_narratives(self) -> None:
        self.runner.link_narratives()

    def similarity(self, a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
        """The calibrated probability (0-1) that two articles (dicts of the input contract: ``text`` or ``html``,
        optional ``title``, ``published``, ``outlet``...) report the same event, by the scorer that assigns stories.
        Nothing is stored.  Raises ``ValueError`` naming the article that cannot be read."""
        from storylens.pipeline import score_pairs

        problems: list[ItemResult] = []
        scores = score_pairs([{"id": "pair", "a": a, "b": b}], self.settings, on_error=problems.append)
        if not scores:
            raise ValueError(problems[0].reason if problems else "the pair could not be scored")
        return scores[0].score

    def recluster(self, since: str | dt.date | None = None) -> tuple[int, int]:
        return self.runner.recluster(_date(since))

    def errors(self) -> list[dict[str, Any]]:
        return self.store.errors()

    def check(self, limit: int = 20) -> list[str]:
        """What is inconsistent in the store (each broken invariant with the item breaking it); empty when every
        original article is in exactly one stored story, no story is empty, every quote, quote group, comparison
        and narrative points at stored rows and the search index holds each article once."""
        return [str(v) for v in self.store.check(limit)]

    # ---- articles -----------------------------------------------------------------------------------------
    def articles(self, ids: Sequence[str] | None = None, *, outlet: str | None = None,
                 since: str | dt.date | None = None, until: str | dt.date | None = None,
                 story_id: str | None = None, limit: int | None = None, offset: int = 0) -> ResultList[Article]:
        return ResultList(self.store.articles(ids, outlet=outlet, since=_date(since), until=_date(until),
                                              story_id=story_id, limit=limit, offset=offset))

    def article(self, article_id: str) -> Article | None:
        return self.store.article(article_id)

    # ---- quotes and entities ------------------------------------------------------------------------------
    def quotes(self, *, speaker: str | None = None, outlet: str | None = None, since: str | dt.date | None = None,
               story_id: str | None = None, q: str | None = None, limit: int | None = None,
               offset: int = 0) -> ResultList[StoredQuote]:
        return ResultList(self.store.quotes(speaker=speaker, outlet=outlet, since=_date(since), story_id=story_id,
                                            q=q, limit=limit, offset=offset))

    def entities(self, type: str | None = None) -> ResultList[Entity]:  # noqa: A002 - mirrors the CLI flag
        return ResultList(self.store.entities(label=type))

    def entity(self, name_or_id: str) -> EntityInfo | None:
        found = [e for e in self.store.entities() if e.id == name_or_id] or self.store.entities(name=name_or_id)
        if not found:
            return None
        exact = [e for e in found if e.name.casefold() == name_or_id.casefold()]
        e = (exact or found)[0]
        quotes = [q for q in self.store.quotes(speaker=e.name)]
        return EntityInfo(entity=e, articles=self.store.entity_articles(e.id), quotes=quotes)

    # ---- stories ------------------------------------------------------------------------------------------
    def stories(self, *, since: str | dt.date | None = None, until: str | dt.date | None = None,
                outlet: str | None = None, entity: str | None = None, q: str | None = None,
                limit: int | None = None, offset: int = 0) -> ResultList[Story]:
        entity_id = None
        if entity:
            info = self.entity(entity)
            if info is None:
                return ResultList()
            entity_id = info.entity.id
        return ResultList(self.store.stories(since=_date(since), until=_date(until), outlet=outlet,
                                             entity_id=entity_id, q=q, limit=limit, offset=offset))

    def story(self, story_id: str) -> Story | None:
        return self.store.story(story_id)

    def narratives(self) -> ResultList[Narrative]:
        return ResultList(self.store.narratives())

    def narrative(self, narrative_id: str) -> Narrative | None:
        found = self.store.narratives([narrative_id])
        return found[0] if found else None

    # ---- compare --------------------------------------------------------------------------------------------
    def cached_comparison(self, story_id: str) -> dict[str, Any] | None:
        """The story's stored comparison (JSON) when it is current: the story has not changed since and it was
        computed by this version of the compare stage."""
        from storylens.compare import COMPARE_VERSION

        data = self.store.cached_comparison(story_id)
        return data if data is not None and data.get("version") == COMPARE_VERSION else None

    def compare(self, story_id: str) -> StoryComparison | None:
        """Quote groups, coverage, framing, cited summary and timeline of one story (cached until it changes)."""
        cached = self.cached_comparison(story_id)
        if cached is not None:
            return from_jsonable(StoryComparison, cached)
        as_of = self.store.story_updated_at(story_id)  # before the story is read: a change meanwhile leaves it stale
        story = self.store.story(story_id)
        if story is None or as_of is None:
            return None
        from storylens.compare import compare_story

        articles = self.store.articles(story.articles)
        comparison = compare_story(story, articles, self.settings.compare, self.runner.c.embedder.encode,
                                   self._vectors(story.articles))
        data = to_jsonable(comparison)
        with self.store.writer_lock():
            self.store.save_comparison(story_id, data, data["quote_groups"], as_of=as_of)
        return comparison

    def spread(self, story_ids: Sequence[str] | None = None) -> dict[str, Any]:
        """The ``spread`` contract of some stories (default: every story): stories with their cited summaries and
        the quote groups carried by several articles, changes against each statement's first report."""
        from storylens.compare.spread import spread_contract

        stories = self.store.stories(ids=list(story_ids)) if story_ids is not None else self.store.stories()
        return spread_contract((s, self.compare(s.id)) for s in stories)

    def compare_narrative(self, narrative_id: str) -> Any:
        from storylens.compare import compare_narrative

        n = self.narrative(narrative_id)
        if n is None:
            return None
        stories = self.store.stories(ids=n.stories)
        by_story = {s.id: self.store.articles(s.articles) for s in stories}
        return compare_narrative(n, stories, by_story, self.settings.compare, self.runner.c.embedder.encode,
                                 self._vectors([a for s in stories for a in s.articles]))

    def _vectors(self, article_ids: Sequence[str]) -> dict[str, Any]:
        """The stored vectors of these articles (a copy has none: its original's text is its own)."""
        from storylens.embed import ArticleVectors

        return {k: ArticleVectors.from_bytes(b) for k, b in self.store.embeddings(list(article_ids)).items()}

    def quote_group(self, group_id: str) -> dict[str, Any] | None:
        story_id = group_id.split(":", 1)[0] if ":" in group_id else None
        if story_id and self.store.story(story_id) is not None and self.cached_comparison(story_id) is None:
            # groups are computed per story on demand: compute the story named in the id, then look it up
            self.compare(story_id)
        return self.store.quote_group(group_id)

    def search(self, q: str, limit: int = 20, offset: int = 0) -> Any:
        """Full-text search over articles and quotes (:class:`storylens.store.search.SearchResults`)."""
        from storylens.store.search import search

        return search(self.store, q, limit=limit, offset=offset)

    def report(self, target: str, fmt: Literal["html", "md", "json"] = "html") -> str:
        """A self-contained report of a story or a narrative: ``fmt`` is html, md or json."""
        from storylens.compare import render_report

        if self.store.story(target) is not None:
            comparison: Any = self.compare(target)
            articles = self.store.articles(self.store.story(target).articles)  # type: ignore[union-attr]
        else:
            comparison = self.compare_narrative(target)
            if comparison is None:
                raise KeyError(f"no story or narrative with id {target!r}")
            n = self.narrative(target)
            assert n is not None
            articles = [a for s in self.store.stories(ids=n.stories) for a in self.store.articles(s.articles)]
        return render_report(comparison, articles, fmt)
