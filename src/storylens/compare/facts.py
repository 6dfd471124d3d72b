"""Fact alignment and coverage: which outlet reported which fact, what one outlet alone carries or leaves out.

The sentences of a story's articles are aligned into facts (clusters of sentences saying the same thing): within
one language by TF-IDF cosine over word stems, across languages by multilingual sentence embeddings.  A sentence
joins the fact whose members it is closest to on average, if that is close enough; otherwise it starts a fact.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz

from storylens.compare.embedding import CachedEmbed
from storylens.compare.labels import outlet_label
from storylens.model import Article, Conflict, Coverage, Fact, FactMention, Span
from storylens.text.scripts import script_language
from storylens.text.sentences import sentences
from storylens.text.tokens import content_stems

LEX_SAME = 0.38  # average TF-IDF cosine to a fact's sentences, same language
EMB_CROSS = 0.58  # embedding cosine of a translation (unrelated sentences stay below ~0.4)
EMB_SAME = 0.82  # embedding cosine that links sentences of one language even with few shared words
MIN_WORDS = 4


@dataclass(slots=True)
class Sent:
    article: Article
    outlet: str
    text: str
    start: int
    end: int
    lang: str
    order: int  # position of the sentence in its article
    art_order: int


@dataclass(slots=True)
class Alignment:
    sents: list[Sent]
    sim: np.ndarray  # sentence x sentence similarity used for alignment
    facts: list[list[int]]  # sentence indices of each fact, facts in id order
    fact_ids: list[str]


_DATELINE_ONLY = re.compile(r"^[^\n]{0,60}/[^/\n]{2,40}/\.?$")


def is_dateline(text: str) -> bool:
    """'LINDHAVEN, April 3. /Harbor Wire/.' on its own: not a fact."""
    return bool(_DATELINE_ONLY.match(text.strip())) and len(text.split()) <= 8


def reporting_sentences(a: Article) -> list[Span]:
    """The article's sentences, a quotation never cut in two: the sentences a direct quote spans (``"A. B," she
    said.``) are one sentence with their attribution, so a fact is a whole sentence of reporting and never a
    fragment such as ``B," she said.``"""
    sents = sentences(a)
    spans = sorted((q.start, q.end) for q in a.quotes if q.kind != "indirect" and q.end > q.start)
    if not spans or len(sents) < 2:
        return sents
    out: list[Span] = []
    for sp in sents:
        if out and _inside_same_quote(spans, out[-1].end, sp.start):
            prev = out[-1]
            out[-1] = Span(prev.start, sp.end, a.text[prev.start:sp.end])
        else:
            out.append(sp)
    return out


def _inside_same_quote(spans: list[tuple[int, int]], end_prev: int, start_next: int) -> bool:
    """A quote starts before the end of one sentence and goes on past the start of the next."""
    return any(qs < end_prev and start_next < qe for qs, qe in spans)


def collect_sentences(articles: Sequence[Article]) -> list[Sent]:
    out: list[Sent] = []
    for ai, a in enumerate(articles):
        for k, s in enumerate(reporting_sentences(a)):
            if len(content_stems(s.text)) < MIN_WORDS - 1 or len(s.text.split()) < MIN_WORDS or is_dateline(s.text):
                continue
            out.append(Sent(a, outlet_label(a), s.text, s.start, s.end, script_language(s.text), k, ai))
    return out


def tfidf(texts: Sequence[str]) -> np.ndarray:
    docs = [Counter(content_stems(t)) for t in texts]
    df: Counter[str] = Counter()
    for d in docs:
        df.update(d.keys())
    vocab = {w: i for i, w in enumerate(df)}
    n = len(docs)
    m = np.zeros((n, max(1, len(vocab))), dtype=np.float32)
    for r, d in enumerate(docs):
        for w, c in d.items():
            m[r, vocab[w]] = (1 + math.log(c)) * (math.log((1 + n) / (1 + df[w])) + 1)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return np.asarray(m / norms, dtype=np.float32)


def similarity(sents: list[Sent], embed: CachedEmbed | None) -> np.ndarray:
    """Sentence similarity on one scale (1 = same fact): lexical within a language, embeddings across."""
    lex = tfidf([s.text for s in sents])
    sim = lex @ lex.T
    langs = np.array([s.lang for s in sents])
    if len(set(langs.tolist())) > 1 and embed is not None:
        e = embed([s.text for s in sents])
        es = e @ e.T
        cross = langs[:, None] != langs[None, :]
        # map the embedding scale onto the lexical one: EMB_CROSS ~ LEX_SAME
        scaled = LEX_SAME + (es - EMB_CROSS) * (1 - LEX_SAME) / (1 - EMB_CROSS)
        sim = np.where(cross, scaled, np.maximum(sim, np.where(es >= EMB_SAME, scaled, 0)))
    return np.asarray(np.clip(sim, 0.0, 1.0), dtype=np.float32)


def align(articles: Sequence[Article], embed: CachedEmbed | None, *, prefix: str = "f") -> Alignment:
    sents = collect_sentences(articles)
    if not sents:
        return Alignment([], np.zeros((0, 0), dtype=np.float32), [], [])
    sim = similarity(sents, embed)
    order = sorted(range(len(sents)), key=lambda i: (sents[i].article.published.value or dt.date.max,
                                                     sents[i].art_order, sents[i].order))
    facts: list[list[int]] = []
    articles_in: list[set[str]] = []
    assign = np.full(len(sents), -1, dtype=np.int64)
    for i in order:
        row = sim[i]
        done = assign >= 0
        best = -1
        if facts and done.any():
            sums = np.bincount(assign[done], weights=row[done], minlength=len(facts))
            sizes = np.bincount(assign[done], minlength=len(facts))
            scores = sums / np.maximum(sizes, 1)
            for f in np.argsort(-scores):
                if scores[f] < LEX_SAME:
                    break
                if sents[i].article.id not in articles_in[f]:  # one sentence per article and fact: no chaining
                    best = int(f)
                    break
        if best >= 0:
            facts[best].append(i)
            articles_in[best].add(sents[i].article.id)
        else:
            best = len(facts)
            facts.append([i])
            articles_in.append({sents[i].article.id})
        assign[i] = best
    return Alignment(sents, sim, facts, [f"{prefix}{n + 1}" for n in range(len(facts))])


def _representative(al: Alignment, members: list[int]) -> int:
    langs = Counter(al.sents[i].lang for i in members)
    main = langs.most_common(1)[0][0]
    pool = [i for i in members if al.sents[i].lang == main]
    if len(pool) == 1:
        return pool[0]
    return max(pool, key=lambda i: (float(al.sim[i, pool].mean()), -al.sents[i].art_order, -al.sents[i].order))


def build_facts(al: Alignment) -> list[Fact]:
    facts: list[Fact] = []
    for fid, members in zip(al.fact_ids, al.facts, strict=True):
        rep = _representative(al, members)
        mentions = [FactMention(al.sents[i].article.id, al.sents[i].article.outlet, al.sents[i].text,
                                al.sents[i].start, al.sents[i].end) for i in members]
        outlets = list(dict.fromkeys(al.sents[i].outlet for i in members))
        facts.append(Fact(fid, al.sents[rep].text, mentions, outlets))
    return facts


# ---- conflicts ---------------------------------------------------------------------------------------------

_NUM_RE = re.compile(
    r"(?<![\w.,])[€$£]?\s?(\d{1,3}(?:[ \u00a0,]\d{3})+|\d+(?:[.,]\d+)?)\s?(billion|bn|million|mln|m|thousand|"
    r"per ?cent|percent|%|млрд|млн|тыс\.?|процент\w*)?(?![\w])",
    re.IGNORECASE)
_SCALE = {"billion": 1e9, "bn": 1e9, "млрд": 1e9, "million": 1e6, "mln": 1e6, "m": 1e6, "млн": 1e6,
          "thousand": 1e3, "тыс": 1e3, "тыс.": 1e3}
_YEAR = re.compile(r"^(19|20)\d\d$")


def numbers(text: str) -> list[tuple[float, str, str]]:
    """(value, unit kind, as written) of the numbers in a sentence; years are left to the date check."""
    out = []
    for m in _NUM_RE.finditer(text):
        raw, unit = m.group(1), (m.group(2) or "").lower()
        if _YEAR.match(raw) and not unit:
            continue
        if re.fullmatch(r"\d{1,3}(?:[ \u00a0,]\d{3})+", raw):
            value = float(re.sub(r"[ \u00a0,]", "", raw))
        else:
            value = float(raw.replace(",", "."))
        kind = "pct" if unit.startswith(("per", "%", "проц")) else "count"
        value *= _SCALE.get(unit, 1.0)
        out.append((value, kind, m.group(0).strip()))
    return out


SAME_SENTENCE = 0.5  # overlap of content words (values left out) for two sentences to state one thing


@dataclass(slots=True)
class _Value:
    kind: str  # number kind ("count", "pct"), "date" or "person"
    value: float | dt.date | str
    written: str
    left: frozenset[str]  # content stems just before the value: what it is attached to
    right: frozenset[str]  # and just after


def _context(text: str, s: int, e: int, k: int = 2) -> tuple[frozenset[str], frozenset[str]]:
    before = [w for w in content_stems(text[:s]) if not w[:1].isdigit()]
    after = [w for w in content_stems(text[e:]) if not w[:1].isdigit()]
    return frozenset(before[-k:]), frozenset(after[:k])


def _values(sent: Sent) -> list[_Value]:
    """Numbers, resolved dates and person names of one sentence, each with the words it is attached to."""
    text, out = sent.text, []
    for m in _NUM_RE.finditer(text):
        for value, kind, written in numbers(m.group(0)):
            left, right = _context(text, m.start(), m.end())
            out.append(_Value(kind, value, written, left, right))
    for d in sent.article.date_mentions:
        if d.value and sent.start <= d.start < sent.end:
            left, right = _context(text, d.start - sent.start, d.end - sent.start)
            out.append(_Value("date", d.value, d.text, left, right))
    for en in sent.article.entities:
        if en.label == "PERSON" and sent.start <= en.start < sent.end:
            left, right = _context(text, en.start - sent.start, en.end - sent.start)
            out.append(_Value("person", en.name or en.text, en.text, left, right))
    return out


def _masked(text: str) -> set[str]:
    return {w for w in content_stems(text) if not w[:1].isdigit()}


def _same_statement(wa: set[str], wb: set[str]) -> bool:
    """Two sentences' content words (values left out) agree enough for the sentences to state one thing."""
    return bool(wa and wb) and len(wa & wb) / min(len(wa), len(wb)) >= SAME_SENTENCE


def _clash(x: _Value, y: _Value) -> bool:
    """Two values of one slot (the same kind, attached to the same words) that disagree."""
    if x.kind != y.kind or not (x.left & y.left or x.right & y.right):
        return False
    if x.kind == "date":
        return x.value != y.value
    if x.kind == "person":
        return x.value != y.value and fuzz.ratio(str(x.value), str(y.value)) >= 80
    a, b = float(x.value), float(y.value)  # type: ignore[arg-type]
    return a != b and 0.5 <= a / b <= 2 and max(a, b) >= 10 and not (a.is_integer() and a < 10)


def conflicts(al: Alignment, facts: list[Fact]) -> list[Conflict]:
    """Values that disagree between two outlets' sentences of one aligned fact: the two sentences state the same
    thing (most of their words agree once the values are left out) and the two values fill the same slot (the
    same kind, attached to the same words).  Each conflict carries both sentences as evidence."""
    found: list[Conflict] = []
    kinds = {"count": "number", "pct": "number", "date": "date", "person": "name"}
    for fact, members in zip(facts, al.facts, strict=True):
        if len(fact.outlets) < 2:
            continue
        vals = {i: vs for i in members if (vs := _values(al.sents[i]))}
        masked = {i: _masked(al.sents[i].text) for i in vals}
        by_kind: dict[str, tuple[dict[str, set[str]], dict[str, list[str]]]] = {}
        with_values = [i for i in members if i in vals]
        for n, i in enumerate(with_values):
            for j in with_values[n + 1:]:
                a, b = al.sents[i], al.sents[j]
                if a.outlet == b.outlet or not _same_statement(masked[i], masked[j]):
                    continue
                # a value both sentences share is agreement, not a slot in dispute
                shared = {str(x.value) for x in vals[i]} & {str(y.value) for y in vals[j]}
                for x in vals[i]:
                    for y in vals[j]:
                        if str(x.value) in shared or str(y.value) in shared or not _clash(x, y):
                            continue
                        values, evidence = by_kind.setdefault(kinds[x.kind], ({}, {}))
                        for s_, val in ((a, x), (b, y)):
                            shown = val.value.isoformat() if isinstance(val.value, dt.date) else val.written
                            values.setdefault(s_.outlet, set()).add(str(shown))
                            ev = evidence.setdefault(s_.outlet, [])
                            if s_.text not in ev:
                                ev.append(s_.text)
        for kind, (values, evidence) in by_kind.items():
            found.append(Conflict(fact.id, kind, {o: sorted(vs_) for o, vs_ in values.items()},  # type: ignore[arg-type]
                                  evidence))
    return found


def coverage(articles: Sequence[Article], al: Alignment, facts: list[Fact], *, exclusive_min_words: int = 6,
             widely: float = 0.5) -> Coverage:
    """Coverage matrix outlet × fact, exclusive and omitted facts per outlet, conflicts."""
    outlets = list(dict.fromkeys(outlet_label(a) for a in sorted(
        articles, key=lambda a: (a.published.value or dt.date.max, a.id))))
    oi = {o: k for k, o in enumerate(outlets)}
    label_of = {a.id: outlet_label(a) for a in articles}
    matrix = [[0] * len(facts) for _ in outlets]
    counts = [[0] * len(facts) for _ in outlets]
    for f, fact in enumerate(facts):
        seen: set[tuple[str, str]] = set()
        for m in fact.mentions:
            a_label = label_of[m.article_id]
            matrix[oi[a_label]][f] = 1
            if (a_label, m.article_id) not in seen:
                counts[oi[a_label]][f] += 1
                seen.add((a_label, m.article_id))
    exclusive: dict[str, list[str]] = {o: [] for o in outlets}
    omitted: dict[str, list[str]] = {o: [] for o in outlets}
    n = len(outlets)
    need = max(2, math.ceil(widely * n))
    for f, fact in enumerate(facts):
        k = len(fact.outlets)
        if k == 1 and n >= 2 and len(fact.text.split()) >= exclusive_min_words:
            exclusive[fact.outlets[0]].append(fact.id)
        if n >= 3 and k >= need and k < n:
            for o in outlets:
                if not matrix[oi[o]][f]:
                    omitted[o].append(fact.id)
    return Coverage(outlets=outlets, facts=facts, matrix=matrix, exclusive=exclusive, omitted=omitted,
                    conflicts=conflicts(al, facts), counts=counts)


def order_facts(al: Alignment) -> None:
    """Most widely reported first, then by first appearance; ids follow that order (f1 is the widest)."""
    def key(members: list[int]) -> tuple[int, int, dt.date, int, int]:
        first = min(members, key=lambda i: (al.sents[i].art_order, al.sents[i].order))
        return (-len({al.sents[i].outlet for i in members}), -len(members),
                al.sents[first].article.published.value or dt.date.max, al.sents[first].art_order,
                al.sents[first].order)
    al.facts.sort(key=key)
    prefix = al.fact_ids[0].rstrip("0123456789") if al.fact_ids else "f"
    al.fact_ids = [f"{prefix}{n + 1}" for n in range(len(al.facts))]
