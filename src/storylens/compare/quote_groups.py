"""Quote groups: every report of one statement across articles and outlets, and how each report changed it.

Quotes are matched on normalised words (quote marks, ellipses, brackets, whitespace and case do not count):

* two quotes of about the same length that share most of their words (in order) are the *same* quote;
* a shorter quote whose words appear, in order and close together, inside a longer one is *part of* it;
* a quote in another language is matched by multilingual sentence embeddings (whole quotes, or a short quote
  against the sentences of a longer one).

Groups grow around *seed* clusters (clusters of same quotes that contain no other quote): every longer quote that
contains a seed joins the seed's group, so one long quote that covers two statements appears in both groups.
The canonical text is the longest attested text; each variant carries a word-level diff against it and the kinds
of change it shows (:data:`storylens.model.MutationKind`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz.distance import Indel, LCSseq

from storylens.compare._text import (
    STOPWORDS,
    CachedEmbed,
    Embed,
    Tok,
    normalise_quote,
    same_person,
    script,
    split_sentences,
    tokenize,
)
from storylens.model import Article, DiffOp, MutationKind, Quote, QuoteGroup, QuoteVariant
from storylens.nlp.statements import statements

SAME_RATIO = 0.6  # 2*matched/(len a + len b) for two quotes to be the same quote
CONTAIN = 0.8  # share of the shorter quote's words found in the longer one
TRANSLATION_COS = 0.72  # cosine of multilingual vectors for a translation
LONGER = 1.25  # a containing quote has at least this many times the words of the contained one (+1)

_TENSE_PAIRS = {
    frozenset(p) for p in (("will", "would"), ("is", "was"), ("are", "were"), ("has", "had"), ("have", "had"),
                           ("do", "did"), ("does", "did"), ("can", "could"), ("say", "said"), ("says", "said"),
                           ("shall", "should"), ("am", "was"), ("won't", "wouldn't"), ("can't", "couldn't"),
                           ("'ll", "'d"))
}
_PAREN_RE = re.compile(r"\(([^()]*)\)|\[([^\[\]]*)\]")
_SIGN_OFF = re.compile(r"\s[–—-]\s*\S[^–—-]*$")
_NAME_HEADS = {"agreement", "treaty", "accord", "pact", "deal", "act", "council", "summit", "expansion", "project",
               "channel", "wetlands", "alliance", "authority"}
_CONNECTORS = {"of", "on", "for", "the", "and", "de", "von", "van"}


@dataclass(slots=True)
class _Q:
    idx: int
    article: Article
    quote: Quote
    qid: str
    toks: list[Tok]
    stems: list[str]
    lang: str
    speaker: str | None
    date: dt.date | None
    order: int


@dataclass(slots=True)
class _Unit:
    """A word, or a name written in several words, as one unit of the diff."""

    toks: list[Tok]
    stem: str
    name_words: frozenset[str] = field(default_factory=frozenset)
    entity: str | None = None

    @property
    def text(self) -> str:
        return " ".join(t.text for t in self.toks)

    @property
    def is_name(self) -> bool:
        return bool(self.name_words) or self.entity is not None


# ---- collecting quotes -------------------------------------------------------------------------------------


def _quotes(articles: Sequence[Article]) -> list[_Q]:
    out: list[_Q] = []
    for order, a in enumerate(articles):
        lang = a.language or script(a.text)
        for n, q in enumerate(s for q0 in a.quotes for s in statements(q0, a.text)):  # nlp: one quote per attribution
            toks = tokenize(q.text)
            stems = [t.stem for t in toks if not t.is_ellipsis]
            if not stems:
                continue
            qlang = script(q.text) if lang in ("en", "ru") else lang
            speaker = q.speaker.name if q.speaker is not None and q.speaker.name else None
            out.append(_Q(len(out), a, q, q.id or f"{a.id}:q{n}", toks, stems, qlang, speaker,
                          a.published.value, order))
    return out


# ---- pairwise relations ------------------------------------------------------------------------------------


def _span_ok(short: list[str], long: list[str]) -> bool:
    """The shorter quote's matched words sit close together inside the longer one (not scattered)."""
    blocks = [b for b in LCSseq.editops(short, long).as_matching_blocks() if b.size]
    if not blocks:
        return False
    span = blocks[-1].b + blocks[-1].size - blocks[0].b
    return span <= 1.5 * len(short) + 2


def _contiguous(short: list[str], long: list[str]) -> bool:
    n = len(short)
    return any(long[i:i + n] == short for i in range(len(long) - n + 1))


def _speakers_differ(a: _Q, b: _Q) -> bool:
    return a.speaker is not None and b.speaker is not None and not same_person(a.speaker, b.speaker)


def _near(a: _Q, b: _Q, days: int = 3) -> bool:
    if a.article.id == b.article.id:
        return True
    if a.date is None or b.date is None:
        return False
    return abs((a.date - b.date).days) <= days and not _speakers_differ(a, b) and a.speaker is not None


def _lexical(a: _Q, b: _Q) -> str | None:
    """'same', 'a<b' (a is part of b), 'b<a' or None, for quotes in one language."""
    la, lb = len(a.stems), len(b.stems)
    m = LCSseq.similarity(a.stems, b.stems)
    ratio = 2 * m / (la + lb)
    short, long = (a, b) if la <= lb else (b, a)
    ls, ll = len(short.stems), len(long.stems)
    if _speakers_differ(a, b):
        return "same" if ratio >= 0.85 and ls >= 4 else None
    if ls < 4:
        # two- and three-word partial quotes are common phrases: join only near in time and wholly contained
        if _contiguous(short.stems, long.stems) and _near(a, b) and ll >= ls:
            if ll == ls:
                return "same"
            return "a<b" if short is a else "b<a"
        return None
    need = ls if ls < 6 else ls - 1 if ls < 8 else CONTAIN * ls
    if m >= need and ll >= LONGER * ls + 1 and _span_ok(short.stems, long.stems):
        return "a<b" if short is a else "b<a"
    if ratio >= SAME_RATIO:
        return "same"
    return None


def _collapse(qs: list[_Q]) -> tuple[list[_Q], dict[int, list[int]]]:
    """Representatives of ``qs`` and the members each stands for.

    Quotes of four words or more with the same words, language and speaker relate to every other quote in the same
    way (``_lexical`` looks only at words and speakers once both quotes are that long), so syndicated copies are
    compared once: a story carried by thousands of articles costs pairs over its distinct wordings only."""
    first: dict[tuple[str, tuple[str, ...], str | None], int] = {}
    members: dict[int, list[int]] = {}
    reps: list[_Q] = []
    for q in qs:
        key = (q.lang, tuple(q.stems), q.speaker)
        if len(q.stems) >= 4 and key in first:
            members[first[key]].append(q.idx)
            continue
        if len(q.stems) >= 4:
            first[key] = q.idx
        members[q.idx] = [q.idx]
        reps.append(q)
    return reps, members


def _relations(qs: list[_Q], embed: CachedEmbed | None) -> list[tuple[int, int, str]]:
    reps, members = _collapse(qs)
    rels: list[tuple[int, int, str]] = [(r, m, "same") for r, ms in members.items() for m in ms[1:]]
    # candidate pairs in one language: quotes sharing content words (an inverted index keeps this near-linear)
    index: dict[str, set[int]] = defaultdict(set)
    content = {q.idx: {s for t, s in zip(q.toks, (t.stem for t in q.toks), strict=True)
                       if not t.is_ellipsis and t.key not in STOPWORDS and len(t.key) > 1} for q in reps}
    for q in reps:
        for s in content[q.idx]:
            index[s].add(q.idx)
    for q in reps:
        cs = content[q.idx]
        counts: dict[int, int] = defaultdict(int)
        for s in cs:
            for j in index[s]:
                if j > q.idx:
                    counts[j] += 1
        for j, c in counts.items():
            other = qs[j]
            if other.lang != q.lang or c < min(2, len(cs), len(content[j])):
                continue
            # a short quote's relation to a long one depends on the long copy's date and article: try each copy
            short, long = (q, other) if len(q.stems) <= len(other.stems) else (other, q)
            for m in members[long.idx] if len(short.stems) < 4 else [long.idx]:
                a, b = (q, qs[m]) if long is other else (qs[m], other)
                r = _lexical(a, b)
                if r:
                    rels.append((a.idx, b.idx, r))
                    break
    # across languages: multilingual embeddings
    langs = {q.lang for q in reps}
    if len(langs) > 1 and embed is not None:
        vecs = embed([q.quote.text for q in reps])
        sent_texts: list[str] = []
        sent_owner: list[int] = []
        for k, q in enumerate(reps):
            sents = split_sentences(q.quote.text)
            if len(sents) > 1:
                for sp in sents:
                    sent_texts.append(sp.text)
                    sent_owner.append(k)
        svecs = embed(sent_texts) if sent_texts else np.zeros((0, vecs.shape[1]), dtype=np.float32)
        sims = vecs @ vecs.T
        ssims = vecs @ svecs.T if len(sent_texts) else np.zeros((len(reps), 0))
        cols_of: dict[int, list[int]] = defaultdict(list)
        for k, o in enumerate(sent_owner):
            cols_of[o].append(k)
        for i, a in enumerate(reps):
            for j in range(i + 1, len(reps)):
                b = reps[j]
                if a.lang == b.lang or _speakers_differ(a, b):
                    continue
                la, lb = len(a.quote.text), len(b.quote.text)
                if sims[i, j] >= TRANSLATION_COS and 0.5 <= la / max(lb, 1) <= 2.0:
                    rels.append((a.idx, b.idx, "same"))
                    continue
                (short, ks), (long, kl) = ((a, i), (b, j)) if la <= lb else ((b, j), (a, i))
                cols = cols_of.get(kl, [])
                if cols and max(float(ssims[ks, k]) for k in cols) >= TRANSLATION_COS:
                    rels.append((a.idx, b.idx, "a<b" if short is a else "b<a"))
    return rels


# ---- grouping ----------------------------------------------------------------------------------------------


def _find(parent: list[int], x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def _build_groups(qs: list[_Q], rels: list[tuple[int, int, str]]) -> list[tuple[int, list[int]]]:
    """(seed quote, member quotes) of every group."""
    parent = list(range(len(qs)))
    for i, j, r in rels:
        if r == "same":
            parent[_find(parent, i)] = _find(parent, j)
    cluster = [_find(parent, i) for i in range(len(qs))]
    inside: dict[int, set[int]] = defaultdict(set)  # container cluster -> clusters it contains
    for i, j, r in rels:
        if r == "same":
            continue
        small, big = (i, j) if r == "a<b" else (j, i)
        cs, cb = cluster[small], cluster[big]
        if cs != cb:
            inside[cb].add(cs)
    members: dict[int, list[int]] = defaultdict(list)
    for i, c in enumerate(cluster):
        members[c].append(i)
    # break containment cycles (rare: a<b in one pair, b<a through another) by ignoring the back edges
    seeds = [c for c in members if not inside.get(c)]

    def seeds_under(c: int, seen: set[int]) -> set[int]:
        if c in seen:
            return set()
        seen.add(c)
        if not inside.get(c):
            return {c}
        out: set[int] = set()
        for d in inside[c]:
            out |= seeds_under(d, seen)
        return out

    groups: dict[int, list[int]] = {s: list(members[s]) for s in seeds}
    for c in members:
        if c in groups:
            continue
        under = seeds_under(c, set())
        if not under:  # only in a cycle: a group of its own
            groups[c] = list(members[c])
        for s in under:
            groups[s].extend(members[c])
    out = [(min(members[s]), set(g)) for s, g in groups.items()]
    # two seeds inside the same fuller quotes, carried by mostly the same articles: one statement, one group
    merged = True
    while merged:
        merged = False
        owner: dict[int, list[int]] = defaultdict(list)  # only groups sharing a member can overlap by half
        for x, (_, g) in enumerate(out):
            for m in g:
                owner[m].append(x)
        for x in range(len(out)):
            for y in sorted({y for m in out[x][1] for y in owner[m] if y > x}):
                a, b = out[x][1], out[y][1]
                if len(a & b) / len(a | b) >= 0.5:
                    out[x] = (min(out[x][0], out[y][0]), a | b)
                    del out[y]
                    merged = True
                    break
            if merged:
                break
    return [(seed, sorted(g)) for seed, g in out]


# ---- diff and mutations ------------------------------------------------------------------------------------


def _name_units(text: str, toks: list[Tok], quote_start: int | None, article: Article | None) -> list[_Unit]:
    """Words as diff units; a name (an entity mention, else a run of capitalised words) is one unit."""
    toks = [t for t in toks if not t.is_ellipsis]

    def gap(i: int) -> str:  # the characters between token i-1 and token i
        return text[toks[i - 1].end:toks[i].start] if i > 0 else ""

    ents: list[tuple[int, int, str | None]] = []
    if article is not None and quote_start is not None:
        for e in article.entities:
            if quote_start <= e.start and e.end <= quote_start + max((t.end for t in toks), default=0) + 1:
                ents.append((e.start - quote_start, e.end - quote_start, e.entity_id or e.name or e.text.lower()))
    units: list[_Unit] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        ent = next((e for e in ents if e[0] <= t.start < e[1]), None)
        if ent is not None:
            run = [x for x in toks[i:] if x.start < ent[1]]
            words = frozenset(x.key for x in run if x.key not in STOPWORDS and len(x.key) > 2)
            units.append(_Unit(run, f"ENT:{ent[2]}", words, ent[2]))
            i += len(run)
            continue
        initial = i == 0 or bool(re.search(r"[.!?:;\"“”«»]", gap(i)))
        capital = t.text[:1].isupper() and not t.paren and not t.bracket
        if capital and (not initial or t.text.isupper() and len(t.text) > 1) and t.key not in ("i",):
            j = i + 1
            while j < len(toks):
                nx = toks[j]
                if re.search(r"[^\s-]", gap(j)):
                    break
                if nx.text[:1].isupper() and not nx.paren:
                    j += 1
                elif (nx.key in _CONNECTORS and j + 1 < len(toks) and toks[j + 1].text[:1].isupper()
                      and toks[j + 1].key not in STOPWORDS):
                    j += 2
                else:
                    break
            if j < len(toks) and toks[j].key in _NAME_HEADS and not re.search(r"[^\s-]", gap(j)):
                j += 1
            run = toks[i:j]
            words = frozenset(x.key for x in run if x.key not in STOPWORDS and x.key not in _CONNECTORS
                              and x.key not in _NAME_HEADS and len(x.key) > 2)
            if words:
                units.append(_Unit(run, "NAME", words))
                i = j
                continue
        units.append(_Unit([t], t.stem))
        i += 1
    return units


def _unify_names(a: list[_Unit], b: list[_Unit]) -> None:
    """Give names that share a significant word (or an entity id) one key across the two texts."""
    names = [u for u in a + b if u.is_name]
    parent = list(range(len(names)))
    for i, u in enumerate(names):
        for j in range(i):
            v = names[j]
            if (u.entity and u.entity == v.entity) or (u.name_words & v.name_words):
                parent[_find(parent, i)] = _find(parent, j)
    for i, u in enumerate(names):
        u.stem = f"NAME#{_find(parent, i)}"


def _same_surface(a: _Unit, b: _Unit) -> bool:
    return a.text.lower().replace("’", "'") == b.text.lower().replace("’", "'")


def _is_tense_pair(x: str, y: str) -> bool:
    x, y = x.lower().replace("’", "'"), y.lower().replace("’", "'")
    if frozenset((x, y)) in _TENSE_PAIRS:
        return True
    return x != y and (x.endswith("ed") != y.endswith("ed")) and x.rstrip("ed")[:4] == y.rstrip("ed")[:4]


def _insertions(text: str, outlet: str | None) -> list[str]:
    """The outlet's own words inside a quote: '[the]', '(Stoltenberg and Biden – TASS)'."""
    found = []
    for m in _PAREN_RE.finditer(text):
        inner = (m.group(1) if m.group(1) is not None else m.group(2) or "").strip()
        if not inner or set(inner) <= set(".… "):
            continue  # an elision
        if m.group(2) is not None or _SIGN_OFF.search(inner) or (outlet and outlet.lower() in inner.lower()):  # [square brackets]: an editor's words
            found.append(m.group(0))
    return found


@dataclass(slots=True)
class _DiffResult:
    ops: list[DiffOp]
    mutations: list[MutationKind]
    details: list[str]
    similarity: float


def diff_quotes(canonical: str, variant: str, *, canonical_article: Article | None = None,
                canonical_start: int | None = None, variant_article: Article | None = None,
                variant_start: int | None = None) -> _DiffResult:
    """Word-level diff of ``variant`` against ``canonical`` (same language) and the kinds of change it shows."""
    ctoks, vtoks = tokenize(canonical), tokenize(variant)
    cu = _name_units(canonical, ctoks, canonical_start, canonical_article)
    vu = _name_units(variant, vtoks, variant_start, variant_article)
    _unify_names(cu, vu)
    ck, vk = [u.stem for u in cu], [u.stem for u in vu]
    sm = difflib.SequenceMatcher(None, ck, vk, autojunk=False)
    ops: list[DiffOp] = []
    muts: list[MutationKind] = []
    details: list[str] = []
    # elisions in the variant: word index (in vu) after which an ellipsis stands
    vwords = [t for t in vtoks if not t.is_ellipsis]
    elided_at: set[int] = set()
    k = 0
    for t in vtoks:
        if t.is_ellipsis:
            elided_at.add(k)
        else:
            k += 1
    # map token count to unit index
    unit_end: list[int] = []
    n = 0
    for u in vu:
        n += len(u.toks)
        unit_end.append(n)

    def add(op: str, c: str, v: str) -> None:
        if ops and ops[-1].op == op == "equal":
            ops[-1].canonical += " " + c
            ops[-1].variant += " " + v
        else:
            ops.append(DiffOp(op, c, v))  # type: ignore[arg-type]

    opcodes = sm.get_opcodes()
    for idx, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        ctext = " ".join(u.text for u in cu[i1:i2])
        vtext = " ".join(u.text for u in vu[j1:j2])
        edge = idx == 0 or idx == len(opcodes) - 1
        if tag == "equal":
            for a, b in zip(cu[i1:i2], vu[j1:j2], strict=True):
                if _same_surface(a, b):
                    add("equal", a.text, b.text)
                    continue
                add("replace", a.text, b.text)
                if a.is_name or b.is_name:
                    muts.append("name_changed")
                    details.append(f"name: {a.text} → {b.text}")
                elif _is_tense_pair(a.text, b.text):
                    muts.append("tense_changed")
                    details.append(f"tense: {a.text} → {b.text}")
                else:
                    muts.append("words_changed")
                    details.append(f"form: {a.text} → {b.text}")
        elif tag == "delete" and (unit_end[j1 - 1] if j1 > 0 else 0) in elided_at:
            add("delete", ctext, "")
            muts.append("cut")
            details.append(f"elided: {ctext}")
        elif tag == "delete" and _minor(cu[i1:i2]):
            add("delete", ctext, "")
            muts.append("words_changed")
            details.append(f"dropped: {ctext}")
        elif tag == "insert" and _minor(vu[j1:j2]) and not any(t.paren or t.bracket for u in vu[j1:j2] for t in u.toks):
            add("insert", "", vtext)
            muts.append("words_changed")
            details.append(f"added: {vtext}")
        elif tag == "delete":
            add("delete", ctext, "")
            before_words = unit_end[j1 - 1] if j1 > 0 else 0
            if before_words in elided_at:
                details.append(f"elided: {ctext}")
            elif edge:
                details.append(f"cut: {_clip(ctext)}")
            else:
                details.append(f"dropped: {ctext}")
            muts.append("cut")
        elif tag == "insert":
            add("insert", "", vtext)
            if all(t.paren or t.bracket for u in vu[j1:j2] for t in u.toks):
                muts.append("words_inserted")
                details.append(f"inserted: {vtext}")
            elif edge:
                muts.append("extended")
                details.append(f"extended: {_clip(vtext)}")
            else:
                muts.append("words_changed")
                details.append(f"added: {vtext}")
        else:  # replace
            add("replace", ctext, vtext)
            cs, vs = cu[i1:i2], vu[j1:j2]
            if any(u.is_name for u in cs) and any(u.is_name for u in vs) and len(vs) <= 3:
                muts.append("name_changed")
                details.append(f"name: {ctext} → {vtext}")
            elif len(cs) == len(vs) and all(_is_tense_pair(a.text, b.text) or _same_surface(a, b)
                                            for a, b in zip(cs, vs, strict=True)):
                muts.append("tense_changed")
                details.append(f"tense: {ctext} → {vtext}")
            elif all(t.bracket or t.paren for u in vs for t in u.toks):
                muts.append("words_inserted")
                details.append(f"inserted: {vtext} (for {ctext})")
            elif edge and j2 == len(vu) and len(cs) > 2 * len(vs) + 2:
                muts.append("cut")
                details.append(f"cut: {_clip(ctext)}")
            else:
                pair_tense = [(a.text, b.text) for a, b in zip(cs, vs, strict=False) if _is_tense_pair(a.text, b.text)]
                if pair_tense:
                    muts.append("tense_changed")
                    details.extend(f"tense: {a} → {b}" for a, b in pair_tense)
                muts.append("words_changed")
                details.append(f"changed: {ctext} → {vtext}")
    ins = _insertions(variant, variant_article.outlet if variant_article else None)
    for s in ins:
        if "words_inserted" not in muts:
            muts.append("words_inserted")
        if not any(s in d for d in details):
            details.append(f"inserted: {s}")
    sim = Indel.normalized_similarity(ck, vk) if ck or vk else 1.0
    del vwords
    return _DiffResult(ops, _dedupe(muts), details, float(sim))


def _minor(units: list[_Unit]) -> bool:
    """One or two function words ('But', 'of'): a wording change, not a cut or an extension."""
    return len(units) <= 2 and all(len(u.toks) == 1 and u.toks[0].key in STOPWORDS for u in units)


def _clip(s: str, n: int = 60) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def _dedupe(muts: list[MutationKind]) -> list[MutationKind]:
    order: list[MutationKind] = ["cut", "extended", "words_changed", "words_inserted", "name_changed",
                                 "tense_changed", "translated", "paraphrased", "speaker_changed"]
    got = set(muts)
    return [m for m in order if m in got]


def _extends(first: _Q, v: _Q) -> bool:
    """``v`` carries words at its edges beyond the first report of the statement."""
    if first.idx == v.idx or first.lang != v.lang or len(v.stems) <= len(first.stems) + 1:
        return False
    sm = difflib.SequenceMatcher(None, first.stems, v.stems, autojunk=False)
    blocks = [b for b in sm.get_matching_blocks() if b.size]
    matched = sum(b.size for b in blocks)
    if matched < 0.8 * len(first.stems):
        return False
    return blocks[0].b > 0 or blocks[-1].b + blocks[-1].size < len(v.stems)


# ---- public ----------------------------------------------------------------------------------------------


def _sort_key(q: _Q) -> tuple[dt.date, int, int]:
    return (q.date or dt.date.max, q.order, q.quote.start)


def group_quotes(articles: Sequence[Article], embed: Embed | None = None, *, story_id: str | None = None,
                 min_variants: int = 1) -> list[QuoteGroup]:
    """Quote groups of ``articles`` (a story, a narrative or a whole store), most widely carried first.

    ``embed`` (texts → L2-normalised vectors) matches translations; without it the default multilingual encoder
    is loaded only when the quotes are in more than one language.  Group ids are ``<story_id>:<hash>``.
    """
    qs = _quotes(articles)
    if not qs:
        return []
    cached = embed if isinstance(embed, CachedEmbed) else CachedEmbed(embed)
    rels = _relations(qs, cached if len({q.lang for q in qs}) > 1 else None)
    groups = [(seed, g) for seed, g in _build_groups(qs, rels) if len(g) >= min_variants]
    out: list[QuoteGroup] = []
    used_ids: set[str] = set()
    for seed, g in groups:
        out.append(_make_group(g, seed, qs, cached, story_id, used_ids))
    out.sort(key=lambda gr: (-len({v.outlet for v in gr.variants}), -len(gr.variants),
                             gr.first_published or dt.date.max, gr.id))
    return out


def _make_group(idx: list[int], seed: int, qs: list[_Q], embed: CachedEmbed, story_id: str | None,
                used_ids: set[str]) -> QuoteGroup:
    members = sorted((qs[i] for i in idx), key=_sort_key)
    langs: dict[str, int] = defaultdict(int)
    for q in members:
        langs[q.lang] += 1
    main_lang = max(langs, key=lambda lg: (langs[lg], -min(_sort_key(q) for q in members if q.lang == lg)[1]))
    pool = [q for q in members if q.lang == main_lang and q.quote.kind != "indirect"] or \
        [q for q in members if q.lang == main_lang]
    canon = max(pool, key=lambda q: (len(q.stems), -members.index(q)))
    first = members[0]
    first_full = next((q for q in members if q.lang == main_lang and q.quote.kind == "direct"), first)
    speakers: dict[str, int] = defaultdict(int)
    for q in members:
        if q.speaker:
            speakers[q.speaker] += 1
    speaker = max(speakers, key=lambda s: speakers[s]) if speakers else None
    variants: list[QuoteVariant] = []
    for q in members:
        v = QuoteVariant(quote_id=q.qid, article_id=q.article.id, outlet=q.article.outlet, published=q.date,
                         text=q.quote.text, kind=q.quote.kind, speaker=q.speaker)
        if q.lang != canon.lang:
            vec = embed([canon.quote.text, q.quote.text])
            v.similarity = round(float(vec[0] @ vec[1]), 3)
            v.mutations = ["translated"]
            if len(q.quote.text) < 0.6 * len(canon.quote.text):
                v.mutations.append("cut")
            v.diff = [DiffOp("replace", canon.quote.text, q.quote.text)]
            v.details = [f"translated ({canon.lang} → {q.lang})"]
        else:
            d = diff_quotes(canon.quote.text, q.quote.text, canonical_article=canon.article,
                            canonical_start=canon.quote.start, variant_article=q.article, variant_start=q.quote.start)
            v.diff, v.similarity, v.details = d.ops, round(d.similarity, 3), d.details
            muts = list(d.mutations)
            if d.similarity < 0.5 and "cut" not in muts or d.similarity < 0.35 and len(q.stems) >= 0.5 * len(canon.stems):
                muts = ["paraphrased", *[m for m in muts if m == "words_inserted"]]
            if "paraphrased" in muts:
                # a word diff of a paraphrase is noise: show the two wordings side by side instead
                v.diff = [DiffOp("replace", canon.quote.text, q.quote.text)]
                v.details = [f"same statement in other words (word similarity {v.similarity:.2f})"]
            elif _extends(first_full, q) and "extended" not in muts:
                muts.append("extended")
                v.details.append(f"longer than the first report ({first_full.article.outlet or 'unknown outlet'})")
            v.mutations = _dedupe(muts)
        if speaker and q.speaker and not same_person(q.speaker, speaker):
            v.mutations.append("speaker_changed")
            v.details.append(f"speaker: {q.speaker} (others: {speaker})")
        if not v.mutations:
            v.mutations = ["identical"]
        variants.append(v)
    key = normalise_quote(canon.quote.text) + "|" + normalise_quote(qs[seed].quote.text)
    digest = hashlib.sha1(key.encode()).hexdigest()[:10]
    gid = f"{story_id}:{digest}" if story_id else f"q:{digest}"
    n = 2
    base = gid
    while gid in used_ids:
        gid = f"{base}-{n}"
        n += 1
    used_ids.add(gid)
    return QuoteGroup(id=gid, canonical=canon.quote.text, speaker=speaker, variants=variants,
                      first_outlet=first.article.outlet, first_article=first.article.id, first_published=first.date,
                      story_id=story_id, canonical_article=canon.article.id, canonical_quote=canon.qid)
