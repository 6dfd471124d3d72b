"""Fuzzing (hypothesis) of what meets untrusted input first: every reader, the cleaner and the quote scanner, on
random and adversarial text (quote marks of every kind, unbalanced and nested; control characters; mixed scripts;
1 MB lines; malformed HTML, JSON, WARC and feeds).  Nothing may raise: a bad item is a ``ReadError`` (readers), a
``ValueError`` naming the problem (cleaner) or a rejected item with its reason (ingest); offsets stay inside the
text; and an ingest never leaves a half-written article behind.

Example counts are small so the suite stays fast (``STORYLENS_FUZZ=20`` multiplies them for a longer hunt); in CI
(``CI=true``) the examples are derandomised (the same on every run), locally each run draws new ones.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text as sql

from conftest import IN_CI
from storylens.clean import FurnitureModel, prepare
from storylens.corpus import Corpus
from storylens.ingest import read_inputs
from storylens.model import Article, RawDocument, ReadError
from storylens.nlp.marks import dialogue_segments, find_segments, normalise_quotes, paragraphs
from storylens.settings import IngestSettings, Settings

settings.register_profile("storylens", deadline=None, derandomize=IN_CI, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("storylens")
FACTOR = max(1, int(os.environ.get("STORYLENS_FUZZ", "1")))


def n(examples: int) -> int:
    return examples * FACTOR

# ---- adversarial text ---------------------------------------------------------------------------------------------
QUOTE_MARKS = ['"', "'", "''", "\u201c", "\u201d", "\u201e", "\u201f", "\u00ab", "\u00bb", "\u2018", "\u2019",
               "\u201a", "\u201b", "\u2039", "\u203a", "\u300c", "\u300d", "\u300e", "\u300f", "\u301d", "\u301e",
               "\uff02", "`", "``", "\u2014 ", "\u2013 ", " \u2014 ", ": "]
CONTROL = ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\u0085", "\u200b", "\u200e", "\u202e",
           "\u2028", "\u2029", "\ufeff", "\ufffd", "\r", "\r\n", "\t", "\u00a0", "\n", "\n\n", "\ud7ff", "\U0010ffff"]
WORDS = ["said", "told reporters", "he added", "she said", "according to", "Mayor Tom Baker", "Elena Marsh",
         "the NATO chief", "сказал", "заявил", "по словам", "Елена Марш", "Смирнов", "Москва", "北京", "قال",
         "\U0001f600", "e\u0301", "I", "We", "It", "(", ")", "[", "]", "...", "\u2026", ".", ",", "!", "?", ";",
         "on Monday", "16 July", "2021", "3.5", "http://x.example/a?b=1", "<b>", "</p>", "&amp;", "&#0;",
         "Leave a Reply", "Discuss", "Photo: AP"]
piece = st.one_of(st.sampled_from(QUOTE_MARKS), st.sampled_from(CONTROL), st.sampled_from(WORDS),
                  st.just(" "), st.text(max_size=12))
adversarial = st.lists(piece, max_size=80).map(" ".join) | st.lists(piece, max_size=80).map("".join)
any_text = adversarial | st.text(max_size=400)


def _nested(depth: int) -> str:
    pairs = [("\u201c", "\u201d"), ("\u00ab", "\u00bb"), ("\u2018", "\u2019"), ('"', '"'), ("\u201e", "\u201c")]
    out = "x"
    for k in range(depth):
        o, c = pairs[k % len(pairs)]
        out = f"{o}said {out} then{c}"
    return f"He said {out}, Baker said."


# ---- the quote scanner ------------------------------------------------------------------------------------------
def _check_segments(text: str) -> None:
    for seg in [*find_segments(text), *dialogue_segments(text)]:
        assert 0 <= seg.start <= seg.cstart <= seg.cend <= seg.end <= len(text), (seg, len(text))
        assert seg.cend > seg.cstart
    for lo, hi in paragraphs(text):
        assert 0 <= lo <= hi <= len(text)


@given(any_text)
@settings(max_examples=n(300))
def test_quote_marks_never_raise_and_offsets_stay_inside(text: str) -> None:
    _check_segments(text)
    normalise_quotes(text)


@pytest.mark.parametrize("depth", [2, 7, 40])
def test_nested_quote_marks(depth: int) -> None:
    _check_segments(_nested(depth))


def test_a_megabyte_line_of_quote_marks_is_scanned_in_linear_time() -> None:
    """1 MB on one line: unbalanced marks of every kind, then balanced ones; neither may take quadratic time."""
    for unit in ("\u201c" + "a " * 5, "\u00ab" * 3 + "b\u201d ", '"x ', "\u2018it\u2019s ", "\u201cq\u201d said. "):
        line = (unit * (1_000_000 // len(unit) + 1))[:1_000_000]
        t = time.perf_counter()
        _check_segments(line)
        assert time.perf_counter() - t < 20, unit


# ---- readers ------------------------------------------------------------------------------------------------------
def _read(name: str, data: bytes) -> list[RawDocument | ReadError]:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / name
        p.write_bytes(data)
        got = list(read_inputs([str(p)], IngestSettings()))
    for item in got:
        assert isinstance(item, RawDocument | ReadError), item
        if isinstance(item, ReadError):
            assert item.reason and isinstance(item.reason, str)
        else:
            assert item.text is not None or item.html is not None
    return got


def _html(body: str, title: str) -> str:
    return f"<html><head><title>{title}</title></head><body><article><p>{body}</p></article></body></html>"


html_doc = st.one_of(
    st.builds(_html, any_text, any_text),
    st.lists(st.sampled_from(["<html>", "<body", "<p>", "</p>", "<div class='a>", "<!--", "-->", "<![CDATA[",
                              "<script>", "</script>", "<style>", "&", "&#x110000;", "<meta charset=\"koi8-r\">",
                              "<title>", "<?xml ?>", "<svg><foreignObject>", ">"]) | any_text, max_size=60)
    .map("".join))
encoding = st.sampled_from(["utf-8", "utf-16", "cp1251", "latin-1", "utf-8-sig"])


@given(st.binary(max_size=3000) | any_text.map(lambda s: s.encode("utf-8", "surrogatepass")))
@settings(max_examples=n(60))
def test_text_reader(data: bytes) -> None:
    _read("a.txt", data)


@given(html_doc, encoding)
@settings(max_examples=n(60))
def test_html_reader_and_cleaner(doc: str, enc: str) -> None:
    for item in _read("a.html", doc.encode(enc, "replace")):
        if isinstance(item, RawDocument):
            _prepare(item)


json_value = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | any_text,
                          lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                       max_size=4), max_leaves=12)
record = st.fixed_dictionaries({}, optional={"id": json_value, "url": json_value, "title": json_value,
                                             "text": any_text | json_value, "html": html_doc | json_value,
                                             "published": st.sampled_from(["2021-06-14", "Monday", "", "0000-00-00",
                                                                           "2021-02-30T25:61:00Z", "9999-12-31"])
                                             | json_value, "outlet": json_value, "language": json_value})


@given(st.lists(record | json_value, max_size=6), st.sampled_from(["\n", "\r\n", "\n\n"]),
       st.lists(st.sampled_from(["{", "[", "\ufeff", "null", "}", '{"text": "a"', "\x00"]), max_size=3))
@settings(max_examples=n(60))
def test_jsonl_and_json_readers(rows: list[Any], sep: str, junk: list[str]) -> None:
    lines = [json.dumps(r, ensure_ascii=False) for r in rows] + junk
    body = sep.join(lines).encode("utf-8", "surrogatepass")
    _read("a.jsonl", body)
    _read("a.json", json.dumps(rows, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    _read("b.json", body)


def _warc(records: list[tuple[str, bytes, str]]) -> bytes:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=False)
    for url, payload, ctype in records:
        head = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
        w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(payload), http_headers=head))
    return buf.getvalue()


@given(st.lists(st.tuples(st.sampled_from(["http://a.example/x", "https://b.example/", "urn:x", "http://[::1]/"]),
                          html_doc.map(lambda s: s.encode("utf-8", "surrogatepass")),
                          st.sampled_from(["text/html", "text/html; charset=koi8-r", "application/json", ""])),
                max_size=3),
       st.integers(min_value=0, max_value=4000), st.binary(max_size=40), st.booleans())
@settings(max_examples=n(50))
def test_warc_reader_on_truncated_and_corrupted_archives(records: list[tuple[str, bytes, str]], cut: int,
                                                         noise: bytes, gz: bool) -> None:
    data = _warc(records)
    mangled = data[:cut] + noise + data[cut:] if noise else data[:cut] if cut < len(data) else data
    _read("a.warc", gzip.compress(mangled) if gz else mangled)
    _read("b.warc.gz", mangled)  # a name that promises gzip over plain bytes


def _feed(kind: str, entries: list[tuple[str, str, str]]) -> str:
    if kind == "rss":
        items = "".join(f"<item><title>{t}</title><link>{link}</link><description>{d}</description></item>"
                        for t, link, d in entries)
        return f'<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>{items}</channel></rss>'
    items = "".join(f"<entry><title>{t}</title><link href=\"{link}\"/><content type=\"html\">{d}</content></entry>"
                    for t, link, d in entries)
    return f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">{items}</feed>'


@given(st.sampled_from(["rss", "atom"]),
       st.lists(st.tuples(any_text, st.sampled_from(["http://a.example/1", "javascript:x", "", "file:///etc/passwd"]),
                          html_doc | any_text), max_size=4),
       st.integers(min_value=0, max_value=2000), st.sampled_from(["", "<!DOCTYPE x [<!ENTITY a 'aaaa'>]>", "]]>", "<"]))
@settings(max_examples=n(50))
def test_feed_reader_on_malformed_feeds(kind: str, entries: list[tuple[str, str, str]], cut: int, junk: str) -> None:
    doc = _feed(kind, entries)
    _read("a.rss" if kind == "rss" else "a.atom", (doc[:cut] + junk + doc[cut:]).encode("utf-8", "surrogatepass"))


def test_a_megabyte_line_through_reader_and_cleaner() -> None:
    line = ("Officials said \u201cthe harbour \u00abwill\u201d reopen \u2018soon. " * 20_000)[:1_000_000]
    got = _read("big.txt", ("Harbour reopens\n\n" + line).encode())
    assert len(got) == 1 and isinstance(got[0], RawDocument)
    t = time.perf_counter()
    a = _prepare(got[0])
    assert a is not None and len(a.text) > 900_000 and time.perf_counter() - t < 60


# ---- the cleaner --------------------------------------------------------------------------------------------------
def _prepare(raw: RawDocument) -> Article | None:
    """``prepare`` returns an article whose offsets lie in its text, or raises ValueError naming the item."""
    try:
        a = prepare(raw, Settings(), FurnitureModel())
    except ValueError as e:
        assert str(e), raw
        return None
    n = len(a.text)
    assert a.text == a.text.strip() or not a.text.strip()
    for m in a.date_mentions:
        assert 0 <= m.start <= m.end <= n and a.text[m.start:m.end] == m.text, m
    for p in a.paragraphs:
        assert 0 <= p.start <= p.end <= n
    return a


@given(any_text, any_text | st.none(), st.sampled_from([None, "2021-06-14", "Monday", "31/02/2021", "1e309", "\x00"]),
       any_text | st.none(), st.sampled_from([None, "http://a.example/x", "not a url", "http://[::1", "\u202e"]))
@settings(max_examples=n(120))
def test_cleaner_on_adversarial_text(body: str, title: str | None, published: str | None, outlet: str | None,
                                     url: str | None) -> None:
    _prepare(RawDocument(source="fuzz", text=body, title=title, published=published, outlet=outlet, url=url))


# ---- the quote scanner behind the public analyze ------------------------------------------------------------------
def _short_article(body: str) -> Article | None:
    raw = RawDocument(source="fuzz", text=body, title="T")
    return _prepare(raw)


def _sentence(opener: str, words: list[str], closer: str, punct: str, speaker: str, verb: str, order: int) -> str:
    quoted = f"{opener}{' '.join(words)}{punct}{closer}"
    return [f"{quoted} {speaker} {verb}.", f"{speaker} {verb}: {quoted}", f"{speaker} {verb} {quoted}",
            f"{quoted[: len(quoted) // 2]} {speaker} {verb}, {quoted[len(quoted) // 2:]}"][order]


attributed = st.builds(_sentence, st.sampled_from(QUOTE_MARKS), st.lists(st.sampled_from(WORDS), max_size=8),
                       st.sampled_from(QUOTE_MARKS + [""]), st.sampled_from([",", ".", "", "?", "…", " —"]),
                       st.sampled_from(["Baker", "he", "she", "Елена Марш", "the NATO chief", "они", "I", ""]),
                       st.sampled_from(["said", "added", "told reporters", "сказал", "заявила", "", "warned"]),
                       st.integers(min_value=0, max_value=3))
short_text = st.lists(attributed | st.sampled_from(QUOTE_MARKS + WORDS + CONTROL[:12]), min_size=1, max_size=12)


@given(short_text.map(" ".join) | short_text.map("\n\n".join))
@example('"," Baker said. \'said according to," Baker said.')  # found: an inverted speaker span (nlp.attribution)
@settings(max_examples=n(25))
def test_analyze_keeps_every_offset_inside_the_text(body: str) -> None:
    from storylens.nlp import analyze

    a = _short_article(body)
    assume(a is not None)
    assert a is not None
    (out,) = list(analyze([a], Settings().nlp))
    n = len(out.text)
    for e in out.entities:
        assert 0 <= e.start < e.end <= n and out.text[e.start:e.end] == e.text, e
    for q in out.quotes:
        assert 0 <= q.start < q.end <= n, q
        for sp in (q.speaker, q.cue):
            if sp is not None and sp.start is not None:
                assert 0 <= sp.start <= sp.end <= n and out.text[sp.start:sp.end] == sp.text, sp
        for s in q.segments:
            assert q.start <= s.start < s.end <= q.end, (q, s)
    for sent in out.sentences:
        assert 0 <= sent.start <= sent.end <= n and out.text[sent.start:sent.end] == sent.text, sent


# ---- ingest: a bad item is rejected with a reason, the store stays whole -----------------------------------------
@pytest.fixture(scope="module")
def fuzz_corpus() -> Iterator[Corpus]:
    with tempfile.TemporaryDirectory() as d, Corpus(f"sqlite:///{Path(d) / 'fuzz.db'}") as c:
        yield c


def _consistent(c: Corpus) -> None:
    """Every stored article whole: offsets inside its text, in exactly one story unless it is a copy; every story
    with articles; every quote on a stored article; the search index holds each article once."""
    arts = c.articles()
    ids = {a.id for a in arts}
    members = [m for s in c.stories() for m in s.articles]
    assert len(members) == len(set(members)) and set(members) <= ids
    assert all(s.articles for s in c.stories())
    for a in arts:
        assert a.duplicate_of is not None or a.id in set(members), a.id
        for q in a.quotes:
            assert 0 <= q.start < q.end <= len(a.text)
    assert {q.article_id for q in c.quotes()} <= ids
    with c.store.engine.connect() as conn:
        assert conn.execute(sql("SELECT count(*) FROM articles_fts")).scalar() == len(arts)
        orphans = conn.execute(sql("SELECT count(*) FROM quotes WHERE article_id NOT IN (SELECT id FROM articles)"))
        assert orphans.scalar() == 0


@given(st.lists(record, min_size=1, max_size=4))
@settings(max_examples=n(8))
def test_ingest_rejects_bad_items_with_a_reason_and_stays_consistent(fuzz_corpus: Corpus,
                                                                     items: list[dict[str, Any]]) -> None:
    before = {a.id for a in fuzz_corpus.articles()}
    report = fuzz_corpus.ingest(items)
    assert len(report.results) >= 1
    stored = {a.id for a in fuzz_corpus.articles()}
    for r in report.results:
        if r.status == "rejected":
            assert r.reason and isinstance(r.reason, str), r
            assert r.id is None or r.id in before or r.id not in stored, r
        else:
            assert r.id in stored, r
    _consistent(fuzz_corpus)


def test_dates_at_the_calendar_ends_are_stored(fuzz_corpus: Corpus) -> None:
    """Found by the fuzzer: an article dated 9999-12-31 made the stream's window around its date overflow, and the
    whole batch failed.  Both ends of the calendar are stored like any date."""
    items = [{"id": f"edge-{d}", "published": d, "outlet": "Harbor Wire",
              "text": f"Officials said on Monday that the harbour talks went well. “We are close,” the mayor told "
                      f"reporters at the quay number {i}."} for i, d in enumerate(["9999-12-31", "0001-01-01"])]
    report = fuzz_corpus.ingest(items)
    assert not report.rejected, report.rejected
    assert {r.id for r in report.results} == {"edge-9999-12-31", "edge-0001-01-01"}
    _consistent(fuzz_corpus)
