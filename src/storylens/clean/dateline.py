"""Datelines at the start of a wire story: "WASHINGTON, June 8. /TASS/.", "МОСКВА, 8 июня. /ТАСС/.",
"MOSCOW, June 8 (Reuters) -", "WASHINGTON (AP) —", "LONDON, June 8 —"."""

from __future__ import annotations

import re
from dataclasses import dataclass

PLACE = r"(?P<place>[A-ZА-ЯЁ][A-ZА-ЯЁ.'’\-]*(?:[ \-][A-ZА-ЯЁ][A-ZА-ЯЁ.'’\-]*){0,3})"
DATE = (r"(?P<date>(?:[A-Z][a-z]{2,8}\.? \d{1,2}|\d{1,2} [A-Za-zА-Яа-яё]{3,9})(?:,? (?:19|20)\d\d)?)")
_PATTERNS = [
    re.compile(rf"^{PLACE},\s+{DATE}\.?\s*/\s*(?P<outlet>[^/\n]{{2,30}}?)\s*/\s*\.?"),
    re.compile(rf"^{PLACE}(?:,\s+{DATE})?\s+\((?P<outlet>[A-Za-zА-Яа-яЁё .\-]{{2,30}})\)\s*[-–—]"),
    re.compile(rf"^{PLACE},\s+{DATE}\s*[-–—:]\s"),
]


@dataclass(slots=True)
class Dateline:
    place: str
    date: str | None
    outlet: str | None
    end: int  # where the dateline ends in the paragraph


def find_dateline(paragraph: str) -> Dateline | None:
    head = paragraph[:200]
    for rx in _PATTERNS:
        m = rx.match(head)
        if m and len(m.group("place")) >= 2:
            gd = m.groupdict()
            return Dateline(m.group("place").strip(), gd.get("date"), (gd.get("outlet") or "").strip() or None,
                            m.end())
    return None
