"""Outlet detection: URL domain, dateline ("/TASS/", "(Reuters) -"), title suffix (":: Policy :: RBC",
"| BBC News"), credit lines (a bare outlet name on its own line)."""

from __future__ import annotations

import re
from functools import cache
from urllib.parse import urlsplit

from storylens.clean.rules import outlets

TITLE_SEPARATORS = re.compile(r"\s+(?:::|\||—|–|-)\s+")


@cache
def _alias_index() -> dict[str, str]:
    idx: dict[str, str] = {}
    for o in outlets():
        for a in [o.name, *o.aliases]:
            idx[a.casefold()] = o.name
    return idx


def known_outlet(name: str) -> str | None:
    """The canonical name of a known outlet ("ТАСС", "tass" -> "TASS")."""
    return _alias_index().get(name.strip().strip(".").casefold())


def outlet_from_url(url: str | None) -> str | None:
    if not url:
        return None
    host = (urlsplit(url).hostname or "").lower()
    if not host:
        return None
    host = host.removeprefix("www.")
    for o in outlets():
        for d in o.domains:
            if host == d or host.endswith("." + d):
                return o.name
    return host


def normalise_outlet(name: str | None) -> str | None:
    if not name or not name.strip():
        return None
    known = known_outlet(name)
    if known:
        return known
    name = " ".join(name.split())
    # "The Meridian Post" and "Meridian Post" are one outlet; a one-word name keeps its article ("The Hill")
    if name[:4].lower() == "the " and len(name.split()) > 2:
        name = name[4:]
    return name


# self-promotion furniture names its own outlet: "Follow Baltic Ledger on Telegram", "Subscribe to The X briefing"
SELF_PROMOTION = re.compile(
    r"\b(?:[Ff]ollow|[Ss]ubscribe to|[Ss]ign up (?:for|to)|[Dd]ownload)\s+(?:the\s+|The\s+)?"
    r"(?P<name>[A-Z][\w'’&.-]*(?:[ \t]+[A-Z][\w'’&.-]*){0,3})")


# "… he told Northgate Daily" / "in an interview with Reuters": an outlet quoting its own interview
TOLD_OUTLET = re.compile(
    r"\b(?:told|said to|in an interview with|speaking to)\s+(?:the\s+)?"
    r"(?P<name>[A-Z][\w'’&.-]*(?:[ \t]+[A-Z][\w'’&.-]*){0,3})")
OUTLET_WORDS = {"post", "times", "daily", "news", "wire", "ledger", "herald", "journal", "gazette", "tribune",
                "telegraph", "guardian", "independent", "observer", "express", "mail", "agency", "tv", "radio",
                "chronicle", "courier", "standard", "review", "weekly", "press", "bulletin", "dispatch"}


def outlet_from_interview(text: str) -> tuple[str, str] | None:
    """(outlet, evidence) from "told <Outlet>" when the name is a known outlet or reads like a newspaper's."""
    for m in TOLD_OUTLET.finditer(text):
        name = m.group("name").rstrip(".'’")
        known = known_outlet(name)
        if known or name.split()[-1].lower() in OUTLET_WORDS:
            return (known or normalise_outlet(name) or name), m.group()
    return None


def outlet_from_promotion(line: str) -> str | None:
    m = SELF_PROMOTION.search(line)
    if not m:
        return None
    words = m.group("name").split()
    while words and words[-1].lower() in ("on", "app", "morning", "evening", "daily") and len(words) > 1:
        words.pop()
    return normalise_outlet(" ".join(words)) if words else None


def split_title_suffix(title: str) -> tuple[str, str | None, list[str]]:
    """``"Headline :: Policy :: RBC"`` -> (``"Headline"``, ``"RBC"``, [``"Policy"``]).

    ``::`` and ``|`` always separate site parts (the last part is the outlet when it is short); `` - `` / `` — ``
    only when the last part is a known outlet (a dash is common inside headlines)."""
    seps = list(TITLE_SEPARATORS.finditer(title))
    if not seps:
        return title, None, []
    last = title[seps[-1].end():].strip()
    strong = [m for m in seps if m.group().strip() in ("::", "|")]
    known = known_outlet(last)
    if strong and (known or len(last.split()) <= 4):
        cut = strong[0]
        middle = TITLE_SEPARATORS.split(title[cut.end():seps[-1].start()]) if cut is not seps[-1] else []
        return title[: cut.start()].strip(), known or last, [m.strip() for m in middle if m.strip()]
    if known:
        return title[: seps[-1].start()].strip(), known, []
    return title, None, []
