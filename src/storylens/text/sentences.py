"""Sentence spans of plain text: paragraph breaks and end punctuation, abbreviations and initials kept inside."""

from __future__ import annotations

import re

from storylens.model import Article, Span

_SENT_END = re.compile(r"(?<=[.!?…])[\"”»’']*\s+(?=[\"“«„(]?[A-ZА-ЯЁ0-9])")
_ABBREV = re.compile(r"(?:\b[A-Z]|\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Gen|Col|Lt|Prof|No|vs|etc|Inc|Ltd|Co|U\.S|U\.K))\.$")


def split_sentences(text: str, base: int = 0) -> list[Span]:
    """Sentence spans of ``text`` (offsets shifted by ``base``): paragraph breaks and end punctuation."""
    out: list[Span] = []
    for para in re.finditer(r"[^\n]+", text):
        p = para.group(0)
        cuts = [0]
        for m in _SENT_END.finditer(p):
            if _ABBREV.search(p[cuts[-1]:m.start()]):
                continue
            cuts.append(m.end())
        cuts.append(len(p))
        for a, b in zip(cuts, cuts[1:], strict=False):
            seg = p[a:b]
            stripped = seg.strip()
            if len(stripped) < 3:
                continue
            st = base + para.start() + a + (len(seg) - len(seg.lstrip()))
            out.append(Span(st, st + len(stripped), stripped))
    return out


def sentences(article: Article) -> list[Span]:
    """The article's sentences (from analysis when present, else a simple splitter)."""
    if article.sentences:
        return list(article.sentences)
    return split_sentences(article.text)
