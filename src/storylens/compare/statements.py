"""Statements: the unit of a quote group.

A *statement* is one stretch of speech as first reported; a quote group holds every report of one statement.  The
pieces of text that can report a statement are the segments of attributed quotes (``"A," she said, "B."`` is one
quote of two segments, each its own piece).  Matching is on word stems (quote marks, punctuation and case do not
count):

* two pieces of about the same length that share most of their words in order report the *same* statement;
* a shorter piece whose words appear, in order and close together, inside a longer one is *part of* it: a cut
  version of the same statement, or one of several statements the longer piece holds;
* a piece in another language is matched by multilingual sentence embeddings (whole pieces, or a short piece
  against the sentences of a longer one).

Statements are what was first published.  A later piece holds *several* statements when two or more separate,
non-overlapping stretches of it were carried as pieces of their own by earlier reports: it is then cut between
those stretches (at a sentence end when there is one) and each part joins its own statement's group.  A piece
that merely contains a shorter version of itself stays whole (the shorter one is a cut), and so does a long quote
published first: later excerpts of it are reports of that one statement.  So one statement forms one group, a long quote takes part in each statement it
holds with that statement's span, and a quote never pairs with a part of itself (pieces whose spans overlap in one
article are never related).

Only attributed speech forms groups: direct and partial quotes.  An indirect quote (reported speech) joins a group
only as a report of a statement some direct or partial quote carries, with the same speaker; narrative sentences
are left to the fact alignment.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from rapidfuzz.distance import LCSseq

from storylens.compare.chronology import time_order
from storylens.compare.embedding import CachedEmbed
from storylens.compare.names import same_speaker
from storylens.graph import components
from storylens.model import Article, Quote
from storylens.text.scripts import script_language
from storylens.text.sentences import split_sentences
from storylens.text.stopwords import STOPWORDS
from storylens.text.tokens import Tok, tokenize

SAME_RATIO = 0.6  # 2*matched/(len a + len b) for two pieces to report the same statement
SPEAKERS_DIFFER_RATIO = 0.85  # the same, when the two pieces name different speakers
CONTAIN = 0.8  # share of the shorter piece's words found in the longer one
LONGER = 1.25  # a containing piece has at least this many times the words of the contained one (+1)
TRANSLATION_COS = 0.72  # cosine of multilingual vectors for a translation
MIN_STATEMENT_WORDS = 4  # shorter pieces (two- and three-word partial quotes) never cut a longer piece
NEAR_DAYS = 3  # a short partial quote joins a longer one only this close in time
SAME_ARTICLE_WORDS = 6  # a statement repeated inside one article has at least this many words
_EDGE = " \t\n\"'“”«»„‘’‚‹›"
_SENTENCE_GAP = re.compile(r"[.!?;:…]")


@dataclass(slots=True)
class Piece:
    """A stretch of one quote that can report a statement: a quote segment, or a part of one."""

    idx: int
    article: Article
    quote: Quote
    qid: str  # the quote's id
    start: int  # offsets into ``article.text``
    end: int
    words: list[Tok]  # the words of ``text`` (no ellipsis tokens); offsets relative to ``start``
    stems: list[str]
    lang: str
    speaker: str | None
    speaker_entity: str | None
    date: dt.date | None
    order: int  # the article's position in date order (then time, where known, then id)
    direct: bool  # a direct or partial quote (not reported speech)
    whole: bool = True  # the piece covers its whole quote

    @property
    def text(self) -> str:
        return self.article.text[self.start:self.end]

    @property
    def piece_id(self) -> str:
        """The quote id, or ``<quote id>@<start>-<end>`` for a piece that is only part of its quote."""
        return self.qid if self.whole else f"{self.qid}@{self.start}-{self.end}"

    def sort_key(self) -> tuple[dt.date, int, int, int]:
        """Date order; on one day an original before its syndicated copies, then the story's article order."""
        return (self.date or dt.date.max, 1 if self.article.duplicate_of else 0, self.order, self.start)


@dataclass(slots=True)
class Relation:
    a: int
    b: int
    kind: str  # "same" or "in" (a is part of b)
    region: tuple[int, int] = (0, 0)  # word range of b that a covers ("in")


@dataclass(slots=True)
class Grouping:
    pieces: list[Piece]
    groups: list[list[int]]  # piece indices of each statement
    relations: list[Relation] = field(default_factory=list)


# ---- pieces ------------------------------------------------------------------------------------------------


def quote_segments(article: Article, quote: Quote) -> list[tuple[int, int]]:
    """Article offsets of the quote's segments: ``quote.segments`` when the analysis gives them, else recovered
    from a quote whose text joins pieces around an interrupting attribution."""
    segs = getattr(quote, "segments", None)
    if segs:
        out = []
        for s in segs:
            st, en = (s["start"], s["end"]) if isinstance(s, dict) else (s.start, s.end)
            out.append(_trim(article.text, int(st), int(en)))
        return [(s, e) for s, e in out if e > s] or [(quote.start, quote.end)]
    span = article.text[quote.start:quote.end]
    if not quote.text or span == quote.text or len(quote.text) > len(span):
        return [(quote.start, quote.end)]
    sm = difflib.SequenceMatcher(None, quote.text, span, autojunk=False)
    runs: list[list[int]] = []  # [start, end] in span of runs of matching text
    for b in sm.get_matching_blocks():
        if b.size < 2:
            continue
        if runs and b.b - runs[-1][1] <= 3:
            runs[-1][1] = b.b + b.size
        else:
            runs.append([b.b, b.b + b.size])
    segs_ = [_trim(article.text, quote.start + s, quote.start + e) for s, e in runs]
    segs_ = [(s, e) for s, e in segs_ if e > s and re.search(r"\w", article.text[s:e])]
    return segs_ if len(segs_) > 1 else [(quote.start, quote.end)]


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s] in _EDGE:
        s += 1
    while e > s and text[e - 1] in _EDGE:
        e -= 1
    return s, e


_OPEN_MARKS = "\"“«„‘'‚‹"
_CLOSE_MARKS = "\"”»“’'‹›"


def in_quote_marks(text: str, s: int, e: int) -> bool:
    """The span stands between quote marks (of any style, even mismatched): quoted speech, whatever its kind."""
    i = s
    while i > 0 and text[i - 1] in " \t":
        i -= 1
    j = e
    while j < len(text) and text[j] in " \t,.;:!?…":
        j += 1
    return i > 0 and text[i - 1] in _OPEN_MARKS and j < len(text) and text[j] in _CLOSE_MARKS


def speaker_name(article: Article, quote: Quote) -> str | None:
    """The quote's speaker: the resolved name, else the mention when it is a name; None when unknown (an
    unresolved pronoun or role) or when the 'speaker' is the publishing outlet itself."""
    sp = quote.speaker
    if sp is None:
        return None
    name = sp.name or (sp.text if is_name_mention(sp.text) else None)
    if name and article.outlet and name.casefold() == article.outlet.casefold():
        return None
    return name


def is_name_mention(text: str) -> bool:
    """A mention that names someone ("Anna Holt", "Холт"), not a pronoun or a role ("he", "the minister")."""
    words = re.findall(r"[^\W\d_]+", text)
    return bool(words) and all(w[:1].isupper() for w in words[:1]) and \
        sum(w[:1].isupper() for w in words) >= max(1, len(words) // 2) and words[0].lower() not in STOPWORDS


def _words(text: str) -> list[Tok]:
    return [t for t in tokenize(text) if not t.is_ellipsis]


def collect_pieces(articles: Sequence[Article]) -> list[Piece]:
    """One piece per segment of every direct, partial and indirect quote (indirect ones only join groups)."""
    out: list[Piece] = []
    for order, a in enumerate(sorted(articles, key=lambda a: (*time_order(a), a.id))):
        lang = a.language or script_language(a.text)
        for n, q in enumerate(a.quotes):
            qid = q.id or f"{a.id}:q{n}"
            segs = quote_segments(a, q)
            for s, e in segs:
                words = _words(a.text[s:e])
                if not words:
                    continue
                qlang = script_language(a.text[s:e]) if lang in ("en", "ru") else lang
                direct = q.kind != "indirect" or in_quote_marks(a.text, s, e)
                out.append(Piece(len(out), a, q, qid, s, e, words, [t.stem for t in words], qlang,
                                 speaker_name(a, q), q.speaker.entity_id if q.speaker is not None else None,
                                 a.published.value, order, direct, whole=len(segs) == 1))
    return out


# ---- pairwise relations ------------------------------------------------------------------------------------


def _blocks(a: list[str], b: list[str]) -> list[tuple[int, int, int]]:
    return [(m.a, m.b, m.size) for m in LCSseq.editops(a, b).as_matching_blocks() if m.size]


def _overlap_same_article(a: Piece, b: Piece) -> bool:
    return a.article.id == b.article.id and a.start < b.end and b.start < a.end


def _speakers_differ(a: Piece, b: Piece) -> bool:
    return same_speaker(a.speaker, a.speaker_entity, b.speaker, b.speaker_entity) is False


def _near(a: Piece, b: Piece) -> bool:
    if a.date is None or b.date is None:
        return False
    return abs((a.date - b.date).days) <= NEAR_DAYS


def lexical(a: Piece, b: Piece) -> Relation | None:
    """The relation of two pieces in one language: ``same``, ``in`` (the shorter inside the longer) or None."""
    if _overlap_same_article(a, b) or not (a.direct or b.direct):
        return None
    short, long = (a, b) if len(a.stems) <= len(b.stems) else (b, a)
    ls, ll = len(short.stems), len(long.stems)
    blocks = _blocks(short.stems, long.stems)
    m = sum(s for _, _, s in blocks)
    if not m:
        return None
    ratio = 2 * m / (ls + ll)
    if not (a.direct and b.direct):
        # reported speech joins a quote of another article only, with the same known speaker or in (nearly) the
        # quote's own words (an article's paraphrase of its own quote is not a report of it)
        if a.article.id == b.article.id:
            return None
        verbatim = ratio >= SPEAKERS_DIFFER_RATIO and ls >= 6
        if not verbatim and same_speaker(a.speaker, a.speaker_entity, b.speaker, b.speaker_entity) is not True:
            return None
    if _speakers_differ(a, b):
        return Relation(a.idx, b.idx, "same") if ratio >= SPEAKERS_DIFFER_RATIO and ls >= 4 else None
    region = (blocks[0][1], blocks[-1][1] + blocks[-1][2])
    if ls < MIN_STATEMENT_WORDS:
        # two- and three-word partial quotes are common phrases: join only another article's quote near in time,
        # wholly contained (an article repeating a phrase of its own quote does not carry a statement)
        if m == ls and region[1] - region[0] == ls and _near(a, b) and short.speaker is not None \
                and a.article.id != b.article.id and not _speakers_differ(a, b):
            return Relation(short.idx, long.idx, "same" if ll == ls else "in", region)
        return None
    if a.article.id == b.article.id and ls < SAME_ARTICLE_WORDS:
        return None  # an article echoing a phrase of its own quote does not repeat a statement
    need = ls if ls < 6 else ls - 1 if ls < 8 else CONTAIN * ls
    if m >= need and ll >= LONGER * ls + 1 and region[1] - region[0] <= 1.5 * ls + 2:
        return Relation(short.idx, long.idx, "in", region)
    if ratio >= SAME_RATIO:
        return Relation(a.idx, b.idx, "same")
    return None


def _content(p: Piece) -> set[str]:
    return {t.stem for t in p.words if t.key not in STOPWORDS and len(t.key) > 1}


def _collapse(ps: list[Piece]) -> tuple[list[Piece], dict[int, list[int]]]:
    """Representatives of ``ps`` and the members each stands for: pieces of four words or more with the same
    words, language, speaker and kind relate to every other piece in the same way, so syndicated copies are
    compared once (a story carried by thousands of articles costs pairs over its distinct wordings only)."""
    first: dict[tuple[str, tuple[str, ...], str | None, bool], int] = {}
    members: dict[int, list[int]] = {}
    reps: list[Piece] = []
    for p in ps:
        key = (p.lang, tuple(p.stems), p.speaker, p.direct)
        if len(p.stems) >= MIN_STATEMENT_WORDS and key in first and ps[first[key]].article.id != p.article.id:
            members[first[key]].append(p.idx)  # a copy in another article (a repeat in one article is compared)
            continue
        if len(p.stems) >= MIN_STATEMENT_WORDS:
            first[key] = p.idx
        members[p.idx] = [p.idx]
        reps.append(p)
    return reps, members


def relations(ps: list[Piece], embed: CachedEmbed | None) -> list[Relation]:
    """Relations between the pieces (copies related to their representative as ``same``)."""
    reps, members = _collapse(ps)
    rels: list[Relation] = [Relation(r, m, "same") for r, ms in members.items() for m in ms[1:]]
    index: dict[str, set[int]] = defaultdict(set)
    content = {p.idx: _content(p) for p in reps}
    for p in reps:
        for s in content[p.idx]:
            index[s].add(p.idx)
    for p in reps:
        cs = content[p.idx]
        counts: dict[int, int] = defaultdict(int)
        for s in cs:
            for j in index[s]:
                if j > p.idx:
                    counts[j] += 1
        for j, c in counts.items():
            other = ps[j]
            if other.lang != p.lang or c < min(2, len(cs), len(content[j])):
                continue
            short, long = (p, other) if len(p.stems) <= len(other.stems) else (other, p)
            # a short piece's relation to a long one depends on the long copy's date and article: try each copy
            for m in members[long.idx] if len(short.stems) < MIN_STATEMENT_WORDS else [long.idx]:
                x, y = (p, ps[m]) if long is other else (ps[m], other)
                r = lexical(x, y)
                if r is not None:
                    rels.append(r)
                    break
    if embed is not None and len({p.lang for p in reps}) > 1:
        rels.extend(_cross_lingual(reps, embed))
    return rels


def _sentence_regions(p: Piece) -> list[tuple[str, tuple[int, int]]]:
    """(text, word range) of each sentence of a piece."""
    out = []
    for sp in split_sentences(p.text):
        idx = [k for k, t in enumerate(p.words) if sp.start <= t.start < sp.end]
        if idx:
            out.append((sp.text, (idx[0], idx[-1] + 1)))
    return out


def _cross_lingual(reps: list[Piece], embed: CachedEmbed) -> list[Relation]:
    """Translations: whole pieces by multilingual vectors, or a short piece against a sentence of a longer one."""
    cands = [p for p in reps if p.direct]
    if len({p.lang for p in cands}) < 2:
        return []
    vecs = embed([p.text for p in cands])
    sent_texts: list[str] = []
    sent_owner: list[tuple[int, tuple[int, int]]] = []
    for k, p in enumerate(cands):
        sents = _sentence_regions(p)
        if len(sents) > 1:
            for text, region in sents:
                sent_texts.append(text)
                sent_owner.append((k, region))
    svecs = embed(sent_texts) if sent_texts else np.zeros((0, vecs.shape[1]), dtype=np.float32)
    sims = vecs @ vecs.T
    ssims = vecs @ svecs.T if sent_texts else np.zeros((len(cands), 0))
    cols_of: dict[int, list[int]] = defaultdict(list)
    for k, (o, _) in enumerate(sent_owner):
        cols_of[o].append(k)
    out: list[Relation] = []
    for i, a in enumerate(cands):
        for j in range(i + 1, len(cands)):
            b = cands[j]
            if a.lang == b.lang or _speakers_differ(a, b) or _overlap_same_article(a, b):
                continue
            la, lb = len(a.text), len(b.text)
            if sims[i, j] >= TRANSLATION_COS and 0.5 <= la / max(lb, 1) <= 2.0:
                out.append(Relation(a.idx, b.idx, "same"))
                continue
            (short, ks), (long, kl) = ((a, i), (b, j)) if la <= lb else ((b, j), (a, i))
            cols = cols_of.get(kl, [])
            if cols:
                best = max(cols, key=lambda k: float(ssims[ks, k]))
                if float(ssims[ks, best]) >= TRANSLATION_COS:
                    out.append(Relation(short.idx, long.idx, "in", sent_owner[best][1]))
    return out


# ---- statements: cutting pieces that hold several -----------------------------------------------------------


def _slots(regions: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Regions of one piece merged where they overlap by half the shorter: the stretches carried separately."""
    slots: list[list[int]] = []
    for s, e in sorted(regions):
        if slots:
            ps, pe = slots[-1]
            inter = min(pe, e) - max(ps, s)
            if inter >= 0.5 * min(pe - ps, e - s):
                slots[-1] = [min(ps, s), max(pe, e)]
                continue
        slots.append([s, e])
    return [(s, e) for s, e in slots]


def _cut_points(p: Piece, slots: list[tuple[int, int]]) -> list[int]:
    """Word indices at which ``p`` is cut between consecutive slots (at a sentence end when there is one)."""
    cuts: list[int] = []
    for (_, a1), (b0, _) in zip(slots, slots[1:], strict=False):
        lo, hi = min(a1, b0), max(a1, b0)
        k = next((k for k in range(max(lo, 1), hi + 1) if k < len(p.words)
                  and _SENTENCE_GAP.search(p.text[p.words[k - 1].end:p.words[k].start])), None)
        if k is None:
            k = b0 if a1 <= b0 else (a1 + b0) // 2
        if 0 < k < len(p.words) and (not cuts or k > cuts[-1]):
            cuts.append(k)
    return cuts


def _split(p: Piece, cuts: list[int], idx0: int) -> list[Piece]:
    """The parts of ``p`` between the cut points, as pieces of their own."""
    bounds = [0, *cuts, len(p.words)]
    out: list[Piece] = []
    for n, (k0, k1) in enumerate(zip(bounds, bounds[1:], strict=False)):
        s = p.start if n == 0 else p.start + p.words[k0].start
        e = p.end if k1 == len(p.words) else p.start + p.words[k1].start
        s, e = _trim(p.article.text, s, e)
        words = _words(p.article.text[s:e])
        if not words:
            continue
        out.append(replace(p, idx=idx0 + len(out), start=s, end=e, words=words, stems=[t.stem for t in words],
                           whole=False))
    return out


def cut_statements(ps: list[Piece], rels: list[Relation]) -> list[Piece]:
    """Pieces after cutting every piece that holds several statements carried separately by earlier reports.

    Statements are what was first published: a later quote that joins two earlier quotes is cut between them; a
    long quote published first stays whole, and later excerpts of it are reports of that one statement."""
    regions: dict[int, list[tuple[tuple[int, int], int]]] = defaultdict(list)  # piece -> (region, inner piece)
    same_as: dict[int, list[int]] = defaultdict(list)
    for r in rels:
        if r.kind == "in" and len(ps[r.a].stems) >= MIN_STATEMENT_WORDS:
            regions[r.b].append((r.region, r.a))
        elif r.kind == "same" and ps[r.a].stems == ps[r.b].stems:
            same_as[r.a].append(r.b)
            same_as[r.b].append(r.a)
    # copies share their representative's regions (relations were computed once per wording)
    for i in list(regions):
        for j in same_as.get(i, []):
            if j not in regions:
                regions[j] = regions[i]
    out: list[Piece] = []
    for p in ps:
        earlier = [reg for reg, a in regions.get(p.idx, [])
                   if ps[a].article.id != p.article.id and ps[a].sort_key() < p.sort_key()]
        slots = _slots(earlier)
        cuts = _cut_points(p, slots) if len(slots) > 1 else []
        if cuts:
            out.extend(_split(p, cuts, len(out)))
        else:
            out.append(replace(p, idx=len(out)))
    return out


# ---- grouping ----------------------------------------------------------------------------------------------


def group_statements(articles: Sequence[Article], embed: CachedEmbed | None) -> Grouping:
    """Pieces of every quote of ``articles`` grouped by statement (singletons included; groups without a direct
    or partial quote dropped)."""
    pieces = collect_pieces(articles)
    if not pieces:
        return Grouping([], [])
    multilingual = len({p.lang for p in pieces if p.direct}) > 1
    first_rels = relations(pieces, embed if multilingual else None)
    cut = cut_statements(pieces, first_rels)
    rels = relations(cut, embed if multilingual else None) if len(cut) != len(pieces) else \
        [replace(r) for r in first_rels]
    members: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(components(len(cut), ((r.a, r.b) for r in rels))):
        members[label].append(i)
    groups = []
    for g in members.values():
        g = _no_self_overlap(cut, g)
        if any(cut[i].direct for i in g):
            groups.append(sorted(g, key=lambda i: cut[i].sort_key()))
    groups.sort(key=lambda g: cut[g[0]].sort_key())
    return Grouping(cut, groups, rels)


def _no_self_overlap(ps: list[Piece], g: list[int]) -> list[int]:
    """Within one group, of pieces whose spans overlap in one article keep the longest (never a quote and a part
    of itself)."""
    keep: list[int] = []
    for i in sorted(g, key=lambda i: -(ps[i].end - ps[i].start)):
        if not any(_overlap_same_article(ps[i], ps[j]) for j in keep):
            keep.append(i)
    return keep
