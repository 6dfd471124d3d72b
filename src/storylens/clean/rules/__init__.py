"""Cleaning and detection rules as data files (``*.txt`` here); loaded once and cached."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources


@dataclass(slots=True)
class RuleSet:
    line_rules: list[tuple[str, re.Pattern[str]]] = field(default_factory=list)  # (rule name, full-line regex)
    word_rules: list[tuple[str, re.Pattern[str]]] = field(default_factory=list)  # stray menu words


@dataclass(slots=True)
class Outlet:
    name: str
    domains: list[str]
    aliases: list[str]


def _lines(name: str) -> list[str]:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    return [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def furniture_languages() -> list[str]:
    return sorted(p.name[:-4] for p in resources.files(__package__).iterdir()
                  if p.name.endswith(".txt") and len(p.name) == 6)


@cache
def furniture_rules() -> RuleSet:
    """Line and word rules of every language file (``en.txt``, ``ru.txt`` ...): furniture of a site in one
    language often sits in an article in another."""
    rs = RuleSet()
    for lang in furniture_languages():
        for ln in _lines(f"{lang}.txt"):
            head, _, pattern = ln.partition("\t")
            kind, _, name = head.partition(":")
            rx = re.compile(rf"(?:{pattern.strip()})", re.IGNORECASE)
            if kind == "line":
                rs.line_rules.append((name, rx))
            elif kind == "word":
                rs.word_rules.append((name, rx))
            else:
                raise ValueError(f"rules/{lang}.txt: unknown rule kind {kind!r} in {ln!r}")
    return rs


@cache
def outlets() -> list[Outlet]:
    out = []
    for ln in _lines("outlets.txt"):
        name, domains, aliases = (ln.split("\t") + ["", ""])[:3]
        out.append(Outlet(name.strip(), [d.strip().lower() for d in domains.split(",") if d.strip()],
                          [a.strip() for a in aliases.split("|") if a.strip()] or [name.strip()]))
    return out


@cache
def offices() -> list[tuple[int, int, re.Pattern[str]]]:
    out = []
    for ln in _lines("offices.txt"):
        first, last, pattern = ln.split("\t", 2)
        out.append((int(first), int(last), re.compile(pattern.strip())))
    return out
