"""Entity mentions of one article: the parser's entities, repaired and extended by a few rules.

* a person whose surname was typed in lower case ("Donald trump") is extended to the full name;
* treaties: "Treaty on … (INF)", "New INF agreement", "INF III" -> LAW;
* descriptions: "Nordic military bloc" / "the Union is a defensive alliance" teach the article that "the bloc",
  "the military alliance" mean that organisation; "the bilateral nuclear disarmament treaty" means the article's one treaty.
"""

from __future__ import annotations

import bisect
import re

from storylens.model import EntityMention
from storylens.nlp.backends import Tok
from storylens.nlp.lexicon import ORG_DESCRIPTORS, ROLE_WORDS, TREATY_WORDS

Ent = tuple[int, int, str, str | None]
NUMERIC = frozenset({"DATE", "TIME", "CARDINAL", "ORDINAL", "MONEY", "PERCENT", "QUANTITY"})

_TREATY_LONG = re.compile(r"\b(?:the\s+)?Treaty\s+(?:on|of|for|between)\s+[^()\n]{5,160}?\((?P<acr>[A-Z][A-Z0-9-]{1,12})\)")
_TREATY_ACR = re.compile(
    r"\b(?:New\s+)?[A-Z]{3,}(?:\s+(?:I{1,3}|IV))?\s+(?:[Tt]reaty|[Aa]greement|[Aa]ccord|[Pp]act)\b"
    r"|\b(?:New\s+)?[A-Z]{3,}\s+(?:I{2,3}|IV)\b|\bNew\s+[A-Z]{3,}\b")
_HEADS = "|".join(sorted(ORG_DESCRIPTORS | TREATY_WORDS))
_STOP = r"(?!(?:the|a|an|and|or|of|between|with|to|in|for|on|at|by|from|is|was|that|this)\s)"
_DESC = re.compile(r"\b[Tt]he\s+((?:" + _STOP + r"[a-z][a-z-]+\s+){0,4})(" + _HEADS + r")\b")


def repair_persons(text: str, toks: list[Tok], ents: list[Ent]) -> list[Ent]:
    starts = [t.start for t in toks]
    out: list[Ent] = []
    for s, e, lab, normal in ents:
        if lab == "PERSON" and normal is None:
            j = bisect.bisect_left(starts, e)
            last = bisect.bisect_left(starts, e) - 1
            if 0 <= last < len(toks) and j < len(toks) and toks[last].dep == "compound" and toks[last].head == j:
                nt = toks[j]
                if nt.text.isalpha() and nt.text.islower() and nt.start - e <= 1 and len(nt.text) > 2:
                    e = nt.end
        out.append((s, e, lab, normal))
    return out


def relabel_persons(text: str, ents: list[Ent]) -> list[Ent]:
    """An organisation or place that is the surname of a person of the article is that person."""
    names = [re.sub(r"['\u2019]s$", "", (n or text[s:e]).strip()) for s, e, lab, n in ents if lab in ("PERSON", "PER")]
    keys = {w.casefold() for n in names if len(n.split()) >= 2 for w in (n, n.split()[-1])}
    out: list[Ent] = []
    for s, e, lab, n in ents:
        t = re.sub(r"^(?:the|The)\s+|['\u2019]s$", "", text[s:e]).strip()
        if lab in ("ORG", "GPE", "NORP") and t.casefold() in keys:
            lab = "PERSON"
        out.append((s, e, lab, n))
    return out


def add_treaties(text: str, ents: list[Ent]) -> list[Ent]:
    found: list[Ent] = []
    for m in _TREATY_LONG.finditer(text):
        s = m.start() + (4 if m.group().startswith("the ") else 0)
        found.append((s, m.end(), "LAW", None))
    for m in _TREATY_ACR.finditer(text):
        if not any(fs <= m.start() < fe for fs, fe, _, _ in found):
            found.append((m.start(), m.end(), "LAW", None))
    if not found:
        return ents
    kept = [x for x in ents if not any(x[0] < fe and fs < x[1] for fs, fe, _, _ in found)]
    return sorted(kept + found)


def descriptions(text: str, ents: list[Ent], quote_spans: list[tuple[int, int]]) -> list[EntityMention]:
    """Definite descriptions ("the military bloc", "the treaty") resolved to the article's one named entity."""
    learned: dict[str, set[str]] = {}
    for s, e, lab, normal in ents:
        if lab != "ORG":
            continue
        name = re.sub(r"^(?:the|The)\s+", "", normal or text[s:e])
        m = re.match(r"\s+((?:" + _STOP + r"[a-z-]+\s+){0,3})(" + _HEADS + r")\b", text[e:e + 60])
        if m and m.group(2) in ORG_DESCRIPTORS:
            learned.setdefault(m.group(2), set()).add(name)
        m = re.match(r"\s+(?:is|was|remains)\s+an?\s+((?:[a-z-]+\s+){0,3}?)(" + _HEADS + r")\b", text[e:e + 70])
        if m and m.group(2) in ORG_DESCRIPTORS:
            learned.setdefault(m.group(2), set()).add(name)
    treaties = {(normal or text[s:e]) for s, e, lab, normal in ents if lab == "LAW"}
    out: list[EntityMention] = []
    for m in _DESC.finditer(text):
        head = m.group(2)
        after = text[m.end():m.end() + 40].lower()
        nxt = after.split()[0].strip(".,;:") if after.split() else ""
        if nxt in ROLE_WORDS or nxt == "secretary":
            continue
        if head in learned and len(learned[head]) == 1:
            out.append(EntityMention(m.group(), m.start(), m.end(), "ORG", name=next(iter(learned[head]))))
        elif head in TREATY_WORDS and len(treaties) == 1 and m.group(1).strip():
            out.append(EntityMention(m.group(), m.start(), m.end(), "LAW", name=next(iter(treaties))))
    # "Nordic military bloc", "Union mutual defense alliance": the name with its description
    for s, e, lab, normal in ents:
        if lab != "ORG":
            continue
        m = re.match(r"\s+((?:(?!(?:is|was|a|an|the|and|of)\s)[a-z-]+\s+){0,3})(" + _HEADS + r")\b", text[e:e + 60])
        if m and m.group(2) in ORG_DESCRIPTORS:
            out.append(EntityMention(text[s:e + m.end()], s, e + m.end(), "ORG",
                                     name=re.sub(r"^(?:the|The)\s+", "", normal or text[s:e])))
    return out


def rename_descriptions(mentions: list[EntityMention], described: list[EntityMention]) -> None:
    """A parser entity that is only a description ("the Alliance") takes the name it stands for."""
    by_head = {m.text.split()[-1].lower(): m.name for m in described if m.label == "ORG"}
    for m in mentions:
        if m.label == "ORG" and m.name and m.name.lower() in by_head and m.name.lower() in ORG_DESCRIPTORS:
            m.name = by_head[m.name.lower()]
