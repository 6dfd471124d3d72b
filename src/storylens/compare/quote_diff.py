"""How one report of a statement differs from another (the first report): a word diff and the kinds of change.

Words are compared in lower case with quote marks, punctuation and spacing ignored, so a change is claimed only when
the words differ.  A name (an entity mention, else a run of capitalised words) is one unit; two names are the same
name written differently when they share a significant word, an entity id, or one is the other's initials
("United States" / "U.S."), and words directly attached to a renamed name ("the new Harbour Act bill" for
"Harbour Act") belong to the renaming.  Kinds (:data:`storylens.model.MutationKind`):

* ``cut`` — words of the reference missing at an edge, or replaced by an ellipsis;
* ``extended`` — words beyond the reference at an edge;
* ``words_inserted`` — words inside [brackets] or (parentheses) that the reference does not have: the outlet's own;
* ``name_changed`` — a name written another way;
* ``tense_changed`` — a verb in another tense (is/was, will/would, welcome/welcomed, say/said ...);
* ``words_changed`` — any other word added, dropped or replaced inside the quote.

The diff is kept as :class:`~storylens.model.DiffOp` spans that tile the variant's original text (punctuation
and all): joining every op's ``variant`` gives the variant back, ``canonical`` holds the reference's words an op
replaces or drops, so renderers show the quote as it was carried with the changes marked over it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from rapidfuzz.distance import Indel

from storylens.compare.names import acronym
from storylens.graph import components
from storylens.model import Article, DiffOp, MutationKind, QuoteChange
from storylens.text.stopwords import STOPWORDS
from storylens.text.tokens import Tok, tokenize

# function words that join the words of one name ("Bank of England", "Ludwig van Beethoven")
_CONNECTORS = frozenset(["of", "for", "the", "and", "de", "del", "der", "von", "van", "la", "le", "du", "bin", "al"])
_AUX_TENSE = {frozenset(p) for p in (
    ("will", "would"), ("is", "was"), ("are", "were"), ("has", "had"), ("have", "had"), ("do", "did"),
    ("does", "did"), ("can", "could"), ("shall", "should"), ("may", "might"), ("am", "was"), ("won't", "wouldn't"),
    ("can't", "couldn't"), ("isn't", "wasn't"), ("aren't", "weren't"), ("don't", "didn't"), ("doesn't", "didn't"),
    ("hasn't", "hadn't"), ("haven't", "hadn't"), ("'ll", "'d"), ("'s", "was"), ("'re", "were"))}
# common irregular English verbs: present -> past
_IRREGULAR = {"say": "said", "says": "said", "go": "went", "goes": "went", "take": "took", "takes": "took",
              "make": "made", "makes": "made", "think": "thought", "thinks": "thought", "know": "knew",
              "knows": "knew", "come": "came", "comes": "came", "give": "gave", "gives": "gave", "tell": "told",
              "tells": "told", "see": "saw", "sees": "saw", "get": "got", "gets": "got", "become": "became",
              "becomes": "became", "keep": "kept", "keeps": "kept", "leave": "left", "leaves": "left",
              "meet": "met", "meets": "met", "win": "won", "wins": "won", "lose": "lost", "loses": "lost",
              "feel": "felt", "feels": "felt", "bring": "brought", "brings": "brought", "buy": "bought",
              "buys": "bought", "hold": "held", "holds": "held", "stand": "stood", "stands": "stood",
              "run": "ran", "runs": "ran", "begin": "began", "begins": "began", "find": "found", "finds": "found",
              "lead": "led", "leads": "led", "send": "sent", "sends": "sent", "build": "built", "builds": "built",
              "spend": "spent", "spends": "spent", "pay": "paid", "pays": "paid", "mean": "meant",
              "means": "meant", "fight": "fought", "fights": "fought", "seek": "sought", "seeks": "sought",
              "teach": "taught", "teaches": "taught", "write": "wrote", "writes": "wrote", "speak": "spoke",
              "speaks": "spoke", "choose": "chose", "chooses": "chose", "rise": "rose", "rises": "rose",
              "fall": "fell", "falls": "fell", "grow": "grew", "grows": "grew", "show": "showed", "hear": "heard",
              "hears": "heard", "sell": "sold", "sells": "sold", "understand": "understood",
              "understands": "understood", "let": "let", "put": "put", "set": "set", "cut": "cut"}
_PAST_FORMS = {v for v in _IRREGULAR.values()}
_ELLIPSIS_KEY = "…"


@dataclass(slots=True)
class Unit:
    """A word, or a name written in several words, as one unit of the diff."""

    toks: list[Tok]
    key: str
    name_words: frozenset[str] = field(default_factory=frozenset)
    entity: str | None = None
    letters: str | None = None  # an abbreviation written in capitals or initials ("US", "U.S.")

    @property
    def start(self) -> int:
        return self.toks[0].start

    @property
    def end(self) -> int:
        return self.toks[-1].end

    @property
    def is_name(self) -> bool:
        return bool(self.name_words) or self.entity is not None or self.letters is not None

    @property
    def marked(self) -> bool:
        """Inside [brackets] or (parentheses): an editor's or outlet's words."""
        return all(t.bracket or t.paren for t in self.toks)


@dataclass(slots=True)
class DiffResult:
    ops: list[DiffOp]
    mutations: list[MutationKind]
    details: list[str]
    similarity: float
    changes: list[QuoteChange] = field(default_factory=list)


# ---- units -------------------------------------------------------------------------------------------------


def _norm(word: str) -> str:
    return word.lower().replace("’", "'").replace("‘", "'")


def units_of(text: str, toks: list[Tok], quote_start: int | None = None, article: Article | None = None) -> list[Unit]:
    """Words as diff units; a name (a run of capitalised words) is one unit.  Units come from the text alone, so
    the same words give the same units in both reports; an entity id the analysis gives a name's words is kept for
    unifying two spellings of one entity."""
    toks = [t for t in toks if not t.is_ellipsis]
    ents: list[tuple[int, int, str]] = []
    if article is not None and quote_start is not None:
        end = quote_start + len(text)
        ents = [(e.start - quote_start, e.end - quote_start, e.entity_id) for e in article.entities
                if e.entity_id and quote_start <= e.start and e.end <= end]

    def gap(i: int) -> str:
        return text[toks[i - 1].end:toks[i].start] if i > 0 else text[:toks[0].start]

    units: list[Unit] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        initial = i == 0 or bool(re.search(r"[.!?:;\"“”«»]", gap(i)))
        capital = t.text[:1].isupper() and not t.paren and not t.bracket
        if capital and (not initial or t.text.isupper() and len(t.text) > 1) and t.key != "i":
            j = i + 1
            while j < len(toks):
                nx = toks[j]
                g = gap(j)
                # a name runs on over spaces and hyphens, and over the full stop of an initial ("U.S.", "J. Smith")
                if re.search(r"[^\s.\-]", g) or ("." in g and not (len(toks[j - 1].text) == 1
                                                                    and toks[j - 1].text.isupper())):
                    break
                if nx.text[:1].isupper() and not nx.paren and not nx.bracket:
                    j += 1
                elif (nx.key in _CONNECTORS and j + 1 < len(toks) and toks[j + 1].text[:1].isupper()
                      and toks[j + 1].key not in STOPWORDS and not re.search(r"[^\s]", gap(j + 1))):
                    j += 2
                else:
                    break
            run = toks[i:j]
            words = frozenset(_norm(x.text) for x in run if x.key not in STOPWORDS and x.key not in _CONNECTORS
                              and len(x.key) > 2)
            letters = _letters(run)
            if words or letters:
                ent = next((e[2] for e in ents if e[0] <= run[0].start and run[-1].end <= e[1]), None)
                units.append(Unit(run, "NAME", words, ent, letters))
                i = j
                continue
        units.append(Unit([t], _norm(t.text)))
        i += 1
    return units


def _letters(run: list[Tok]) -> str | None:
    """"us" for "U.S." or "US", "un" for "UN": the letters of an abbreviation, else None."""
    if all(len(t.text) == 1 and t.text.isupper() for t in run) and len(run) > 1:
        return "".join(t.text for t in run).lower()
    if len(run) == 1 and run[0].text.isupper() and 2 <= len(run[0].text) <= 6:
        return run[0].text.lower()
    return None


def _same_name(u: Unit, v: Unit) -> bool:
    if (u.entity and u.entity == v.entity) or _same_surface(u, v):
        return True
    if u.name_words & v.name_words:
        return True
    for a, b in ((u, v), (v, u)):
        if a.letters and len(b.name_words) > 1 and a.letters == acronym(
                [_norm(t.text) for t in b.toks if t.key not in _CONNECTORS]):
            return True
    return bool(u.letters and u.letters == v.letters)


def unify_names(a: list[Unit], b: list[Unit]) -> None:
    """Give names that are one name written differently one key across the two texts."""
    names = [u for u in a + b if u.is_name]
    same = [(i, j) for i, u in enumerate(names) for j in range(i) if _same_name(u, names[j])]
    for u, label in zip(names, components(len(names), same), strict=True):
        u.key = f"NAME#{label}"


# ---- word classes ------------------------------------------------------------------------------------------


def is_tense_pair(x: str, y: str) -> bool:
    """Two forms of one verb in present and past ("is"/"was", "welcome"/"welcomed", "say"/"said")."""
    x, y = _norm(x), _norm(y)
    if x == y:
        return False
    if frozenset((x, y)) in _AUX_TENSE:
        return True
    if _IRREGULAR.get(x) == y or _IRREGULAR.get(y) == x:
        return True
    pres, past = (x, y) if y.endswith("ed") or y in _PAST_FORMS else (y, x)
    if not past.endswith("ed") or pres.endswith("ed") or len(pres) < 3:
        return False
    stem_ = pres[:-1] if pres.endswith("s") and not pres.endswith("ss") else pres
    return past in (stem_ + "ed", stem_ + "d", stem_[:-1] + "ied", stem_ + stem_[-1:] + "ed")


def _minor(units: list[Unit]) -> bool:
    """One or two function words ('But', 'of'): a wording change, not a cut or an extension."""
    return len(units) <= 2 and all(len(u.toks) == 1 and u.toks[0].key in STOPWORDS for u in units)


def _same_surface(a: Unit, b: Unit) -> bool:
    return " ".join(_norm(t.text) for t in a.toks) == " ".join(_norm(t.text) for t in b.toks)


def _ellipses(toks: list[Tok]) -> set[int]:
    """Word indices before which an ellipsis stands (its position among the words)."""
    out: set[int] = set()
    k = 0
    for t in toks:
        if t.is_ellipsis:
            out.add(k)
        else:
            k += 1
    return out


# ---- the diff ----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Op:
    tag: str  # equal, delete, insert, replace
    i1: int
    i2: int
    j1: int
    j2: int
    kind: MutationKind | None = None
    detail: str = ""


def diff_quotes(canonical: str, variant: str, *, canonical_article: Article | None = None,
                canonical_start: int | None = None, variant_article: Article | None = None,
                variant_start: int | None = None) -> DiffResult:
    """Word diff of ``variant`` against ``canonical`` (the reference report, same language) and the changes."""
    ctoks, vtoks = tokenize(canonical), tokenize(variant)
    cu = units_of(canonical, ctoks, canonical_start, canonical_article)
    vu = units_of(variant, vtoks, variant_start, variant_article)
    unify_names(cu, vu)
    c_elided, v_elided = _ellipses(ctoks), _ellipses(vtoks)
    c_word_at = _unit_word_index(cu)
    v_word_at = _unit_word_index(vu)
    sm = difflib.SequenceMatcher(None, [u.key for u in cu], [u.key for u in vu], autojunk=False)
    ops: list[_Op] = []
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            # a name written another way is a change inside an equal run: split it out
            start_i, start_j = i1, j1
            for k in range(i2 - i1):
                a, b = cu[i1 + k], vu[j1 + k]
                if a.is_name and not _same_surface(a, b):
                    if i1 + k > start_i:
                        ops.append(_Op("equal", start_i, i1 + k, start_j, j1 + k))
                    ops.append(_Op("replace", i1 + k, i1 + k + 1, j1 + k, j1 + k + 1, "name_changed",
                                   "name"))
                    start_i, start_j = i1 + k + 1, j1 + k + 1
            if i2 > start_i:
                ops.append(_Op("equal", start_i, i2, start_j, j2))
        else:
            ops.append(_Op(tag, i1, i2, j1, j2))
    ops = [_Op("equal", o.i1, o.i2, o.j1, o.j2) if o.tag == "replace" and o.kind is None
           and _words_of(cu[o.i1:o.i2]) == _words_of(vu[o.j1:o.j2]) else o for o in ops]
    ops = [part for o in ops for part in _split_replace(o, cu, vu)]
    ops = _absorb_into_names(ops, cu, vu, canonical, variant)
    # a renaming whose words are the same once attached words are absorbed is no change
    ops = [_Op("equal", o.i1, o.i2, o.j1, o.j2) if o.kind == "name_changed"
           and _words_of(cu[o.i1:o.i2]) == _words_of(vu[o.j1:o.j2]) else o for o in ops]
    for op in ops:
        if op.tag != "equal" and op.kind is None:
            op.kind, op.detail = _classify(op, cu, vu, c_elided, v_elided, c_word_at, v_word_at)
    muts: list[MutationKind] = []
    details: list[str] = []
    changes: list[QuoteChange] = []
    base = variant_start or 0
    for op in ops:
        if op.tag == "equal" or op.kind is None:
            continue
        frm = _slice(canonical, cu[op.i1:op.i2])
        to = _slice(variant, vu[op.j1:op.j2])
        muts.append(op.kind)
        details.append(f"{op.detail}: {_clip(frm) or '∅'} → {_clip(to) or '∅'}")
        if op.j2 > op.j1:
            s, e = _span(variant, vu[op.j1:op.j2])
        else:
            s = e = vu[op.j1 - 1].end if op.j1 > 0 else (vu[0].start if vu else 0)
        changes.append(QuoteChange(op.kind, frm, to, base + s, base + e))
    for kind, frm, to, s, e in _extra_insertions(variant, vu, ops):
        if not any(c.kind == "words_inserted" and c.to == to for c in changes):
            muts.append(kind)
            details.append(f"inserted: {to}")
            changes.append(QuoteChange(kind, frm, to, base + s, base + e))
    ck, vk = [u.key for u in cu], [u.key for u in vu]
    sim = Indel.normalized_similarity(ck, vk) if ck or vk else 1.0
    return DiffResult(_tile(canonical, variant, cu, vu, ops), dedupe(muts), details, float(sim), changes)


def _words_of(units: list[Unit]) -> list[str]:
    return [_norm(t.text) for u in units for t in u.toks]


def _unit_word_index(units: list[Unit]) -> list[int]:
    """For each unit, the number of words before it (to place ellipses)."""
    out, n = [], 0
    for u in units:
        out.append(n)
        n += len(u.toks)
    out.append(n)
    return out


def _split_replace(op: _Op, cu: list[Unit], vu: list[Unit]) -> list[_Op]:
    """A replacement of unequal length whose shorter side pairs up, word for word, with the longer side's end (or
    start) as tense pairs: the rest is dropped or added words ("the channel will" -> "would": dropped "the channel",
    tense "will" -> "would")."""
    if op.tag != "replace" or op.kind is not None:
        return [op]
    nc, nv = op.i2 - op.i1, op.j2 - op.j1
    if nc == nv or min(nc, nv) == 0:
        return [op]
    n = min(nc, nv)

    def tense(i: int, j: int) -> bool:
        a, b = cu[i], vu[j]
        return len(a.toks) == 1 and len(b.toks) == 1 and is_tense_pair(a.toks[0].text, b.toks[0].text)

    if all(tense(op.i2 - n + k, op.j2 - n + k) for k in range(n)):  # the pairs at the end
        head = _Op("delete" if nc > nv else "insert", op.i1, op.i2 - n, op.j1, op.j2 - n)
        return [head, _Op("replace", op.i2 - n, op.i2, op.j2 - n, op.j2)]
    if all(tense(op.i1 + k, op.j1 + k) for k in range(n)):  # the pairs at the start
        tail = _Op("delete" if nc > nv else "insert", op.i1 + n, op.i2, op.j1 + n, op.j2)
        return [_Op("replace", op.i1, op.i1 + n, op.j1, op.j1 + n), tail]
    return [op]


def _absorb_into_names(ops: list[_Op], cu: list[Unit], vu: list[Unit], ctext: str, vtext: str) -> list[_Op]:
    """Words attached to a renamed name — at most two, joined to it by spaces only, ending at punctuation or at the
    end of the added or dropped stretch, never the outlet's bracketed words — are part of the renaming: "Harbour
    Act" -> "the new Harbour Act bill." is one name change, not a name change and an extension."""
    out = list(ops)

    def attached(units: list[Unit], text: str, lo: int, hi: int, side: int) -> int:
        """How many units of units[lo:hi] next to the name (after it: side 1, before it: -1) belong to it."""
        seq = list(range(lo, hi)) if side > 0 else list(range(hi - 1, lo - 1, -1))
        n = 0
        for k in seq[:3]:
            a, b = (units[k - 1], units[k]) if side > 0 else (units[k], units[k + 1])
            if units[k].marked or units[k].is_name or re.search(r"[^\s]", text[a.end:b.start]):
                break
            n += 1
        if n == 0 or n > 2:
            return 0
        rest = seq[n:]
        if not rest:
            return n
        a, b = (units[rest[0] - 1], units[rest[0]]) if side > 0 else (units[rest[0]], units[rest[0] + 1])
        return n if re.search(r"[^\s]", text[a.end:b.start]) else 0

    for op in [o for o in out if o.kind == "name_changed"]:
        k = out.index(op)
        for side in (1, -1):
            n = k + side
            if not 0 <= n < len(out) or out[n].tag not in ("insert", "delete") or out[n].kind is not None:
                continue
            nb = out[n]
            if nb.tag == "insert":
                m = attached(vu, vtext, nb.j1, nb.j2, side)
                if side > 0:
                    op.j2, nb.j1 = op.j2 + m, nb.j1 + m
                else:
                    op.j1, nb.j2 = op.j1 - m, nb.j2 - m
            else:
                m = attached(cu, ctext, nb.i1, nb.i2, side)
                if side > 0:
                    op.i2, nb.i1 = op.i2 + m, nb.i1 + m
                else:
                    op.i1, nb.i2 = op.i1 - m, nb.i2 - m
        out = [o for o in out if o.tag == "equal" or o.kind is not None or o.i2 > o.i1 or o.j2 > o.j1]
    return out


def _classify(op: _Op, cu: list[Unit], vu: list[Unit], c_elided: set[int], v_elided: set[int],
              c_word_at: list[int], v_word_at: list[int]) -> tuple[MutationKind, str]:
    cs, vs = cu[op.i1:op.i2], vu[op.j1:op.j2]
    elided_here = v_word_at[op.j1] in v_elided
    if op.tag == "delete":
        if elided_here:
            return "cut", "elided"
        if _minor(cs):
            return "words_changed", "dropped"
        if op.j1 == 0 or op.j1 == len(vu):
            return "cut", "cut"
        return "words_changed", "dropped"
    if op.tag == "insert":
        if all(u.marked for u in vs):
            return "words_inserted", "inserted"
        if c_word_at[op.i1] in c_elided:
            return "words_changed", "restored"
        if _minor(vs):
            return "words_changed", "added"
        if op.i1 == 0 or op.i1 == len(cu):
            return "extended", "extended"
        return "words_changed", "added"
    # replace
    if all(u.marked for u in vs) and not all(u.marked for u in cs):
        return "words_inserted", "inserted"
    if any(u.is_name for u in cs) and any(u.is_name for u in vs) and len(vs) <= 3 and len(cs) <= 3 and \
            all(u.is_name or u.toks[0].key in STOPWORDS for u in cs + vs) and _names_related(cs, vs):
        return "name_changed", "name"
    if len(cs) == len(vs) and all(is_tense_pair(a.toks[0].text, b.toks[0].text) or _same_surface(a, b)
                                  for a, b in zip(cs, vs, strict=True) if len(a.toks) == 1 and len(b.toks) == 1) \
            and all(len(a.toks) == 1 and len(b.toks) == 1 for a, b in zip(cs, vs, strict=True)):
        return "tense_changed", "tense"
    if elided_here:
        return "cut", "elided"
    at_end, at_start = op.i2 == len(cu) and op.j2 == len(vu), op.i1 == 0 and op.j1 == 0
    if (at_end or at_start) and len(cs) > 2 * len(vs) + 2:
        return "cut", "cut"
    if (at_end or at_start) and len(vs) > 2 * len(cs) + 2:
        return "extended", "extended"
    return "words_changed", "changed"


def _names_related(cs: list[Unit], vs: list[Unit]) -> bool:
    return any(_same_name(a, b) for a in cs if a.is_name for b in vs if b.is_name)


def _extra_insertions(variant: str, vu: list[Unit], ops: list[_Op]) -> list[tuple[MutationKind, str, str, int, int]]:
    """Bracketed words inside a changed stretch that the classification folded into another kind."""
    out: list[tuple[MutationKind, str, str, int, int]] = []
    for op in ops:
        if op.tag in ("insert", "replace") and op.kind not in ("words_inserted", None):
            marked = [u for u in vu[op.j1:op.j2] if u.marked]
            if marked and len(marked) < op.j2 - op.j1:
                s, e = marked[0].start, marked[-1].end
                out.append(("words_inserted", "", _bracketed(variant, s, e), s, e))
    return out


def _bracketed(text: str, s: int, e: int) -> str:
    """The marked words with their brackets."""
    while s > 0 and text[s - 1] not in "([":
        s -= 1
    while e < len(text) and text[e] not in ")]":
        e += 1
    return text[max(0, s - 1):min(len(text), e + 1)]


def _span(text: str, units: list[Unit]) -> tuple[int, int]:
    """Offsets of consecutive units in ``text`` (with the brackets around words an outlet inserted)."""
    s, e = units[0].start, units[-1].end
    if units[0].marked and s > 0 and text[s - 1] in "([":
        s -= 1
    if units[-1].marked and e < len(text) and text[e] in ")]":
        e += 1
    return s, e


def _slice(text: str, units: list[Unit]) -> str:
    """The original text of consecutive units, punctuation between them included (and the brackets around words
    an outlet inserted)."""
    if not units:
        return ""
    s, e = _span(text, units)
    return text[s:e]


def _clip(s: str, n: int = 60) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 1] + "…"


def _tile(canonical: str, variant: str, cu: list[Unit], vu: list[Unit], ops: list[_Op]) -> list[DiffOp]:
    """Ops whose ``variant`` strings tile the variant's original text; ``canonical`` holds the reference words."""
    out: list[DiffOp] = []

    def add(op: str, c: str, v: str) -> None:
        if not c and not v:
            return
        if out and out[-1].op == op == "equal":
            out[-1].canonical += c
            out[-1].variant += v
        else:
            out.append(DiffOp(op, c, v))  # type: ignore[arg-type]

    pos = 0  # position in the variant text up to which ops were emitted
    for op in ops:
        if op.j2 > op.j1:
            s, e = (vu[op.j1].start, vu[op.j2 - 1].end) if op.tag == "equal" or op.kind is None else \
                _span(variant, vu[op.j1:op.j2])
            s = max(s, pos)
            add("equal", "", variant[pos:s])  # punctuation and spaces before the words
            tag = "equal" if op.tag == "equal" or op.kind is None else ("insert" if op.i2 == op.i1 else "replace")
            add(tag, _slice(canonical, cu[op.i1:op.i2]), variant[s:e])
            pos = e
        elif op.i2 > op.i1:
            # words of the reference missing here: placed after the punctuation that follows the previous word
            nxt = re.match(r"[^\w\s]*", variant[pos:])
            cut_at = pos + (nxt.end() if nxt else 0)
            add("equal", "", variant[pos:cut_at])
            pos = cut_at
            add("delete", _slice(canonical, cu[op.i1:op.i2]), "")
    add("equal", "", variant[pos:])
    return out


def dedupe(muts: list[MutationKind]) -> list[MutationKind]:
    order: list[MutationKind] = ["cut", "extended", "words_changed", "words_inserted", "name_changed",
                                 "tense_changed", "translated", "paraphrased", "speaker_changed"]
    got = set(muts)
    return [m for m in order if m in got]
