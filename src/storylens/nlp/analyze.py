"""The analysis stage: sentences, entities, quotes and speakers for a batch of articles.

English (and any non-Russian paragraph) goes through spaCy in one ``nlp.pipe`` over the whole batch; Russian
paragraphs go through natasha.  Offsets always index ``Article.text``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from storylens.model import Article, EntityMention, Quote, Span, SpeakerRef
from storylens.nlp.attribution import Frames, RawQuote, one_per_attribution
from storylens.nlp.backends import Parsed, Tok, parse_english, parse_russian
from storylens.nlp.marks import Segment, dialogue_segments, find_segments, paragraphs
from storylens.nlp.mentions import (
    NUMERIC,
    add_treaties,
    descriptions,
    relabel_persons,
    rename_descriptions,
    repair_persons,
)
from storylens.nlp.speakers import PERSON, ArticleNames, clean_org
from storylens.settings import NlpSettings

_CYR = re.compile(r"[\u0400-\u04ff]")
_LAT = re.compile(r"[A-Za-z]")


def _is_ru(text: str, lang: str | None) -> bool:
    if lang:
        return lang.lower().startswith("ru")
    return len(_CYR.findall(text)) > len(_LAT.findall(text))


def chunks(a: Article) -> list[tuple[int, int, bool]]:
    """One stretch per paragraph (parses never cross a paragraph), each with its back end: (start, end, russian)."""
    langs = [(p.start, p.end, p.language or a.language) for p in a.paragraphs]
    out: list[tuple[int, int, bool]] = []
    for s, e in paragraphs(a.text):
        lang = next((lg for ps, pe, lg in langs if ps <= s < pe), a.language)
        out.append((s, e, _is_ru(a.text[s:e], lang)))
    return out


def _merge(parts: list[Parsed]) -> Parsed:
    toks: list[Tok] = []
    sents: list[tuple[int, int]] = []
    ents: list[tuple[int, int, str, str | None]] = []
    for p in parts:
        base, sbase = len(toks), len(sents)
        for t in p.toks:
            toks.append(Tok(t.start, t.end, t.text, t.lemma, t.pos, t.dep, t.head + base, t.sent + sbase, t.lang))
        sents.extend(p.sents)
        ents.extend(p.ents)
    return Parsed(toks, sents, ents)


def analyze(articles: Sequence[Article], settings: NlpSettings) -> list[Article]:
    """Fill ``sentences``, ``entities`` and ``quotes`` of each article (in place) and return them."""
    arts = list(articles)
    plan = [chunks(a) for a in arts]
    en_jobs = [(a.text[s:e], s) for a, cs in zip(arts, plan, strict=True) for s, e, ru in cs if not ru]
    en_iter = parse_english(en_jobs, settings.spacy_model, settings.batch_size, settings.n_process) \
        if en_jobs else iter(())
    for a, cs in zip(arts, plan, strict=True):
        parts = [parse_russian(a.text[s:e], s) if ru else next(en_iter) for s, e, ru in cs]
        lang = "ru" if cs and all(ru for _, _, ru in cs) else "en"
        analyze_parsed(a, _merge(parts), lang)
    return arts


def analyze_parsed(a: Article, parsed: Parsed, lang: str) -> None:
    text = a.text
    toks = parsed.toks
    ents = add_treaties(text, relabel_persons(text, repair_persons(text, toks, parsed.ents)))
    segs, words = _quoted(text)
    paras = paragraphs(text) or [(0, len(text))]
    frames = Frames(text, toks, segs, [(s, e, lab) for s, e, lab, _ in ents], paras)
    direct = frames.quotes()
    frames.named_after(direct)
    indirect = frames.indirect(direct)
    indirect += frames.phrased(parsed.sents, direct, _person_test(text, ents), indirect)
    frames.continue_reported(indirect, parsed.sents)
    raw = one_per_attribution(text, direct, indirect, words)
    names = ArticleNames(text, toks, ents, lang, quoted=[(g.cstart, g.cend) for g in segs])

    mentions: list[EntityMention] = []
    person_name = {(s, e): n for s, e, n in names.persons}
    for s, e, lab, normal in ents:
        label = "PERSON" if lab in PERSON else lab
        if label in NUMERIC:
            name = None
        elif label == "PERSON":
            name = person_name.get((s, e))
        else:
            name = clean_org(normal or text[s:e])
        mentions.append(EntityMention(text[s:e], s, e, label, name=name))
    for r in names.roles:
        mentions.append(EntityMention(r.text, r.start, r.end, "PERSON", name=r.person))
    for cs, ce, cn in names.combined + names.role_mentions([]):
        mentions.append(EntityMention(text[cs:ce], cs, ce, "PERSON", name=cn))

    quotes = _speakers(raw, names, mentions)
    described = descriptions(text, ents, [(q.start, q.end) for q in quotes])
    rename_descriptions(mentions, described)
    mentions.extend(described)
    seen: set[tuple[int, int, str]] = set()
    uniq = []
    for m in sorted(mentions, key=lambda m: (m.start, m.end)):
        if (m.start, m.end, m.label) not in seen:
            seen.add((m.start, m.end, m.label))
            uniq.append(m)
    a.sentences = [Span(s, e, text[s:e]) for s, e in parsed.sents]
    a.entities = uniq
    for n, q in enumerate(quotes):
        q.id = f"{a.id}:q{n}"
    a.quotes = quotes


def _quoted(text: str) -> tuple[list[Segment], list[tuple[int, int, int]]]:
    """Quoted segments of two words or more (in marks, or in dialogue dashes), and the single lower-case words in
    marks ("reckless", «катастрофической»: (start, end, end of the closing mark)).  A name in marks («Газпрома») is
    neither: it is not a quote and must not cut the phrases around it."""
    def n_words(g: Segment) -> int:
        return len(re.findall(r"\w+", text[g.cstart:g.cend]))

    found = find_segments(text)
    segs = [g for g in found if n_words(g) >= 2]
    words = [(g.cstart, g.cend, g.end) for g in found if n_words(g) == 1 and text[g.cstart:g.cstart + 1].islower()]
    marked = [(g.start, g.end) for g in segs]
    segs += [g for g in dialogue_segments(text) if n_words(g) >= 2 and not any(s < g.end and g.start < e
                                                                               for s, e in marked)]
    return sorted(segs, key=lambda g: g.start), words


def _person_test(text: str, ents: list[tuple[int, int, str, str | None]]) -> Callable[[int, int], bool]:
    """Whether text[s:e] names a person of the article: a person entity, or the surname of one in any case
    ("PENCE" in a transcript)."""
    persons = [(s, e) for s, e, lab, _ in ents if lab in PERSON]
    surnames = {text[s:e].split()[-1].casefold() for s, e in persons if text[s:e].split()}

    def test(s: int, e: int) -> bool:
        if any(ps < e and s < pe for ps, pe in persons):
            return True
        words = text[s:e].split()
        return bool(words) and words[-1].casefold() in surnames

    return test


def _speakers(raw: list[RawQuote], names: ArticleNames, mentions: list[EntityMention]) -> list[Quote]:
    text = names.text
    refs: list[SpeakerRef | None] = [None] * len(raw)
    timeline: list[tuple[int, str]] = []
    for i, q in enumerate(raw):
        if q.speaker is None:
            continue
        s, e = q.speaker
        outer = next((j for j in range(len(raw)) if j != i and raw[j].kind != "indirect"
                      and raw[j].start <= s < e <= raw[j].end and refs[j] is not None), None)
        if outer is not None and text[s:e].lower() in ("i", "we", "я", "мы"):
            # "I"/"we" inside someone's quote is that speaker
            refs[i] = SpeakerRef(refs[outer].name, text[s:e], s, e)  # type: ignore[union-attr]
            continue
        r = names.resolve(s, e, timeline)
        refs[i] = SpeakerRef(r.name, text[s:e], s, e)
        if r.name:
            if r.kind != "org":
                timeline.append((min(s, q.start), r.name))
            if r.kind == "role":
                mentions.append(EntityMention(text[s:e], s, e, "PERSON", name=r.name))
    quoted = [j for j in range(len(raw)) if raw[j].kind != "indirect"]
    for a, b in zip(quoted, quoted[1:], strict=False):  # a multi-paragraph quote goes on: its speaker goes on
        if raw[b].continued and raw[a].continues and refs[b] is None and refs[a] is not None:
            refs[b] = refs[a]
    for i in range(len(raw) - 1, -1, -1):  # a multi-paragraph quote: the speaker named at its end
        if raw[i].continues and refs[i] is None:
            nxt = next((j for j in range(i + 1, len(raw)) if raw[j].kind != "indirect"), None)
            if nxt is not None and refs[nxt] is not None:
                refs[i] = refs[nxt]
    for i, q in enumerate(raw):
        if refs[i] is not None or q.inherit is None:
            continue
        src: SpeakerRef | None = None
        if q.inherit == "para":
            same = [j for j in range(len(raw)) if j != i and raw[j].para == q.para and refs[j] is not None
                    and raw[j].kind != "indirect"]
            prev = [j for j in same if j < i]
            after = [j for j in same if j > i]
            if prev:
                src = refs[prev[-1]]
            elif after:
                src = refs[after[0]]
            else:
                before = [j for j in range(i) if raw[j].para == q.para - 1 and refs[j] is not None
                          and raw[j].kind != "indirect"]
                if before:
                    src = refs[before[-1]]
        else:
            before = [j for j in range(i) if refs[j] is not None and q.sent - raw[j].sent <= 3]
            if before:
                src = refs[before[-1]]
        if src is not None and src.name is not None:
            refs[i] = SpeakerRef(src.name, src.text, src.start, src.end)
    out = []
    for q, ref in zip(raw, refs, strict=True):
        body = text[q.start:q.end] if not q.segments else " ".join(text[s:e] for s, e in q.segments)
        cue = Span(q.cue[0], q.cue[1], text[q.cue[0]:q.cue[1]]) if q.cue else None
        segs = [Span(s, e, text[s:e]) for s, e in q.segments or [] if q.segments != [(q.start, q.end)]]
        out.append(Quote(body, q.start, q.end, q.kind, ref, cue, segments=segs))  # type: ignore[arg-type]
    return out
