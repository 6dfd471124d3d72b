"""A quote as the statements it holds: the unit that travels between outlets.

One attribution may quote several sentences with the attribution between them (``"A," she said. "B."``): the
analyzer reports it as one quote with segments (PolNeAR's convention).  Stages that follow single statements
from outlet to outlet (quote groups) take each run of segments that ends a sentence as a quote of its own.
"""

from __future__ import annotations

import dataclasses
import re

from storylens.model import Quote, Span

_SENTENCE_END = re.compile(r"[.!?\u2026][)\]]?$")
_OPENING = " \t\u00a0\"'\u201c\u201e\u00ab\u2018\u201a"


def statements(q: Quote, text: str) -> list[Quote]:
    """``q`` itself, or one quote per run of its segments that is closed by a sentence end before the next
    segment ("A," she said. | "B.") — each with its own span, text and segments; ids get ``.1``, ``.2`` ..."""
    if len(q.segments) < 2:
        return [q]
    runs: list[list[Span]] = [[q.segments[0]]]
    for a, b in zip(q.segments, q.segments[1:], strict=False):
        if _SENTENCE_END.search(text[a.end:b.start].rstrip(_OPENING)):
            runs.append([b])
        else:
            runs[-1].append(b)
    if len(runs) == 1:
        return [q]
    out = []
    for k, run in enumerate(runs):
        out.append(dataclasses.replace(
            q, text=" ".join(g.text for g in run), start=run[0].start, end=run[-1].end,
            segments=run if len(run) > 1 else [], id=(f"{q.id}.{k}" if q.id and k else q.id)))
    return out
