"""Page-furniture removal that keeps every article sentence.

Rules are data (``rules/<lang>.txt``: whole-line patterns and stray menu words) plus learned repetition
(:class:`FurnitureModel`: a line one outlet repeats across many articles is furniture) plus a few layout rules
for plain text, where no markup tells a link from a sentence:

* a bare known outlet name on its own line is a credit line (and tells the outlet);
* a short line in another script than the article (Russian menu words on an English page) is furniture;
* a line cut off by the layout (no closing punctuation) is rejoined with the short line that completes it;
* a headline-like line between paragraphs (no closing punctuation, no sentence inside) is a link to another
  story.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from storylens.clean.outlet import known_outlet
from storylens.clean.rules import furniture_rules
from storylens.model import RawDocument, RemovedLine
from storylens.text.scripts import script_of

SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
INVISIBLE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
TERMINAL = tuple(".!?…\"”»“'’):;")
SENTENCE_BREAK = re.compile(r"[.!?…][\"”»’)]*\s+[\"“«‘(]?[A-ZА-ЯЁ0-9]")
WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
STRIP_TAIL = " .:!|•·>›»"


CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalise_text(text: str) -> str:
    """Unicode NFC, line ends to ``\\n``, no-break and other spaces to one plain space, invisible characters out, each line
    stripped.  Quote characters are kept as shown."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = INVISIBLE.sub("", text)
    # control characters (NUL among them, which PostgreSQL cannot store) are never article text
    text = CONTROL.sub("\ufffd", text)
    return "\n".join(SPACES.sub(" ", ln).strip() for ln in text.split("\n"))


def line_key(line: str) -> str:
    """A line compared across articles: case, spaces, digits and punctuation folded."""
    s = unicodedata.normalize("NFKC", line).casefold()
    s = re.sub(r"\d+", "0", s)
    return " ".join(re.findall(r"\w+", s))


def n_words(line: str) -> int:
    return len(line.split())


def ends_open(line: str) -> bool:
    """True when a line ends without closing punctuation (a headline, a label, or a cut sentence)."""
    return not line.rstrip().endswith(TERMINAL)


def headline_like(line: str) -> bool:
    return (4 <= n_words(line) <= 25 and ends_open(line) and not SENTENCE_BREAK.search(line)
            and line[:1].isupper())


# ---- the learned model --------------------------------------------------------------------------------


class FurnitureModel:
    """Learned repetition: a short line that one outlet repeats in ``min_articles`` different articles is
    furniture ("Discuss", "Read more on our Telegram channel", a sign-off).  Lines of unknown outlets are
    not learned (syndicated copies from many sites would teach real sentences).

    Candidate lines are bounded: past ``max_candidates`` the oldest lines seen in one article only are forgotten
    (furniture recurs, so a forgotten furniture line is soon counted again; a news sentence does not), which keeps
    the model and its stored state small on an endless feed."""

    def __init__(self, min_articles: int = 3, max_words: int = 15, max_candidates: int = 200_000) -> None:
        self.min_articles = min_articles
        self.max_words = max_words
        self.max_candidates = max_candidates
        self._seen: dict[str, list[str]] = {}  # outlet|line key -> article keys (up to min_articles)
        self._furniture: set[str] = set()

    @staticmethod
    def _k(outlet: str, line: str) -> str:
        return hashlib.blake2b(f"{outlet.casefold()}\x1f{line_key(line)}".encode(), digest_size=10).hexdigest()

    def line_keys(self, doc: RawDocument | Iterable[str], outlet: str | None = None, key: str | None = None
                  ) -> tuple[str, list[str]] | None:
        """(the article's key, the keys of its candidate lines) as :meth:`observe` counts them; None when the
        article has no body or no known outlet."""
        if isinstance(doc, RawDocument):
            from storylens.clean.prepare import body_of, outlet_key

            try:
                body = body_of(doc)
            except ValueError:
                return None
            lines = body.text.split("\n")
            outlet = outlet or outlet_key(doc, body)
            key = key or doc.key
        else:
            lines = list(doc)
        if not outlet:
            return None
        doc_key = hashlib.blake2b((key or "\n".join(lines)).encode(), digest_size=8).hexdigest()
        keys = {self._k(outlet, ln) for ln in {ln.strip() for ln in normalise_text("\n".join(lines)).split("\n")}
                if ln and n_words(ln) <= self.max_words and line_key(ln)}
        return doc_key, sorted(keys)

    def observe(self, doc: RawDocument | Iterable[str], outlet: str | None = None, key: str | None = None) -> None:
        """Count the lines of one article (a raw document, or its lines with ``outlet`` and ``key``)."""
        found = self.line_keys(doc, outlet, key)
        if found is None:
            return
        doc_key, keys = found
        for k in keys:
            if k in self._furniture:
                continue
            seen = self._seen.setdefault(k, [])
            if doc_key not in seen:
                seen.append(doc_key)
            if len(seen) >= self.min_articles:
                self._furniture.add(k)
                del self._seen[k]
        if len(self._seen) > self.max_candidates:
            self._forget()

    def _forget(self) -> None:
        """Drop the oldest once-seen candidates (dicts keep insertion order) down to 3/4 of the bound."""
        excess = len(self._seen) - (3 * self.max_candidates) // 4
        for k in [k for k, v in self._seen.items() if len(v) < 2][:excess]:
            del self._seen[k]

    def merge(self, other: FurnitureModel) -> None:
        """Take in what ``other`` learned (another writer's model of the same store): its furniture lines, and its
        candidate lines counted together with ours (an article counted by both counts once)."""
        self._furniture |= other._furniture
        for k, docs in other._seen.items():
            if k in self._furniture:
                continue
            seen = self._seen.setdefault(k, [])
            seen.extend(d for d in docs if d not in seen)
            if len(seen) >= self.min_articles:
                self._furniture.add(k)
        for k in [k for k in self._seen if k in self._furniture]:
            del self._seen[k]
        if len(self._seen) > self.max_candidates:
            self._forget()

    def with_furniture(self, keys: Iterable[str]) -> FurnitureModel:
        """A model of the same parameters that knows exactly these furniture line keys (and no candidates)."""
        m = FurnitureModel(self.min_articles, self.max_words, self.max_candidates)
        m._furniture = set(keys)
        return m

    def is_furniture(self, line: str, outlet: str | None) -> bool:
        return bool(outlet) and self._k(outlet or "", line) in self._furniture

    def to_json(self) -> str:
        return json.dumps({"version": 1, "min_articles": self.min_articles, "max_words": self.max_words,
                           "furniture": sorted(self._furniture), "seen": self._seen})

    @classmethod
    def from_json(cls, data: str) -> FurnitureModel:
        d = json.loads(data)
        m = cls(int(d.get("min_articles", 3)), int(d.get("max_words", 15)))
        m._furniture = set(d.get("furniture", []))
        m._seen = {k: list(v) for k, v in d.get("seen", {}).items()}
        return m

    def __len__(self) -> int:
        return len(self._furniture)


# ---- cleaning -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class Cleaned:
    title: str | None
    paragraphs: list[str]
    removed: list[RemovedLine] = field(default_factory=list)
    credit_outlets: list[str] = field(default_factory=list)


def match_line_rule(line: str) -> str | None:
    s = line.strip().rstrip(STRIP_TAIL).strip()
    if not s:
        return None
    if n_words(s) > 30:
        return None
    for name, rx in furniture_rules().line_rules:
        if rx.fullmatch(s):
            return name
    return None


def _dominant_script(lines: list[str]) -> str | None:
    return script_of(" ".join(lines))


def classify_line(line: str, doc_script: str | None, outlet: str | None,
                  furniture: FurnitureModel | None) -> tuple[str, str | None] | None:
    """(rule, outlet named by a credit line) when the line is furniture, else None."""
    rule = match_line_rule(line)
    if rule:
        return rule, None
    if furniture is not None and furniture.is_furniture(line, outlet):
        return "repeated_line", None
    name = known_outlet(line.rstrip(STRIP_TAIL))
    if name and n_words(line) <= 4:
        return "credit_line", name
    s = script_of(line)
    if doc_script and s and s != doc_script and n_words(line) <= 8:
        return "foreign_language_line", None
    return None


@cache
def _word_rules() -> list[tuple[str, re.Pattern[str]]]:
    return [(name, re.compile(rf"(?<!\w)(?:{rx.pattern})(?!\w) ?", re.IGNORECASE))
            for name, rx in furniture_rules().word_rules]


def _remove_stray_words(line: str, doc_script: str | None) -> tuple[str, list[RemovedLine]]:
    """Menu words of another script inside a paragraph ("... Russia being... Еще responsible ...")."""
    if not doc_script or n_words(line) < 8:
        return line, []
    removed: list[RemovedLine] = []
    for name, word_rx in _word_rules():
        out: list[str] = []
        pos = 0
        for m in word_rx.finditer(line):
            w = m.group()
            if script_of(w) in (None, doc_script):
                continue
            # the neighbouring words are in the article's script: a stray word, not a foreign phrase
            before = WORD.findall(line[max(0, m.start() - 40): m.start()])
            after = WORD.findall(line[m.end(): m.end() + 40])
            if not before or not after or script_of(before[-1]) != doc_script or script_of(after[0]) != doc_script:
                continue
            out.append(line[pos: m.start()])
            pos = m.end()
            removed.append(RemovedLine(w, name))
        if removed and pos:
            out.append(line[pos:])
            line = "".join(out)
    return line, removed


def clean_text(text: str, *, title: str | None = None, structural: bool = True, outlet: str | None = None,
               furniture: FurnitureModel | None = None) -> Cleaned:
    """Remove furniture from one article's text; the title (given, else the first non-furniture line) is
    taken out of the body."""
    lines = [ln for ln in normalise_text(text).split("\n") if ln]
    doc_script = _dominant_script(lines)
    removed: list[RemovedLine] = []
    credits: list[str] = []

    given = normalise_text(title).replace("\n", " ").strip() if title else None
    body: list[str] = []
    found_title = given
    for ln in lines:
        verdict = classify_line(ln, doc_script, outlet, furniture)
        if verdict is not None:
            removed.append(RemovedLine(ln, verdict[0]))
            if verdict[1]:
                credits.append(verdict[1])
            continue
        if found_title is None and not body:
            if n_words(ln) <= 40 and not SENTENCE_BREAK.search(ln.rstrip(".")):
                found_title = ln
                continue
            found_title = ""  # the text starts with a paragraph: no title line
        if given and not body and line_key(ln) and line_key(given).startswith(line_key(ln)):
            removed.append(RemovedLine(ln, "title_repeat"))
            continue
        body.append(ln)
    if not body and found_title and not given:
        # a one-line text is the article, not its title
        body, found_title = [found_title], None
    if not body:
        # a text that only repeats its given title: that line is the article (a headline-only item)
        repeats = [r for r in removed if r.rule == "title_repeat"]
        if repeats:
            body = [repeats[0].text]
            removed.remove(repeats[0])

    if structural:
        body = _rejoin(body)
        kept: list[str] = []
        for i, ln in enumerate(body):
            prev_closed = i == 0 or not ends_open(body[i - 1])
            if i > 0 and prev_closed and headline_like(ln):
                removed.append(RemovedLine(ln, "link_to_other_story"))
                continue
            kept.append(ln)
        body = kept

    final: list[str] = []
    for ln in body:
        ln2, stray = _remove_stray_words(ln, doc_script)
        removed.extend(stray)
        ln2 = SPACES.sub(" ", ln2).strip()
        if ln2:
            final.append(ln2)
    return Cleaned(found_title or None, final, removed, credits)


def _rejoin(lines: list[str]) -> list[str]:
    """Join a line the layout broke off: a short line (a name that was a link) or a line starting in lower
    case, after a line that ends without closing punctuation."""
    out: list[str] = []
    for ln in lines:
        if out:
            prev = out[-1]
            short_tail = n_words(ln) <= 5 and ends_open(ln) and not known_outlet(ln)
            if ends_open(prev) and (short_tail or ln[:1].islower()):
                out[-1] = f"{prev} {ln}"
                continue
        out.append(ln)
    return out
