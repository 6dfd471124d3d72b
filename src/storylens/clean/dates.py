"""Dates: the publication date (metadata -> dateline -> text, with an ``inferred`` flag and the evidence) and the
absolute dates behind "on Monday", "June 16", "16 July", "в понедельник" (dateparser, anchored on the
publication date).

A date without a year is placed by general rules, never by facts about particular articles:

* candidate years come from the text: office holders named by title ("US President Joe Biden") bound the
  years the text can have been written in (``rules/offices.txt``), year mentions ("since 2014") give a lower
  bound, and the crawl date / today an upper bound;
* a weekday ("on Monday") reported with a day and month (a dateline "June 8", "ahead of the June 16 summit")
  pins the day, and often the year: the weekday must fall on the day or the day before (dateline) or in the
  week before an upcoming / after a past day-month.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from storylens.clean.rules import offices
from storylens.model import DateMention, PublishedDate

MONTHS_EN = ("January|February|March|April|May|June|July|August|September|October|November|December|"
             r"Jan\.?|Feb\.?|Mar\.?|Apr\.?|Jun\.?|Jul\.?|Aug\.?|Sept?\.?|Oct\.?|Nov\.?|Dec\.?")
MONTHS_RU = "января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря"
WEEKDAYS_EN = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
WEEKDAYS_RU = "понедельник|вторник|среду|четверг|пятницу|субботу|воскресенье"
WEEKDAY_INDEX = {w.lower(): i for i, w in enumerate(WEEKDAYS_EN.split("|"))} | {
    w: i for i, w in enumerate(WEEKDAYS_RU.split("|"))}

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("full", re.compile(rf"\b(?:\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{MONTHS_EN})|(?:{MONTHS_EN})\s+\d{{1,2}}(?:st|nd|rd|th)?,?)"
                        rf"\s+(?:19|20)\d\d\b")),
    ("full", re.compile(rf"\b\d{{1,2}}\s+(?:{MONTHS_RU})\s+(?:19|20)\d\d(?:\s+года)?\b", re.I)),
    ("daymonth", re.compile(rf"\b(?:\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{MONTHS_EN})|(?:{MONTHS_EN})\s+\d{{1,2}}"
                            rf"(?:st|nd|rd|th)?)\b(?!\d|,?\s+(?:19|20)\d\d)")),
    ("daymonth", re.compile(rf"\b\d{{1,2}}\s+(?:{MONTHS_RU})\b(?!\s+(?:19|20)\d\d)", re.I)),
    ("monthyear", re.compile(rf"\b(?:{MONTHS_EN})\s+(?:of\s+)?(?:19|20)\d\d\b")),
    ("weekday", re.compile(rf"\b(?:(?:on|earlier|later|last|this|next|late|early)\s+)?(?:{WEEKDAYS_EN})\b")),
    ("weekday", re.compile(rf"(?<!\w)(?:в|во|в прошлый|в прошлую|в следующий|в следующую)\s+(?:{WEEKDAYS_RU})\b",
                           re.I)),
    ("relative", re.compile(r"\b(?:yesterday|today|tomorrow|tonight)\b|(?<!\w)(?:вчера|сегодня|завтра)(?!\w)", re.I)),
]
FUTURE_CUE = re.compile(r"\b(?:will|shall|upcoming|forthcoming|next|ahead of|prior to|before|is (?:set|due|expected|"
                        r"scheduled|to)|are (?:set|due|expected|scheduled|to))\b|(?<!\w)(?:будет|состоится|"
                        r"предстоящ\w*|накануне)(?!\w)", re.I)
PAST_CUE = re.compile(r"\b(?:last|ago|earlier|was|were|had|did|said|told|held)\b", re.I)
YEAR = re.compile(r"(?<![\d.,/-])(19[5-9]\d|20[0-4]\d)(?:s)?(?![\d.,/-]\d)")
SENTENCE_START = re.compile(r"[.!?]\s+(?=\S)")


@dataclass(slots=True)
class Found:
    kind: str
    text: str
    start: int
    end: int
    future: bool | None  # tense cue of the sentence before the mention: True future, False past, None none


NEEDLES = tuple(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december", "jan.", "feb.", "aug.", "sept.", "oct.", "nov.", "dec."]
    + [w.lower() for w in WEEKDAYS_EN.split("|")] + ["yesterday", "today", "tomorrow", "tonight"]
    + ["январ", "феврал", "март", "апрел", "мая", "июн", "июл", "август", "сентябр", "октябр", "ноябр", "декабр"]
    + WEEKDAYS_RU.split("|") + ["вчера", "сегодня", "завтра"])


def _windows(text: str) -> list[tuple[int, int]]:
    """Spans around each month / weekday / relative keyword (``str.find`` per keyword: a regex alternation over
    the whole text is ~20x slower)."""
    low = text.lower()
    hits: list[int] = []
    for needle in NEEDLES:
        i = low.find(needle)
        while i != -1:
            hits.append(i)
            i = low.find(needle, i + 1)
    hits.sort()
    windows: list[tuple[int, int]] = []
    for k in hits:
        s, e = max(0, k - 30), min(len(text), k + 45)
        if windows and s <= windows[-1][1]:
            windows[-1] = (windows[-1][0], e)
        else:
            windows.append((s, e))
    return windows


def find_date_expressions(text: str) -> list[Found]:
    """Date expressions in text, earliest first, without overlaps (longer kinds win).  The patterns run only
    on windows around keywords."""
    windows = _windows(text)
    taken: list[tuple[int, int]] = []
    out: list[Found] = []
    for ws, we in windows:
        for kind, rx in _PATTERNS:
            for m in rx.finditer(text, ws, we):
                s, e = m.start(), m.end()
                if any(s < te and ts < e for ts, te in taken):
                    continue
                taken.append((s, e))
                out.append(Found(kind, m.group(), s, e, _tense(text, s)))
    out.sort(key=lambda f: f.start)
    return out


def _tense(text: str, pos: int) -> bool | None:
    """Tense cue of the clause before ``pos``: True future, False past, None unknown."""
    begin = max(text.rfind("\n", 0, pos), 0)
    for m in SENTENCE_START.finditer(text, begin, pos):
        begin = m.end()
    before = text[max(begin, pos - 120): pos]
    fut = list(FUTURE_CUE.finditer(before))
    past = list(PAST_CUE.finditer(before))
    if fut and (not past or fut[-1].start() > past[-1].start()):
        return True
    if past:
        return False
    return None


# ---- parsing one expression ---------------------------------------------------------------------------


def _dateparser_settings(base: dt.date | None, prefer: str | None) -> dict[str, Any]:
    s: dict[str, Any] = {"RETURN_AS_TIMEZONE_AWARE": False}
    if base is not None:
        s["RELATIVE_BASE"] = dt.datetime(base.year, base.month, base.day, 12)
    if prefer:
        s["PREFER_DATES_FROM"] = prefer
    return s


def parse_expression(f: Found, base: dt.date | None, languages: list[str] | None = None) -> dt.date | None:
    """The absolute date of one expression, anchored on ``base`` (dateparser); None when it needs a base and
    has none."""
    if f.kind in ("weekday", "relative", "daymonth") and base is None:
        return None
    phrase = re.sub(r"^(?:on|earlier|later|late|early|this|в|во)\s+", "", f.text, flags=re.I)
    phrase = re.sub(r"\b(\d+)(?:st|nd|rd|th)\b", r"\1", phrase).replace(" of ", " ")
    prefer = "future" if f.future else "past"
    if f.kind == "daymonth":
        prefer = "future" if f.future else ("past" if f.future is False else "current_period")
    if re.match(r"^(?:next|в следующ)", f.text, re.I):
        prefer = "future"
    langs = tuple(languages or ["en", "ru"])
    if f.kind == "weekday" and base is not None and not re.match(r"(?i)(?:last|next|в прошл|в следующ)", f.text):
        wd = _weekday_of(f)
        if wd == base.weekday():  # "said on Monday" in a Monday report is that day
            return base
    value = _dateparser_date(phrase, langs, base, prefer)
    if value is None:
        return None
    if f.kind == "daymonth" and base is not None and prefer == "current_period":
        # no tense cue: the nearest such day to the base date
        cands = [_replace_year(value, base.year + k) for k in (-1, 0, 1)]
        value = min((c for c in cands if c), key=lambda c: abs((c - base).days))
    if f.kind == "monthyear":
        value = value.replace(day=1)
    return value


@lru_cache(maxsize=8192)
def _dateparser_date(phrase: str, langs: tuple[str, ...], base: dt.date | None, prefer: str) -> dt.date | None:
    import dateparser

    d = dateparser.parse(phrase, languages=list(langs), settings=_dateparser_settings(base, prefer))
    return d.date() if d is not None else None


def _replace_year(d: dt.date, year: int) -> dt.date | None:
    try:
        return d.replace(year=year)
    except ValueError:  # 29 February
        return None


def resolve_mentions(text: str, base: dt.date | None, languages: list[str] | None = None) -> list[DateMention]:
    out = []
    for f in find_date_expressions(text):
        try:
            value = parse_expression(f, base, languages)
        except Exception:  # noqa: BLE001 - dateparser on odd input
            value = None
        out.append(DateMention(text=f.text, start=f.start, end=f.end, value=value))
    return out


def reanchor_mentions(text: str, mentions: list[DateMention], base: dt.date | None,
                      languages: list[str] | None = None) -> list[DateMention]:
    """``mentions`` resolved again against ``base``: relative ones ("on Monday", "yesterday", "June 16" without a
    year) depend on the publication date, which a later stage may correct (an article dated by a weekday is moved
    back by whole weeks when an earlier report carried its quote); absolute ones are kept."""
    out = []
    for m in mentions:
        kind = next((k for k, rx in _PATTERNS if rx.fullmatch(m.text)), None)
        if kind not in ("weekday", "relative", "daymonth"):
            out.append(m)
            continue
        try:
            value = parse_expression(Found(kind, m.text, m.start, m.end, _tense(text, m.start)), base, languages)
        except Exception:  # noqa: BLE001 - dateparser on odd input
            value = None
        out.append(DateMention(text=m.text, start=m.start, end=m.end, value=value))
    return out


# ---- the publication date -----------------------------------------------------------------------------


def parse_metadata_date(value: str | None) -> dt.date | None:
    if not value or not str(value).strip():
        return None
    s = str(value).strip()
    try:
        return dt.date.fromisoformat(s[:10])
    except ValueError:
        pass
    import dateparser

    d = dateparser.parse(s, settings={"RETURN_AS_TIMEZONE_AWARE": False, "PREFER_DAY_OF_MONTH": "first"})
    return d.date() if d else None


def office_years(text: str) -> tuple[set[int] | None, list[str]]:
    """Years the text can have been written in, from office holders named by their title; None when none."""
    by_pattern: dict[str, tuple[set[int], str]] = {}
    for first, last, rx in offices():
        m = rx.search(text)
        if m:
            years, _ = by_pattern.get(rx.pattern, (set(), m.group()))
            years |= set(range(first, last + 1))
            by_pattern[rx.pattern] = (years, m.group())
    if not by_pattern:
        return None, []
    result: set[int] | None = None
    used: list[str] = []
    for years, label in by_pattern.values():
        narrowed = years if result is None else result & years
        if narrowed:  # a contradicting mention (a former title) is ignored
            result = narrowed
            used.append(f"'{label}' ({min(years)}–{max(years)})")
    return result, used


def _year_bounds(text: str, upper: int) -> tuple[list[int], list[str], bool, set[int]]:
    """Candidate years (ascending), the evidence, whether office holders narrowed them, and the years the text
    mentions (preferred among equally consistent candidates; a mention may be a future year, so never a bound)."""
    evidence: list[str] = []
    off, used = office_years(text)
    mentioned = {int(m.group(1)) for m in YEAR.finditer(text) if int(m.group(1)) <= upper}
    if off:
        years = sorted(y for y in off if y <= upper)
        evidence.append("office holders " + ", ".join(used))
        return years, evidence, True, mentioned
    return list(range(upper - 30, upper + 1)), evidence, False, mentioned


def _prefer_mentioned(cands: list[dt.date], mentioned: set[int], evidence: list[str]) -> list[dt.date]:
    pref = [c for c in cands if c.year in mentioned]
    if pref and len(pref) < len(cands):
        evidence.append("year mentioned in the text " + ", ".join(str(y) for y in sorted({c.year for c in pref})))
        return pref
    return cands


def _weekdays(found: Iterable[Found]) -> list[Found]:
    return [f for f in found if f.kind == "weekday" and not f.future and not re.match(r"(?i)next|в следующ", f.text)]


def _weekday_of(f: Found) -> int:
    word = f.text.split()[-1].lower()
    return WEEKDAY_INDEX[word]


def _pick(cands: list[dt.date], office_narrowed: bool) -> dt.date:
    # a window narrowed by office holders: its first consistent year; otherwise the most recent one
    return min(cands) if office_narrowed else max(cands)


def infer_published(text: str, dateline_date: str | None = None, *, metadata: str | None = None,
                    upper: dt.date | None = None, languages: list[str] | None = None) -> PublishedDate:
    """metadata -> dateline -> text, with the evidence of every inferred value."""
    md = parse_metadata_date(metadata)
    if md is not None:
        return PublishedDate(md, "metadata", False, f"metadata '{metadata}'")
    upper = upper or dt.date.today()
    found = find_date_expressions(text)
    weekdays = _weekdays(found)
    import dateparser

    if dateline_date:
        parsed = dateparser.parse(dateline_date, languages=languages or ["en", "ru"],
                                  settings={"RETURN_AS_TIMEZONE_AWARE": False, "PREFER_DAY_OF_MONTH": "first",
                                            "REQUIRE_PARTS": ["day", "month"]})
        if parsed is not None:
            if re.search(r"(?:19|20)\d\d", dateline_date):
                return PublishedDate(parsed.date(), "dateline", False, f"dateline '{dateline_date}'")
            years, ev, narrowed, mentioned = _year_bounds(text, upper.year)
            cands = [c for y in years if (c := _replace_year(parsed.date(), y)) and c <= upper]
            used_wd = None
            if weekdays:
                # the weekday is the dateline day itself, else the day before (an evening event filed next day)
                exact = [c for c in cands if any(_weekday_of(w) == c.weekday() for w in weekdays)]
                before = [c for c in cands if any(_weekday_of(w) == (c.weekday() - 1) % 7 for w in weekdays)]
                named = [c for c in exact + before if c.year in mentioned]  # a year the text names wins
                fitting = [c for c in exact if c in named] or named or exact or before
                if fitting:
                    cands, used_wd = fitting, weekdays[0].text
            cands = _prefer_mentioned(cands, mentioned, ev)
            if cands:
                value = _pick(cands, narrowed)
                parts = [f"dateline '{dateline_date}' without a year"] + ev
                if used_wd:
                    parts.append(f"'{used_wd}' falls on the dateline day or the day before")
                parts.append(_years_note(cands, value))
                return PublishedDate(value, "dateline", True, "; ".join(parts))
    # text: a weekday placed relative to a day-month mention
    anchors = [f for f in found if f.kind in ("daymonth", "full")]
    if anchors and weekdays:
        a, w = anchors[0], weekdays[0]
        years, ev, narrowed, mentioned = _year_bounds(text, upper.year)
        if a.kind == "full":
            ym = re.search(r"(?:19|20)\d\d", a.text)
            years, ev, narrowed = ([int(ym.group())] if ym else years), [f"'{a.text}'"], True
        month_day = dateparser.parse(re.sub(r"\b(\d+)(?:st|nd|rd|th)\b", r"\1", a.text).replace(" of ", " "),
                                     languages=languages or ["en", "ru"],
                                     settings={"RETURN_AS_TIMEZONE_AWARE": False})
        if month_day is not None:
            wd = _weekday_of(w)
            found_days: list[dt.date] = []
            for y in years:
                anchor = _replace_year(month_day.date(), y)
                if anchor is None:
                    continue
                for k in (range(-6, 1) if a.future else range(0, 7)):
                    c = anchor + dt.timedelta(days=k)
                    if c.weekday() == wd and c <= upper:
                        found_days.append(c)
            found_days = _prefer_mentioned(found_days, mentioned, ev)
            if found_days:
                value = _pick(found_days, narrowed)
                rel = "in the week before the upcoming" if a.future else "in the week from"
                parts = [f"'{w.text}' taken as the publication day, {rel} '{a.text}'"] + ev + [_years_note(found_days, value)]
                return PublishedDate(value, "text", True, "; ".join(parts))
    hints = [f"'{f.text}'" for f in found if f.kind in ("daymonth", "weekday", "full")][:4]
    if hints:
        years, ev, _, _ = _year_bounds(text, upper.year)
        span = f"{years[0]}–{years[-1]}" if years else "unknown"
        return PublishedDate(None, "unknown", False,
                             f"not pinned to a day: mentions {', '.join(hints)}; candidate years {span}"
                             + (f" ({'; '.join(ev)})" if ev else ""))
    return PublishedDate(None, "unknown", False, None)


def _years_note(cands: list[dt.date], value: dt.date) -> str:
    years = sorted({c.year for c in cands})
    if len(years) == 1:
        return f"only consistent year {years[0]}"
    return f"consistent years {', '.join(map(str, years))}: chose {value.year} (ambiguous)"
