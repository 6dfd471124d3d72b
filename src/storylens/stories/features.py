"""What story assignment compares: per-article features (terms, names, quote shingles, dates) and the running
document-frequency table that weights them.

Names come from the analysis stage (``Article.entities``) when present, else from capitalised words inside
sentences; quotes from ``Article.quotes`` when present, else from text inside quote marks.  Everything here is
plain Python over an :class:`~storylens.model.Article`; nothing is embedded or stored.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from storylens.model import Article

STOP_EN = frozenset("""
a about above after again against all also am an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her here
hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off
on once only or other our ours ourselves out over own same she should so some such than that the their theirs
them themselves then there these they this those through to too under until up very was we were what when where
which while who whom why will with would you your yours yourself yourselves said says say told according also
one two three new news year years day days time week weeks last first next like just may might must would could
shall get got make made many much well back still even us per via mr mrs ms dr st monday tuesday wednesday
thursday friday saturday sunday today yesterday tomorrow ago since however though although yet whether around
another every including within without among upon onto among across among reported report reports
""".split())  # noqa: SIM905
STOP_RU = frozenset("""
и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее мне было вот от меня
еще нет о из ему теперь когда даже ну вдруг ли если уже или ни быть был него до вас нибудь опять уж вам ведь там
потом себя ничего ей может они тут где есть надо ней для мы тебя их чем была сам чтоб без будто чего раз тоже
себе под будет ж тогда кто этот того потому этого какой совсем ним здесь этом один почти мой тем чтобы нее
сейчас были куда зачем всех никогда можно при наконец два об другой хоть после над больше тот через эти нас
про всего них какая много разве три эту моя впрочем хорошо свою этой перед иногда лучше чуть том нельзя такой
им более всегда конечно всю между это как также заявил заявила сказал сказала сообщил сообщила году года
понедельник вторник среда среду четверг пятница пятницу суббота субботу воскресенье сегодня вчера который
которые которая которого
""".split())  # noqa: SIM905


def _stop_words() -> frozenset[str]:
    """Our news words (said, monday, ...) and Russian ones, plus scikit-learn's English stop list."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return STOP_EN | STOP_RU | frozenset(ENGLISH_STOP_WORDS)


STOP = _stop_words()

# words: letters and digits; apostrophes and hyphens split ("Trump's" -> "trump", "s"; "U.S.-Mexico" -> ..., "mexico")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CAP = re.compile(r"(?<![.!?…:;\n\"“«]\s)(?<!^)\b([A-ZА-ЯЁ][\w’'-]+(?:\s+[A-ZА-ЯЁ][\w’'-]+)*)")
_QUOTE = re.compile(r"[“\"«„]([^”\"»“]{20,600})[”\"»“]")
NAME_LABELS = frozenset({"PERSON", "PER", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT", "LAW", "PRODUCT",
                         "WORK_OF_ART"})
MONTHS = {m: i + 1 for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"])}
MONTHS.update({m[:3]: v for m, v in list(MONTHS.items())})
MONTHS.update({"sept": 9})
_RU_MONTHS = ["январ", "феврал", "март", "апрел", "ма", "июн", "июл", "август", "сентябр", "октябр", "ноябр",
              "декабр"]
DAY_MONTH = re.compile(r"\b(?:(\d{1,2})\s+([A-Za-zА-Яа-яЁё]{3,10})|([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?)\b")
TERMS_PER_ARTICLE = 80
HASH_BITS = 20
PRIOR_DOCS = 10


def tokens(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def content_words(text: str) -> list[str]:
    return [w for w in tokens(text) if _content(w)]


def _content(w: str) -> bool:
    return len(w) > 1 and w not in STOP


def term_counts(text: str, title: str | None = None) -> Counter[str]:
    """Unigrams and bigrams of content words (bigrams only of adjacent content words); the title counts twice."""
    c: Counter[str] = Counter()
    for part, weight in ((title or "", 2), (text, 1)):
        for sent in re.split(r"[.!?\n;:]+", part):
            ws = tokens(sent)
            prev: str | None = None
            for w in ws:
                ok = _content(w)
                if ok:
                    c[w] += weight
                    if prev is not None:
                        c[prev + " " + w] += weight
                    prev = w
                else:
                    prev = None
    return c


def names_of(a: Article) -> Counter[str]:
    """Named entities: the analysis stage's (canonical id or name), else capitalised words within sentences."""
    c: Counter[str] = Counter()
    if a.entities:
        for e in a.entities:
            if e.label in NAME_LABELS:
                key = (e.name or e.text).lower().strip()
                if key:
                    c[key] += 1
                    for part in key.split():
                        if len(part) > 2 and part not in STOP and part != key:
                            c[part] += 1
        if c:
            return c
    for line in (a.text or "").split("\n"):
        for m in _CAP.finditer(line):
            phrase = m.group(1)
            words = [w.lower() for w in phrase.split()]
            words = [w for w in words if w not in STOP and len(w) > 2]
            if not words:
                continue
            for w in words:
                c[w] += 1
            if len(words) > 1:
                c[" ".join(words)] += 1
    return c


PEOPLE = frozenset({"PERSON", "PER"})
PLACES = frozenset({"GPE", "LOC", "FAC"})


def names_of_typed(a: Article) -> Counter[str]:
    """Named entities keyed by kind: ``p:`` people (the full canonical name and the surname), ``l:`` places,
    ``o:`` the rest; without analysis, capitalised words within sentences (``o:``)."""
    c: Counter[str] = Counter()
    for e in a.entities:
        if e.label not in NAME_LABELS:
            continue
        key = " ".join((e.name or e.text).lower().split())
        if not key:
            continue
        kind = "p:" if e.label in PEOPLE else "l:" if e.label in PLACES else "o:"
        c[kind + key] += 1
        if kind == "p:" and " " in key:
            last = key.rsplit(" ", 1)[1]
            if len(last) > 2:
                c["p:" + last] += 1
    if c:
        return c
    return Counter({"o:" + k: v for k, v in names_of(a).items()})


def quote_shingles(a: Article, k: int = 5, limit: int = 300) -> set[int]:
    """Hashes of word k-shingles of the article's quotes: the same remark quoted by two outlets shares them."""
    texts = [q.text for q in a.quotes if q.kind != "indirect"] if a.quotes else _QUOTE.findall(a.text or "")
    out: set[int] = set()
    for t in texts:
        ws = tokens(t)
        for i in range(max(0, len(ws) - k + 1)):
            out.add(zlib.crc32(" ".join(ws[i:i + k]).encode("utf-8")))
            if len(out) >= limit:
                return out
    return out


def month_of(word: str) -> int | None:
    w = word.lower().rstrip(".")
    if w in MONTHS:
        return MONTHS[w]
    for i, stem in enumerate(_RU_MONTHS):
        if w.startswith(stem) and (i != 4 or w in ("мая", "май", "маю")):
            return i + 1
    return None


def date_points(a: Article) -> list[tuple[int | None, int, int]]:
    """(year or None, month, day) of the days the article names: resolved date mentions, day-month expressions
    in the text, and the publication date."""
    pts: set[tuple[int | None, int, int]] = set()
    for m in a.date_mentions:
        if m.value is not None:
            pts.add((m.value.year, m.value.month, m.value.day))
    for md in DAY_MONTH.finditer(a.text or ""):
        if md.group(1):
            day, mon = int(md.group(1)), month_of(md.group(2))
        else:
            mon, day = month_of(md.group(3)), int(md.group(4))
        if mon is not None and 1 <= day <= 31 and not any(p[1] == mon and p[2] == day for p in pts):
            pts.add((None, mon, day))
    if a.published.value is not None:
        d = a.published.value
        pts.add((d.year, d.month, d.day))
    return sorted(pts, key=lambda p: (p[0] or 0, p[1], p[2]))


def date_distance(p: list[tuple[int | None, int, int]], q: list[tuple[int | None, int, int]]) -> int | None:
    """Days between the closest pair of named days (a year-less day matches any year), or None."""
    if not p or not q:
        return None
    best: int | None = None
    for y1, m1, d1 in p:
        for y2, m2, d2 in q:
            try:
                if y1 is not None and y2 is not None:
                    gap = abs((dt.date(y1, m1, d1) - dt.date(y2, m2, d2)).days)
                else:
                    y = y1 or y2 or 2001
                    a, b = dt.date(y, m1, min(d1, 28 if m1 == 2 else d1)), dt.date(y, m2, min(d2, 28 if m2 == 2 else d2))
                    gap = abs((a - b).days)
                    gap = min(gap, 365 - gap)
            except ValueError:
                continue
            if best is None or gap < best:
                best = gap
    return best


@dataclass(slots=True)
class Features:
    id: str
    date: dt.date | None
    language: str | None
    doc: np.ndarray
    title_vec: np.ndarray
    title: str | None
    outlet: str | None
    terms: dict[str, float]
    names: dict[str, float]
    quotes: set[int]
    dates: list[tuple[int | None, int, int]] = field(default_factory=list)
    years: set[int] = field(default_factory=set)
    script: str = "latin"


def script_of(text: str) -> str:
    """"cyrillic" or "latin": which alphabet most letters of the text use (cross-lingual scoring applies only
    across alphabets, so a language detector's slip between two Latin-script languages changes nothing)."""
    sample = text[:2000]
    cyr = sum(1 for ch in sample if "\u0400" <= ch <= "\u04ff")
    lat = sum(1 for ch in sample if ch.isascii() and ch.isalpha())
    return "cyrillic" if cyr > lat else "latin"


_YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")


def years_of(a: Article) -> set[int]:
    """Years the text names (1950-2049); two reports naming only different years are of different events.  Years
    after the publication year are left out: they name plans and deadlines ("by 2031"), not when the event was."""
    ys = {int(y) for y in _YEAR.findall(a.text or "")}
    pub = a.published.value
    return {y for y in ys if y <= pub.year} if pub is not None else ys


def pair_adjustment(dates1: list[tuple[int | None, int, int]], years1: set[int],
                    dates2: list[tuple[int | None, int, int]], years2: set[int], window_days: int,
                    conflict: float, match: float, year_conflict: float) -> float:
    """What the named days and years add to a similarity: a bonus for the same day, penalties for days further
    apart than the window and for disjoint years."""
    adj = 0.0
    dd = date_distance(dates1, dates2)
    if dd is not None:
        if dd > window_days:
            adj -= conflict
        elif dd <= 1:
            adj += match
    if years1 and years2 and not (years1 & years2):
        adj -= year_conflict
    return adj


class DocFreq:
    """Running document frequencies of terms over a fixed hashed table (memory does not grow with the vocabulary).

    With ``track`` the buckets changed since the last :meth:`take_changes` are remembered, so a stream can persist
    its background incrementally.  :meth:`halve` ages the counts (the stream's background is its recent past)."""

    def __init__(self, bits: int = HASH_BITS, track: bool = False) -> None:
        self.bits = bits
        self.table = np.zeros(1 << bits, dtype=np.int32)
        self.n = 0
        self.changed: set[int] | None = set() if track else None

    def _h(self, term: str) -> int:
        return zlib.crc32(term.encode("utf-8")) & ((1 << self.bits) - 1)

    def add(self, terms: Iterable[str]) -> None:
        self.n += 1
        for t in terms:
            h = self._h(t)
            self.table[h] += 1
            if self.changed is not None:
                self.changed.add(h)

    def halve(self) -> None:
        """Halve every count (and the number of documents): older documents weigh half as much as newer ones."""
        if self.changed is not None:
            self.changed.update(np.flatnonzero(self.table).tolist())
        self.table //= 2
        self.n //= 2

    def take_changes(self) -> dict[int, int]:
        """The buckets changed since the last call, with their counts now."""
        if not self.changed:
            return {}
        out = {h: int(self.table[h]) for h in sorted(self.changed)}
        self.changed.clear()
        return out

    def load(self, n: int, counts: Iterable[tuple[int, int]]) -> None:
        self.n = n
        for h, c in counts:
            self.table[h] = c

    def idf(self, term: str) -> float:
        df = int(self.table[self._h(term)])
        # PRIOR_DOCS pseudo-documents without the term: a small corpus does not make every shared word common
        return math.log((self.n + PRIOR_DOCS) / (df + 0.5))


def weigh(counts: Counter[str] | dict[str, float], df: DocFreq, limit: int = TERMS_PER_ARTICLE) -> dict[str, float]:
    """Sublinear tf x idf, keeping the ``limit`` heaviest terms."""
    w = {t: (1.0 + math.log(c)) * max(df.idf(t), 0.0) for t, c in counts.items() if c > 0}
    if len(w) > limit:
        w = dict(sorted(w.items(), key=lambda kv: -kv[1])[:limit])
    return w


def cosine(a: dict[str, float], b: dict[str, float], b_norm: float | None = None) -> float:
    if not a or not b:
        return 0.0
    if len(a) > len(b):
        small, big = b, a
    else:
        small, big = a, b
    dot = sum(v * big[t] for t, v in small.items() if t in big)
    if dot <= 0:
        return 0.0
    na = math.sqrt(sum(v * v for v in a.values()))
    nb = b_norm if b_norm is not None else math.sqrt(sum(v * v for v in b.values()))
    return dot / (na * nb) if na > 0 and nb > 0 else 0.0
