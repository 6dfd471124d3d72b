"""How a comparison is shown to a reader (terminal, web pages, reports): the same order and folding everywhere.

* Quotes are shown as carried: the variant's original text, punctuation and all, with the changes against the
  first report marked over it (:func:`diff_parts`).
* Quote groups carried by several articles come first when some report changed the statement, biggest change
  first (:func:`change_size`); reports that carry the first report's words unchanged fold into one line.
* Groups that every outlet carried verbatim, and quotes carried by one article only, follow in short form.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from storylens.model import DiffOp, QuoteGroup, QuoteVariant

PartKind = Literal["text", "ins", "del", "rep"]
UNCHANGED = frozenset(["identical"])
LABEL = {
    "identical": "verbatim", "cut": "cut", "extended": "extended", "words_changed": "words changed",
    "words_inserted": "outlet's words inserted", "name_changed": "name changed", "tense_changed": "tense changed",
    "translated": "translated", "paraphrased": "paraphrased", "speaker_changed": "speaker changed",
}
# how much each kind of change weighs when ordering groups (a changed speaker or inserted words first)
WEIGHT = {"speaker_changed": 3.0, "words_inserted": 2.5, "words_changed": 2.0, "name_changed": 1.5,
          "tense_changed": 1.5, "paraphrased": 1.5, "cut": 1.0, "extended": 1.0, "translated": 0.3}


def changed(v: QuoteVariant) -> bool:
    return bool(set(v.mutations) - UNCHANGED)


def change_size(v: QuoteVariant) -> float:
    """How much a report changed the statement: the kinds of change, weighted, and how many words differ."""
    if not changed(v):
        return 0.0
    return sum(WEIGHT.get(m, 1.0) for m in v.mutations) + (1.0 - min(1.0, max(0.0, v.similarity)))


def diff_parts(v: QuoteVariant) -> list[tuple[PartKind, str]]:
    """The variant as carried, in parts: plain text, inserted or replacing words, and the first report's words it
    dropped or replaced (placed where they were).  Joining the ``text``/``ins``/``rep`` parts gives ``v.text``."""
    if not changed(v) or not v.diff or set(v.mutations) & {"translated", "paraphrased"} or \
            "".join(op.variant for op in v.diff) != v.text:
        return [("text", v.text)]
    return ops_parts(v.diff)


def ops_parts(ops: Sequence[DiffOp]) -> list[tuple[PartKind, str]]:
    parts: list[tuple[PartKind, str]] = []
    for op in ops:
        if op.op == "equal":
            parts.append(("text", op.variant))
        elif op.op == "insert":
            parts.append(("ins", op.variant))
        elif op.op == "delete":
            parts.append(("del", short_dropped(op.canonical)))
        else:
            parts.append(("del", short_dropped(op.canonical)))
            parts.append(("rep", op.variant))
    return _spaced(parts)


def short_dropped(text: str, keep: int = 10) -> str:
    """A long stretch of dropped words shortened to its first and last words (the details give them all)."""
    words = text.split()
    if len(words) <= keep:
        return text
    return " ".join(words[:5]) + " … " + " ".join(words[-3:])


def _spaced(parts: list[tuple[PartKind, str]]) -> list[tuple[PartKind, str]]:
    """A space between a dropped word and the words next to it, so "all [of] these" does not read "allof"."""
    out: list[tuple[PartKind, str]] = []
    for k, (kind, text) in enumerate(parts):
        if kind == "del":
            prev = out[-1][1] if out else ""
            nxt = parts[k + 1][1] if k + 1 < len(parts) else ""
            if prev and not prev[-1:].isspace() and not re.match(r"[(\[“«\"']", prev[-1:]):
                out.append(("text", " "))
            out.append((kind, text))
            if nxt and not nxt[:1].isspace() and not re.match(r"[.,;:!?)\]”»\"']", nxt[:1]):
                out.append(("text", " "))
            continue
        out.append((kind, text))
    return [p for p in out if p[1]]


def labels(v: QuoteVariant) -> list[str]:
    return [LABEL.get(m, m) for m in v.mutations]


@dataclass(slots=True)
class GroupView:
    group: QuoteGroup
    first: QuoteVariant
    changed: list[QuoteVariant]  # later reports that changed the statement, biggest change first
    verbatim: list[QuoteVariant]  # later reports in the first report's words
    n_articles: int
    size: float  # the biggest change


@dataclass(slots=True)
class SpreadView:
    changed: list[GroupView] = field(default_factory=list)  # carried by several articles, some report changed it
    verbatim: list[GroupView] = field(default_factory=list)  # carried by several articles, always verbatim
    single: list[GroupView] = field(default_factory=list)  # carried by one article


def group_view(g: QuoteGroup) -> GroupView:
    first = next((v for v in g.variants if v.quote_id == g.first_quote), None) or \
        next((v for v in g.variants if v.article_id == g.first_article), g.variants[0])
    rest = [v for v in g.variants if v is not first]
    ch = sorted((v for v in rest if changed(v)), key=lambda v: (-change_size(v), str(v.published), v.article_id))
    verb = [v for v in rest if not changed(v)]
    return GroupView(g, first, ch, verb, len({v.article_id for v in g.variants}),
                     max((change_size(v) for v in ch), default=0.0))


def spread_view(groups: Sequence[QuoteGroup]) -> SpreadView:
    out = SpreadView()
    for g in groups:
        if not g.variants:
            continue
        gv = group_view(g)
        if gv.n_articles < 2:
            out.single.append(gv)
        elif gv.changed:
            out.changed.append(gv)
        else:
            out.verbatim.append(gv)
    out.changed.sort(key=lambda x: (-x.size, -len(x.changed), -x.n_articles, x.group.id))
    out.verbatim.sort(key=lambda x: (-x.n_articles, x.group.id))
    return out


def statement_text(g: QuoteGroup) -> str:
    """The statement as first reported (older comparisons: the canonical text)."""
    return g.statement or g.canonical
