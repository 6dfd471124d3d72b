"""Quote marks: find quoted segments in a text, in any marks, without ever swallowing the rest of the text.

A segment never crosses a paragraph (a line) unless the paragraph ends inside an open quote and the next one
opens again (the newspaper convention for multi-paragraph quotes): then each paragraph gives one segment and
the earlier one is flagged ``continues``.  An opening mark that is never closed is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OPENERS = "\u201c\u00ab\u201e\u2018\u201a"
CLOSERS = "\u201d\u00bb\u2019"
ALL_MARKS = set('"\u201c\u201d\u201e\u201f\u00ab\u00bb\u2018\u2019\u201a')
_PAIR = {"\u201c": "\u201d\u201c", "\u00ab": "\u00bb", "\u201e": "\u201c\u201d", "\u2018": "\u2019",
         "\u201a": "\u2019\u2018", '"': '"', "''": "''", "\u201d": "\u201d"}
MAX_SEGMENT = 6000


@dataclass(slots=True)
class Segment:
    start: int  # the opening mark
    end: int  # after the closing mark (or the end of the paragraph for a continued quote)
    cstart: int  # content, marks and surrounding spaces excluded
    cend: int
    continues: bool = False  # the quote goes on in the next paragraph
    continued: bool = False  # this segment continues a quote of the previous paragraph


def paragraphs(text: str) -> list[tuple[int, int]]:
    """Non-empty lines of ``text`` as (start, end)."""
    out = []
    for m in re.finditer(r"[^\n]+", text):
        if m.group().strip():
            out.append((m.start(), m.end()))
    return out


def _is_word(c: str) -> bool:
    return c.isalnum()


def _mark_at(text: str, i: int) -> tuple[str, int] | None:
    c = text[i]
    if c == "'" and text.startswith("''", i):
        return "''", 2
    if c in ALL_MARKS:
        return c, 1
    return None


def _can_open(text: str, i: int, n: int, lo: int) -> bool:
    before = text[i - 1] if i > lo else " "
    after = text[i + n] if i + n < len(text) else " "
    return (before.isspace() or before in "([{\u2014\u2013-:/" or before in ALL_MARKS) and not after.isspace()


def _can_close(text: str, i: int, n: int, hi: int) -> bool:
    before = text[i - 1] if i > 0 else " "
    after = text[i + n] if i + n < hi else " "
    return not before.isspace() and not _is_word(after)


def _strip(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def _scan_paragraph(text: str, lo: int, hi: int) -> tuple[list[Segment], tuple[str, int] | None]:
    """Top-level quoted segments of text[lo:hi]; returns also the mark left open at the end (if any)."""
    segs: list[Segment] = []
    open_mark: str | None = None
    open_at = -1
    depth = 0  # nested «…«…»…» in Russian text
    i = lo
    while i < hi:
        m = _mark_at(text, i)
        if m is None:
            i += 1
            continue
        mark, n = m
        if open_mark is None:
            single = mark in ("\u2018", "\u201a")
            if mark in ("\u2019", "\u00bb") or (mark == "\u201d" and not _can_open(text, i, n, lo)):
                i += n  # apostrophe or stray closer
                continue
            if single and not _can_open(text, i, n, lo):
                i += n
                continue
            if mark in ('"', "''", "\u201d") and not _can_open(text, i, n, lo):
                i += n  # a stray straight mark
                continue
            open_mark, open_at, depth = mark, i, 0
            i += n
            continue
        closers = _PAIR.get(open_mark, "")
        if open_mark == "\u00ab" and mark == "\u00ab":
            depth += 1
        elif mark in closers or (mark == "''" and open_mark == "''"):
            if open_mark == "\u00ab" and depth > 0:
                depth -= 1
            elif open_mark in ("\u2018", '"', "''", "\u201d") and not _can_close(text, i, n, hi):
                # "’s" inside a single-quoted span, or a straight quote that opens a nested one
                if open_mark == '"' and _can_open(text, i, n, lo) and i > open_at + 1 and text[i - 1].isspace():
                    open_mark, open_at = mark, i  # the earlier mark was stray: restart here
            else:
                cs, ce = _strip(text, open_at + len(open_mark), i)
                if ce > cs and ce - cs <= MAX_SEGMENT:
                    segs.append(Segment(open_at, i + n, cs, ce))
                open_mark = None
        elif mark in ("\u201c", "\u00ab") and open_mark in ("\u201c",) and _can_open(text, i, n, lo):
            open_mark, open_at = mark, i  # an unclosed “ followed by a new one: the first was stray
        i += n
    return segs, ((open_mark, open_at) if open_mark is not None else None)


def _opens_quote(text: str, lo: int, hi: int) -> bool:
    j = lo
    while j < hi and text[j].isspace():
        j += 1
    return j < hi and (text[j] in OPENERS or text[j] == '"' or text.startswith("''", j))


def find_segments(text: str) -> list[Segment]:
    """All top-level quoted segments of ``text``, in order."""
    paras = paragraphs(text)
    out: list[Segment] = []
    carried = False
    for k, (lo, hi) in enumerate(paras):
        segs, left_open = _scan_paragraph(text, lo, hi)
        if carried and segs and segs[0].start == _first_non_space(text, lo):
            segs[0].continued = True
        out.extend(segs)
        carried = False
        if left_open is not None:
            mark, at = left_open
            nxt = paras[k + 1] if k + 1 < len(paras) else None
            if nxt is not None and _opens_quote(text, *nxt) and mark not in ("\u2018",):
                cs, ce = _strip(text, at + len(mark), hi)
                if ce > cs and ce - cs <= MAX_SEGMENT:
                    out.append(Segment(at, hi, cs, ce, continues=True, continued=False))
                    carried = True
    # a segment opened at the start of a paragraph after a continued one is its continuation
    for a, b in zip(out, out[1:], strict=False):
        if a.continues:
            b.continued = True
    return out


def _first_non_space(text: str, i: int) -> int:
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def normalise_quotes(s: str) -> str:
    """Quote marks to plain ones and whitespace collapsed (for matching quote texts)."""
    s = re.sub("[\u201c\u201d\u201e\u201f\u00ab\u00bb]", '"', s)
    s = re.sub("[\u2018\u2019\u201a]", "'", s)
    return re.sub(r"\s+", " ", s.replace("\u00a0", " ")).strip()


_DASHES = "\u2014\u2013"
_AUTHOR = re.compile(r"(?<=[,.!?\u2026])\s+[\u2014\u2013]\s+(?=\w)")


def dialogue_segments(text: str) -> list[Segment]:
    """Direct speech in dialogue dashes, the Russian convention: a paragraph "— Встреча была полезной, — сказал
    Смирнов. — Продолжим в июне." gives the speech before and after the author's words as segments (the dash
    as the opening mark, the separating comma left out).  A dash paragraph without author's words gives none:
    it is a list item as often as speech."""
    out: list[Segment] = []
    for lo, hi in paragraphs(text):
        j = _first_non_space(text, lo)
        if j >= hi or text[j] not in _DASHES or j + 1 >= hi or not text[j + 1].isspace():
            continue
        seps = list(_AUTHOR.finditer(text, j + 1, hi))
        if not seps:
            continue
        spans = [(j, j + 1, seps[0].start())]
        if len(seps) >= 2:  # "— A, — сказал он. — B."
            spans.append((seps[1].start(), seps[1].end() - 1, hi))
        for mark, cs, ce in spans:
            cs, ce = _strip(text, cs, ce)
            while ce > cs and text[ce - 1] == ",":
                ce -= 1
            if ce > cs:
                out.append(Segment(mark, ce, cs, ce))
    return out
