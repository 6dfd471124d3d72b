"""Exact and near-duplicate detection; the index rebuilds from stored signatures."""

from __future__ import annotations

from storylens.clean import prepare
from storylens.model import Article, RawDocument
from storylens.settings import DedupeSettings, Settings
from storylens.stories.dedupe import Deduper

S = Settings()
TEXT = ("Title\n\n" + " ".join(f"Sentence number {i} of the wire story says something about the talks in Vienna."
                               for i in range(30)))


def art(source: str, text: str) -> Article:
    return prepare(RawDocument(source=source, text=text), S)


def test_exact_near_and_original() -> None:
    d = Deduper(S.dedupe)
    a = art("a", TEXT)
    exact = art("b", TEXT.replace("Title", "Another title").replace("  ", " ").upper())
    near = art("c", TEXT + " One more sentence added by the copying site at the very end.")
    other = art("d", "Other\n\n" + " ".join(f"Completely different words {i} about football." for i in range(30)))
    assert d.check_and_add(a) == (None, None)
    assert d.check_and_add(exact) == ("a", "exact")
    assert d.check_and_add(near) == ("a", "near")
    assert d.check_and_add(other) == (None, None)
    assert d.check_and_add(a) == (None, None)  # re-checking an indexed article is a no-op
    assert len(d) == 2


def test_rebuild_from_signatures() -> None:
    d = Deduper(S.dedupe)
    a = art("a", TEXT)
    d.check_and_add(a)
    rows = [(a.id, a.content_hash, d.signature(a))]
    d2 = Deduper.from_signatures(rows, S.dedupe)
    near = art("c", TEXT + " One more sentence added by the copying site.")
    assert d2.check_and_add(near) == ("a", "near")
    assert d2.check_and_add(art("b", TEXT)) == ("a", "exact")
    # a missing or foreign signature still allows exact matching
    d3 = Deduper.from_signatures([("a", a.content_hash, None), ("x", "h", b"123")], DedupeSettings())
    assert d3.check_and_add(art("b", TEXT)) == ("a", "exact")


def test_short_texts() -> None:
    d = Deduper(S.dedupe)
    assert d.check_and_add(art("a", "T\n\nShort one.")) == (None, None)
    assert d.check_and_add(art("b", "T\n\nAnother short.")) == (None, None)
