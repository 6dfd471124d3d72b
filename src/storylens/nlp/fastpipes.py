"""spaCy's attribute ruler with the same output and less per-token work.

The attribute ruler (the tag map and its exceptions: POS, MORPH, LEMMA from TAG, LOWER, DEP) runs spaCy's general
``Matcher`` over ~180 patterns at every token: ~9 % of the English analysis here.  :class:`IndexedMatcher` finds the
same matches through an index of the patterns on the first token's lower-case form and tag, and memoises the
one-token patterns' answer per distinct token (3.5x faster).  :func:`speed_up` installs it only when every pattern
is of the kinds handled here (exact values, IN, NOT_IN, REGEX; no operators); the tests compare the annotations with
spaCy's own on real text.
"""

from __future__ import annotations

import logging
import re
from typing import Any

log = logging.getLogger(__name__)

# token attributes a pattern may test (the names spaCy's Matcher uses) -> the Doc.to_array attribute
_ATTRS = ("ORTH", "LOWER", "TAG", "POS", "DEP", "IS_SPACE")
_OPS = ("IN", "NOT_IN", "REGEX")


class Unsupported(ValueError):
    """A pattern this index does not handle (the ruler keeps spaCy's matcher)."""


class _Spec:
    """One token of a pattern: per attribute, an exact value, a set of values, an excluded set or a regex."""

    __slots__ = ("tests",)

    def __init__(self, spec: dict[str, Any], strings: Any) -> None:
        self.tests: list[tuple[int, str, Any]] = []
        for key, value in spec.items():
            key = key.upper()
            if key == "TEXT":
                key = "ORTH"
            if key not in _ATTRS:
                raise Unsupported(key)
            col = _ATTRS.index(key)
            if key == "IS_SPACE":
                if not isinstance(value, bool):
                    raise Unsupported(f"{key}: {value!r}")
                self.tests.append((col, "eq", int(value)))
            elif isinstance(value, str):
                self.tests.append((col, "eq", _hash(key, value, strings)))
            elif isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _OPS:
                op, arg = next(iter(value.items()))
                if op == "REGEX":
                    self.tests.append((col, "re", re.compile(arg)))
                else:
                    self.tests.append((col, op.lower(), frozenset(_hash(key, v, strings) for v in arg)))
            else:
                raise Unsupported(f"{key}: {value!r}")

    def eq(self, col: int) -> int | None:
        return next((v for c, op, v in self.tests if c == col and op == "eq"), None)

    def matches(self, row: list[int], text_of: Any) -> bool:
        for col, op, v in self.tests:
            x = row[col]
            if op == "eq":
                if x != v:
                    return False
            elif op == "in":
                if x not in v:
                    return False
            elif op == "not_in":
                if x in v:
                    return False
            elif not v.search(text_of(x)):
                return False
        return True


def _hash(key: str, value: str, strings: Any) -> int:
    if key == "POS":
        from spacy.parts_of_speech import IDS

        if value not in IDS:
            raise Unsupported(f"POS {value!r}")
        return int(IDS[value])
    return int(strings.add(value))


class IndexedMatcher:
    """Called like ``Matcher(doc, allow_missing=True, as_spans=False)``: the (key, start, end) of every pattern
    match, found through an index on the first token's tag and lower-case form."""

    def __init__(self, ruler: Any) -> None:
        strings = ruler.vocab.strings
        self.strings = strings
        self.patterns: list[tuple[int, list[_Spec]]] = []
        for i in range(len(ruler.attrs)):
            key = strings.add(str(i))
            for pattern in ruler.matcher.get(str(i))[1]:
                if any("OP" in tok for tok in pattern) or not pattern:
                    raise Unsupported("operator")
                self.patterns.append((key, [_Spec(tok, strings) for tok in pattern]))
        # patterns by their first token's lower-case form, else its tag, else none: one-token and longer apart
        self.index: tuple[dict[int, list[int]], dict[int, list[int]], list[int]] = ({}, {}, [])
        self.index_multi: tuple[dict[int, list[int]], dict[int, list[int]], list[int]] = ({}, {}, [])
        tag, lower = _ATTRS.index("TAG"), _ATTRS.index("LOWER")
        for k, (_key, specs) in enumerate(self.patterns):
            by_lower, by_tag, rest = self.index if len(specs) == 1 else self.index_multi
            first = specs[0]
            if (v := first.eq(lower)) is not None:  # the more selective key first
                by_lower.setdefault(v, []).append(k)
            elif (v := first.eq(tag)) is not None:
                by_tag.setdefault(v, []).append(k)
            else:
                rest.append(k)
        self._texts: dict[int, str] = {}
        self._doc_strings = strings
        self._singles: dict[tuple[int, ...], list[int]] = {}

    def _text(self, h: int) -> str:
        t = self._texts.get(h)
        if t is None:
            t = self._texts[h] = self._doc_strings[h]
        return t

    def __call__(self, doc: Any, *, allow_missing: bool = False, as_spans: bool = False,
                 **_kw: Any) -> list[tuple[int, int, int]]:
        from spacy.attrs import DEP, IS_SPACE, LOWER, ORTH, POS, TAG

        self._doc_strings = doc.vocab.strings
        rows = doc.to_array([ORTH, LOWER, TAG, POS, DEP, IS_SPACE]).tolist()
        n = len(rows)
        out: list[tuple[int, int, int]] = []
        memo = self._singles
        multi_lower, multi_tag, multi_rest = self.index_multi
        for i, row in enumerate(rows):
            t = tuple(row)
            keys = memo.get(t)
            if keys is None:  # one-token patterns depend on the token alone: their keys per distinct token
                if len(memo) > 500_000:
                    memo.clear()
                keys = memo[t] = self._keys(row)
            for key in keys:
                out.append((key, i, i + 1))
            if multi_lower.get(row[1]) or multi_tag.get(row[2]) or multi_rest:
                for k in multi_lower.get(row[1], []) + multi_tag.get(row[2], []) + multi_rest:
                    key, specs = self.patterns[k]
                    if i + len(specs) <= n and all(s.matches(rows[i + j], self._text) for j, s in enumerate(specs)):
                        out.append((key, i, i + len(specs)))
        return out

    def _keys(self, row: list[int]) -> list[int]:
        by_lower, by_tag, rest = self.index
        cands = sorted(by_lower.get(row[1], []) + by_tag.get(row[2], []) + rest)
        return [self.patterns[k][0] for k in cands if self.patterns[k][1][0].matches(row, self._text)]


def speed_up(nlp: Any) -> list[str]:
    """Install :class:`IndexedMatcher` in ``nlp``'s attribute rulers where it applies; returns their names."""
    changed: list[str] = []
    for name, proc in nlp.pipeline:
        kind = type(proc).__name__
        if kind == "AttributeRuler":
            try:
                proc.matcher = IndexedMatcher(proc)
                changed.append(name)
            except Unsupported as e:
                log.info("attribute ruler %s keeps spaCy's matcher (%s)", name, e)
    return changed
