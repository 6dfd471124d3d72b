"""Which alphabet a text is written in: Cyrillic or Latin, by majority of letters."""

from __future__ import annotations

import re
from typing import Literal

CYRILLIC = re.compile(r"[\u0400-\u04ff]")
LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")

Script = Literal["cyrillic", "latin"]


def has_cyrillic(text: str) -> bool:
    """Whether any Cyrillic letter occurs in ``text``."""
    return CYRILLIC.search(text) is not None


def script_of(text: str) -> Script | None:
    """"cyrillic", "latin" or None (no letters of either) by majority of letters."""
    has_c = CYRILLIC.search(text) is not None
    has_l = LATIN.search(text) is not None
    if not has_c:
        return "latin" if has_l else None
    if not has_l:
        return "cyrillic"
    return "cyrillic" if len(CYRILLIC.findall(text)) > len(LATIN.findall(text)) else "latin"


def is_cyrillic(text: str) -> bool:
    """More Cyrillic than Latin letters."""
    return script_of(text) == "cyrillic"


def script_language(text: str) -> str:
    """The language a script stands for where only English and Russian are told apart: "ru" or "en"."""
    return "ru" if is_cyrillic(text) else "en"
