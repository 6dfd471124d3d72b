"""Framing signals per article and outlet, reported as evidence with the sentences, never as a verdict.

* ``attribution_verb``: the verb an outlet uses to introduce a speaker ("said" vs "argued", "claimed",
  "repeated"; the sentence is the evidence); ``speaker`` names whom it is used for.
* ``unattributed_evaluation``: a sentence with an evaluative word that no one is quoted or cited as saying —
  the outlet's own voice.
* ``quote_share``: the share of the article's text that is quotation.
* ``loaded_word``: a word from a small list of loaded terms, used outside quotation marks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from storylens.compare.labels import outlet_label
from storylens.model import Article, FramingSignal
from storylens.text.sentences import sentences

# neutral reporting verbs, and verbs that colour what is reported (English and Russian)
NEUTRAL_VERBS = frozenset(["say", "says", "said", "tell", "tells", "told", "add", "adds", "added", "state", "states", "stated", "note", "notes", "noted", "explain", "explains", "explained", "announce", "announces", "announced", "report", "reports", "reported", "write", "writes", "wrote", "answer", "answered", "reply", "replied", "ask", "asked", "expressed", "stressed", "emphasized", "emphasised", "сказал", "сказала", "заявил", "заявила", "отметил", "отметила", "добавил", "добавила", "сообщил", "сообщила", "написал", "написала", "пояснил", "пояснила"])
LOADED_VERBS = frozenset(["argue", "argues", "argued", "claim", "claims", "claimed", "allege", "alleges", "alleged", "insist", "insists", "insisted", "admit", "admits", "admitted", "concede", "concedes", "conceded", "assure", "assures", "assured", "boast", "boasts", "boasted", "accuse", "accuses", "accused", "complain", "complains", "complained", "deny", "denies", "denied", "repeat", "repeats", "repeated", "lament", "laments", "lamented", "warn", "warns", "warned", "threaten", "threatened", "admonish", "admonished", "confess", "confessed", "contend", "contends", "contended", "purport", "purports", "purported", "утверждает", "утверждал", "утверждала", "заявляет", "признал", "признала", "настаивает", "настаивал", "настаивала", "обвинил", "обвинила", "пожаловался", "пожаловалась", "уверяет", "уверял", "уверяла", "повторил", "повторила", "пригрозил", "пригрозила"])
# evaluative words that mark an outlet's own judgement when no one is quoted as saying them
EVALUATIVE = frozenset(["aggressive", "aggression", "unfortunately", "sadly", "shockingly", "disastrous", "disaster", "absurd", "outrageous", "scandalous", "meaningless", "baseless", "unfounded", "so-called", "notorious", "infamous", "reckless", "dangerous", "cynical", "hypocritical", "failed", "failure", "setback", "blow", "humiliating", "humiliation", "triumph", "historic", "landmark", "controversial", "dubious", "questionable", "alarming", "worrying", "troubling", "brave", "bold", "heroic", "shameful", "russophobic", "russophobia", "hysteria", "propaganda", "regime", "puppet", "junta", "slammed", "blasted", "lashed", "агрессивн", "провал", "позорн", "скандальн", "абсурдн", "циничн", "лицемерн", "истери", "пропаганд", "режим", "печальн"])
# evaluative phrases of several words (a word of them alone is neutral: Russian "так" is "so", "thus"); a Russian
# word matches its inflected forms by prefix
EVALUATIVE_PHRASES = ("так называем", "so called")
LOADED_WORDS = frozenset(["regime", "puppet", "junta", "hysteria", "russophobia", "russophobic", "propaganda", "so-called", "aggression", "aggressor", "accusations", "militants", "terrorists", "thugs", "mob", "rioters", "hawks", "warmonger", "warmongering", "slammed", "blasted", "lashed", "ruthless", "brutal", "draconian", "crackdown", "radical", "extremist", "режим", "марионеточн", "хунта", "истерия", "русофоби", "пропаганд", "агресси", "боевик", "террорист", "провокаци"])
_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")
_ATTRIB = re.compile(r"\b(according to|said|says|told|claimed|argued|по словам|заявил|сообщил|считает)\b", re.I)


_PREFIXES: dict[frozenset[str], re.Pattern[str]] = {}


def _matches(word: str, lexicon: frozenset[str]) -> bool:
    """Exact match, or for Russian a stem prefix (inflected forms)."""
    w = word.lower()
    if w in lexicon:
        return True
    if w.isascii():
        return False
    rx = _PREFIXES.get(lexicon)
    if rx is None:
        stems = sorted((x for x in lexicon if not x.isascii() and len(x) >= 5), key=len, reverse=True)
        rx = _PREFIXES[lexicon] = re.compile("^(?:" + "|".join(map(re.escape, stems)) + ")")
    return bool(rx.match(w))


_PHRASE_RX = [re.compile(r"(?<!\w)" + r"[\s-]+".join(re.escape(w) + (r"\w*" if not w.isascii() else "")
                                                     for w in p.split()) + r"(?!\w)", re.I) for p in EVALUATIVE_PHRASES]


def _phrases(text: str) -> list[str]:
    """Evaluative phrases of several words in ``text``, as written."""
    return [m.group(0) for rx in _PHRASE_RX for m in rx.finditer(text)]


def _in_quote(a: Article, start: int, end: int) -> bool:
    return any(q.start <= start and end <= q.end for q in a.quotes if q.kind != "indirect")


def _speaker_near(a: Article, start: int, end: int) -> str | None:
    for q in a.quotes:
        if q.speaker is not None and q.cue is not None and start <= q.cue.start < end:
            return q.speaker.name or q.speaker.text
    for q in a.quotes:
        if q.speaker is not None and (start <= q.start < end or start <= q.speaker.start < end):
            return q.speaker.name or q.speaker.text
    for e in a.entities:
        if e.label == "PERSON" and start <= e.start < end:
            return e.name or e.text
    return None


def framing_signals(articles: Sequence[Article]) -> list[FramingSignal]:
    out: list[FramingSignal] = []
    for a in articles:
        outlet = a.outlet or outlet_label(a)
        # share of text that is quotation (direct and partial quotes, overlaps merged)
        spans = sorted((q.start, q.end) for q in a.quotes if q.kind != "indirect")
        covered, last = 0, -1
        for qs, qe in spans:
            qs = max(qs, last)
            if qe > qs:
                covered += qe - qs
                last = qe
        if a.text:
            out.append(FramingSignal(a.id, outlet, "quote_share", f"{covered / len(a.text):.2f}"))
        seen_cues: set[int] = set()
        for q in a.quotes:
            if q.cue is None or q.cue.start in seen_cues:
                continue
            seen_cues.add(q.cue.start)
            verb = q.cue.text.strip().lower()
            sent = next((s for s in sentences(a) if s.start <= q.cue.start < s.end), None)
            out.append(FramingSignal(a.id, outlet, "attribution_verb", verb, sent.text if sent else None,
                                     q.cue.start, q.cue.end,
                                     speaker=(q.speaker.name or q.speaker.text) if q.speaker else None))
        for s in sentences(a):
            toks = list(_WORD.finditer(s.text))
            # loaded reporting verbs outside quotes that the quote analysis did not give as cues
            for m in toks:
                w = m.group(0).lower()
                st, en = s.start + m.start(), s.start + m.end()
                if _in_quote(a, st, en):
                    continue
                if w in LOADED_VERBS and st not in seen_cues:
                    seen_cues.add(st)
                    out.append(FramingSignal(a.id, outlet, "attribution_verb", w, s.text, st, en,
                                             speaker=_speaker_near(a, s.start, s.end)))
                elif _matches(w, LOADED_WORDS):
                    out.append(FramingSignal(a.id, outlet, "loaded_word", w, s.text, st, en))
            # the outlet's own voice: evaluative words in a sentence nobody is quoted or cited as saying
            if _in_quote(a, s.start, s.end) or any(q.start < s.end and s.start < q.end for q in a.quotes):
                continue
            if _ATTRIB.search(s.text) or _speaker_near(a, s.start, s.end) and re.search(
                    r"\b(said|says|told|added|stressed|noted|argued|claimed)\b", s.text):
                continue
            hits = [m.group(0) for m in toks if _matches(m.group(0), EVALUATIVE)] + _phrases(s.text)
            if hits:
                out.append(FramingSignal(a.id, outlet, "unattributed_evaluation", ", ".join(dict.fromkeys(hits)),
                                         s.text, s.start, s.end))
    return out


def attribution_table(signals: Sequence[FramingSignal]) -> dict[str, dict[str, list[str]]]:
    """speaker -> outlet -> attribution verbs used for them (for the report)."""
    table: dict[str, dict[str, list[str]]] = {}
    for s in signals:
        if s.kind != "attribution_verb" or not s.speaker:
            continue
        verbs = table.setdefault(s.speaker, {}).setdefault(s.outlet or "unknown", [])
        if s.value not in verbs:
            verbs.append(s.value)
    return table
