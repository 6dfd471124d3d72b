"""``prepare``: one raw document to one cleaned, detected :class:`Article` (pure: no DB, no network)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from dataclasses import dataclass

from storylens.clean.dateline import find_dateline
from storylens.clean.dates import infer_published, parse_metadata_date, resolve_mentions
from storylens.clean.extract import extract_html
from storylens.clean.furniture import FurnitureModel, clean_text, normalise_text
from storylens.clean.language import detect_language
from storylens.clean.outlet import (
    known_outlet,
    normalise_outlet,
    outlet_from_interview,
    outlet_from_promotion,
    outlet_from_url,
    split_title_suffix,
)
from storylens.model import Article, Paragraph, RawDocument
from storylens.settings import Settings
from storylens.text.scripts import script_of

PARAGRAPH_MIN_CHARS = 40
EXTRACTED_KEY = "_extracted"  # raw.meta cache of the HTML extraction, shared by FurnitureModel.observe


@dataclass(slots=True)
class Body:
    """The article text before cleaning, with what the HTML metadata said."""

    text: str
    title: str | None = None
    date: str | None = None
    sitename: str | None = None
    url: str | None = None
    from_html: bool = False


def body_of(raw: RawDocument) -> Body:
    """The text to clean: the raw text, or the main text trafilatura extracts from the HTML (cached in
    ``raw.meta`` so observing and preparing the same page extracts once)."""
    if raw.text is not None and raw.text.strip():
        return Body(raw.text, raw.title, raw.published, raw.outlet, raw.url, False)
    if raw.html is None or not raw.html.strip():
        raise ValueError(f"{raw.source}: the item has no text and no html")
    cached = raw.meta.get(EXTRACTED_KEY)
    if isinstance(cached, Body):
        return cached
    ext = extract_html(raw.html, raw.url)
    if ext is None:
        raise ValueError(f"{raw.source}: no article text found in the HTML (no main content block)")
    body = Body(ext.text, raw.title or ext.title, raw.published or ext.date, raw.outlet or ext.sitename,
                raw.url or ext.url, True)
    raw.meta[EXTRACTED_KEY] = body
    return body


def outlet_key(raw: RawDocument, body: Body) -> str | None:
    """A cheap outlet guess used to learn repeated lines per outlet (metadata, URL, title suffix, dateline)."""
    if raw.outlet:
        return normalise_outlet(raw.outlet)
    if body.url:
        return outlet_from_url(body.url)
    if body.sitename:
        return normalise_outlet(body.sitename)
    lines = [ln for ln in normalise_text(body.text[:3000]).split("\n") if ln][:6]
    if body.title:
        lines.insert(0, body.title)
    for ln in lines:
        _, suffix, _ = split_title_suffix(ln)
        if suffix:
            return normalise_outlet(suffix)
        dl = find_dateline(ln)
        if dl and dl.outlet:
            return normalise_outlet(dl.outlet)
    return None


def content_hash(text: str) -> str:
    """SHA-256 of the words of the text (NFKC, case-folded): quotes, dashes, spaces and punctuation ignored."""
    s = unicodedata.normalize("NFKC", text).casefold()
    s = " ".join(re.findall(r"\w+", s))
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


_BYLINE_LEAD = re.compile(r"^.*?(by [^|·•]+[|·•]\s*|(published|updated|posted)( on)?:?\s*)", re.I)


def _date_part(line: str) -> str:
    """The date of a byline or timestamp line ("By Anna Kovac | 3 March 2025, 18:05" -> "3 March 2025, 18:05")."""
    return _BYLINE_LEAD.sub("", line, count=1).strip()


def _fetched(raw: RawDocument) -> dt.date | None:
    v = raw.meta.get("fetched")
    return parse_metadata_date(v) if isinstance(v, str) else None


def prepare(raw: RawDocument, settings: Settings, furniture: FurnitureModel | None = None) -> Article:
    """Clean and detect one document.  Raises ``ValueError`` (with the source in the message) when it has no
    article text."""
    body = body_of(raw)
    key = outlet_key(raw, body)
    cleaned = clean_text(body.text, title=body.title, structural=not body.from_html, outlet=key,
                         furniture=furniture)
    if not cleaned.paragraphs:
        raise ValueError(f"{raw.source}: no article text left after removing page furniture "
                         f"({len(cleaned.removed)} furniture lines)")
    paragraphs_text = cleaned.paragraphs
    text = "\n\n".join(paragraphs_text)

    # title and outlet
    title = cleaned.title
    title_outlet: str | None = None
    sections: list[str] = []
    if title:
        title, title_outlet, sections = split_title_suffix(title)
    dateline, dl_par = None, 0
    for i, ptext in enumerate(paragraphs_text[:2]):
        dateline, dl_par = find_dateline(ptext), i
        if dateline:
            break
    url_outlet = outlet_from_url(body.url) if body.url else None
    promo = next(((o, r.text) for r in cleaned.removed for o in [outlet_from_promotion(r.text)] if o), None)
    told = outlet_from_interview(text)
    candidates: list[tuple[str | None, str]] = [
        (normalise_outlet(raw.outlet), "metadata"),
        (url_outlet if url_outlet and known_outlet(url_outlet) else None, f"URL {body.url}"),
        (normalise_outlet(body.sitename) if body.from_html else None, f"site name '{body.sitename}'"),
        (normalise_outlet(dateline.outlet) if dateline and dateline.outlet else None,
         f"dateline '{paragraphs_text[dl_par][: dateline.end].strip()}'" if dateline else ""),
        (normalise_outlet(title_outlet), f"title suffix '{title_outlet}'"),
        (promo[0] if promo else None, f"self-promotion line '{promo[1]}'" if promo else ""),
        (cleaned.credit_outlets[0] if cleaned.credit_outlets else None, "credit line"),
        (told[0] if told else None, f"interview '{told[1]}'" if told else ""),
        (url_outlet, f"URL domain of {body.url}"),
    ]
    outlet, evidence = next(((n, ev) for n, ev in candidates if n), (None, None))

    # language
    default = settings.clean.default_language
    paragraphs: list[Paragraph] = []
    pos = 0
    language = raw.language or detect_language(text[:3000], default) or default
    text_script = script_of(text[:3000])
    for ptext in paragraphs_text:
        # short paragraphs (list items, bylines) take the article's language unless their script differs
        plang = detect_language(ptext[:400], language) if len(ptext) >= PARAGRAPH_MIN_CHARS or \
            script_of(ptext) != text_script else language
        paragraphs.append(Paragraph(pos, pos + len(ptext), plang))
        pos += len(ptext) + 2
    for p in paragraphs:
        if p.language is None:
            p.language = language
    langs = sorted({language, "en"} | ({"ru"} if any(p.language == "ru" for p in paragraphs) else set()))
    langs = [lang for lang in langs if lang in ("en", "ru", "de", "fr", "es", "it", "uk", "pl")] or ["en"]

    # dates
    # a byline or timestamp line is furniture, but the page's own statement of when it was published
    stamp = next((r.text for r in cleaned.removed if r.rule in ("timestamp", "byline") and
                  parse_metadata_date(_date_part(r.text))), None)
    metadata_date = body.date or (_date_part(stamp) if stamp else None)
    published = infer_published(text, dateline.date if dateline else None, metadata=metadata_date,
                                upper=_fetched(raw), languages=langs)
    mentions = resolve_mentions(text, published.value, langs)

    meta = {k: v for k, v in raw.meta.items() if k != EXTRACTED_KEY}
    if sections:
        meta["sections"] = sections
    return Article(
        id=raw.key, source=raw.source, text=text, title=title, url=body.url, outlet=outlet,
        outlet_evidence=evidence, published=published, language=language,
        dateline=dateline.place if dateline else None, paragraphs=paragraphs, removed=cleaned.removed,
        date_mentions=mentions, content_hash=content_hash(text), meta=meta,
    )
