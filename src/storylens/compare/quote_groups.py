"""Quote groups: every report of one statement across articles and outlets, and how each later report changed
what was first published.

Statements and their reports come from :mod:`.statements` (one group per statement; a long quote takes part in each
statement it holds with that statement's span).  Each group's *first report* is its earliest report (publication
date, then article order, then position); every variant is compared with it (:mod:`.quote_diff`): the changes are
the words the later outlet cut, added, replaced, bracketed in or renamed, a verb's tense, a translation, and a
different speaker (after unifying the names across articles, :mod:`.names`).  A report in the first report's
words is ``identical``.  ``canonical`` keeps the longest known version of the statement (its text only).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter
from collections.abc import Sequence

from storylens.compare.embedding import CachedEmbed, Embed
from storylens.compare.names import name_words, same_person, same_speaker
from storylens.compare.quote_diff import DiffResult, dedupe, diff_quotes
from storylens.compare.statements import Piece, group_statements, is_name_mention
from storylens.model import Article, DiffOp, QuoteChange, QuoteGroup, QuoteVariant
from storylens.text.tokens import normalise_quote
from storylens.text.translit import latin

__all__ = ["DiffResult", "diff_quotes", "group_quotes"]

PARAPHRASE_SIM = 0.5  # word similarity below which a report is the statement in other words
TRANSLATION_CUT = 0.6  # a translation shorter than this share of the first report's characters is also a cut


def group_quotes(articles: Sequence[Article], embed: Embed | None = None, *, story_id: str | None = None,
                 min_variants: int = 1) -> list[QuoteGroup]:
    """Quote groups of ``articles`` (a story, a narrative or a whole store), most widely carried first.

    ``embed`` (texts -> L2-normalised vectors) matches translations; without it the default multilingual encoder
    is loaded only when the quotes are in more than one language.  Group ids are ``<story_id>:<hash>``.
    """
    cached = embed if isinstance(embed, CachedEmbed) else CachedEmbed(embed)
    grouping = group_statements(articles, cached)
    out: list[QuoteGroup] = []
    used_ids: set[str] = set()
    for g in grouping.groups:
        if len(g) < min_variants:
            continue
        out.append(_make_group([grouping.pieces[i] for i in g], cached, story_id, used_ids))
    out.sort(key=lambda gr: (-len({v.outlet for v in gr.variants}), -len(gr.variants),
                             gr.first_published or dt.date.max, gr.id))
    return out


def _group_speaker(first: Piece, members: list[Piece]) -> tuple[str | None, str | None]:
    """The first report's speaker, else the one most reports name."""
    if first.speaker:
        return first.speaker, first.speaker_entity
    counts = Counter(p.speaker for p in members if p.speaker)
    if not counts:
        return None, None
    name = counts.most_common(1)[0][0]
    return name, next((p.speaker_entity for p in members if p.speaker == name), None)


def speaker_changed(p: Piece, speaker: str | None, speaker_entity: str | None) -> bool:
    """Whether report ``p`` names another person than ``speaker`` (the first report's).  Claimed only when the
    names contradict each other: a resolved name that is another person's, given by a mention that is itself
    another person's name, or by a pronoun or role that cannot be the first speaker (who is not named before it in
    the article)."""
    if same_speaker(speaker, speaker_entity, p.speaker, p.speaker_entity) is not False:
        return False
    assert speaker is not None
    mention = p.quote.speaker
    if mention is None:
        return False
    if is_name_mention(mention.text):
        return not same_person(mention.text, speaker)
    before = latin(p.article.text[:min(p.start, mention.start)])
    return not any(re.search(rf"\b{re.escape(w)}\b", before) for w in name_words(speaker) if len(w) > 2)


def _first_report(members: list[Piece]) -> Piece:
    """The first article's fullest direct report of the statement (an article that quotes a fragment in its lead
    and the whole statement further down published the whole statement)."""
    direct = [p for p in members if p.direct] or members
    first_article = direct[0].article.id
    own = [p for p in direct if p.article.id == first_article and p.lang == direct[0].lang]
    return max(own, key=lambda p: (len(p.stems), -p.start))


def _make_group(members: list[Piece], embed: CachedEmbed, story_id: str | None, used_ids: set[str]) -> QuoteGroup:
    members = sorted(members, key=lambda p: p.sort_key())
    first = _first_report(members)
    speaker, speaker_entity = _group_speaker(first, members)
    same_lang = [p for p in members if p.lang == first.lang and p.direct] or [first]
    longest = max(same_lang, key=lambda p: (len(p.stems), -members.index(p)))
    variants = [_variant(p, first, speaker, speaker_entity, embed) for p in members]
    key = f"{first.article.id}|{normalise_quote(first.text)}"
    digest = hashlib.sha1(key.encode()).hexdigest()[:10]
    gid = base = f"{story_id}:{digest}" if story_id else f"q:{digest}"
    n = 2
    while gid in used_ids:
        gid = f"{base}-{n}"
        n += 1
    used_ids.add(gid)
    return QuoteGroup(id=gid, canonical=longest.text, speaker=speaker, variants=variants,
                      first_outlet=first.article.outlet, first_article=first.article.id, first_published=first.date,
                      story_id=story_id, canonical_article=longest.article.id, canonical_quote=longest.piece_id,
                      statement=first.text, first_quote=first.piece_id)


def _variant(p: Piece, first: Piece, speaker: str | None, speaker_entity: str | None,
             embed: CachedEmbed) -> QuoteVariant:
    v = QuoteVariant(quote_id=p.piece_id, article_id=p.article.id, outlet=p.article.outlet, published=p.date,
                     text=p.text, kind=p.quote.kind, speaker=p.speaker, start=p.start, end=p.end)
    if p is first:
        v.diff = [DiffOp("equal", p.text, p.text)]
    elif p.lang != first.lang:
        vec = embed([first.text, p.text])
        v.similarity = round(float(vec[0] @ vec[1]), 3)
        v.mutations = ["translated"]
        v.changes = [QuoteChange("translated", first.text, p.text, p.start, p.end)]
        if len(p.text) < TRANSLATION_CUT * len(first.text):
            v.mutations.append("cut")
        v.diff = [DiffOp("replace", first.text, p.text)]
        v.details = [f"translated ({first.lang} → {p.lang})"]
    elif p.text == first.text:
        v.diff = [DiffOp("equal", p.text, p.text)]  # a copy: nothing to diff
    else:
        d = diff_quotes(first.text, p.text, canonical_article=first.article, canonical_start=first.start,
                        variant_article=p.article, variant_start=p.start)
        v.diff, v.similarity, v.details, v.changes = d.ops, round(d.similarity, 3), d.details, d.changes
        muts = list(d.mutations)
        if muts and (d.similarity < PARAPHRASE_SIM and "cut" not in muts and "extended" not in muts):
            # a word diff of a paraphrase is noise: the two wordings side by side instead
            muts = ["paraphrased", *[m for m in muts if m == "words_inserted"]]
            v.diff = [DiffOp("replace", first.text, p.text)]
            v.details = [f"same statement in other words (word similarity {v.similarity:.2f})"]
            v.changes = [QuoteChange("paraphrased", first.text, p.text, p.start, p.end)]
        v.mutations = dedupe(muts)
    if p is not first and speaker_changed(p, speaker, speaker_entity):
        v.mutations.append("speaker_changed")
        v.details.append(f"speaker: {speaker} → {p.speaker}")
        sp = p.quote.speaker
        v.changes.append(QuoteChange("speaker_changed", speaker or "", p.speaker or "",
                                     sp.start if sp is not None else None, sp.end if sp is not None else None))
    if not v.mutations:
        v.mutations = ["identical"]
    return v
