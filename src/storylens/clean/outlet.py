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
    return known_outlet(name) or name.strip()


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
