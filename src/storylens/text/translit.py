"""Cyrillic names in Latin letters: a plain transliteration to compare names across scripts, and a folded key equal
for the usual transliterations of one name."""

from __future__ import annotations

import re

_TRANSLIT = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
                     ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r", "s",
                      "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya"], strict=True))
_FOLDS = (("shch", "sc"), ("kh", "h"), ("ks", "x"), ("ts", "c"), ("tz", "c"), ("ph", "f"), ("ck", "k"),
          ("j", "i"), ("y", "i"), ("w", "v"), ("z", "s"))


def latin(name: str) -> str:
    """``name`` case-folded, its Cyrillic letters in Latin ones ("Елена Марш" -> "elena marsh")."""
    return "".join(_TRANSLIT.get(ch, ch) for ch in name.casefold())


def translit_key(key: str) -> str:
    """A name key in folded Latin letters, equal for the usual transliterations of one name:
    "билл нельсон" / "bill nelson", "олкилуото" / "olkiluoto", "йенс ларсен" / "jens larsen"."""
    k = latin(key)
    for a, b in _FOLDS:
        k = k.replace(a, b)
    k = re.sub(r"[^a-z ]", "", k)
    return re.sub(r"(.)\1+", r"\1", k).strip()
