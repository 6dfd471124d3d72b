"""Word tokens with offsets and crude stems, for aligning quotes and sentences word by word."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from storylens.text.scripts import CYRILLIC
from storylens.text.stopwords import STOPWORDS

# words (Latin, Cyrillic, digits), with inner apostrophes; an ellipsis is a token of its own
_TOKEN_RE = re.compile(r"\.{3}|…|[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
ELLIPSIS = "…"


@dataclass(slots=True, frozen=True)
class Tok:
    text: str  # the word as written
    start: int  # offsets into the string that was tokenised
    end: int
    key: str  # lower case
    stem: str
    bracket: bool = False  # inside [...] : an editor's words
    paren: bool = False  # inside (...) : an insertion, when it is not an ellipsis

    @property
    def is_ellipsis(self) -> bool:
        return self.key == ELLIPSIS


def stem(word: str) -> str:
    """A crude stem: enough to align "welcome"/"welcomed", "extend"/"extends", "России"/"Россией"."""
    w = word.lower().replace("’", "'")
    if CYRILLIC.search(w):
        return w[:5] if len(w) > 5 else w
    if w.endswith("'s"):
        w = w[:-2]
    for suf in ("ing", "ed", "es", "e", "s"):
        if w.endswith(suf) and len(w) - len(suf) >= 3:
            return w[: -len(suf)]
    return w


def tokenize(text: str) -> list[Tok]:
    """Words of ``text`` with offsets; marks words inside [brackets] and (parentheses)."""
    return list(_tokenize(text))


@functools.lru_cache(maxsize=50_000)
def _tokenize(text: str) -> tuple[Tok, ...]:
    toks: list[Tok] = []
    depth_b = depth_p = 0
    pos = 0
    for m in _TOKEN_RE.finditer(text):
        between = text[pos:m.start()]
        for ch in between:
            if ch == "[":
                depth_b += 1
            elif ch == "]":
                depth_b = max(0, depth_b - 1)
            elif ch == "(":
                depth_p += 1
            elif ch == ")":
                depth_p = max(0, depth_p - 1)
        pos = m.end()
        w = m.group(0)
        if w in ("...", "…"):
            toks.append(Tok(w, m.start(), m.end(), ELLIPSIS, ELLIPSIS))
            continue
        toks.append(Tok(w, m.start(), m.end(), w.lower().replace("’", "'"), stem(w), depth_b > 0, depth_p > 0))
    return tuple(toks)


def words(text: str) -> list[str]:
    return [t.key for t in tokenize(text) if not t.is_ellipsis]


def content_stems(text: str) -> list[str]:
    return [t.stem for t in tokenize(text) if not t.is_ellipsis and t.key not in STOPWORDS and len(t.key) > 1]


def normalise_quote(text: str) -> str:
    """Quote text for exact matching: no quote marks, ellipses, brackets; single spaces; lower case."""
    return " ".join(words(text))


