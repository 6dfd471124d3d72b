"""Names across articles: whether two speaker names name one person, and a name's key for grouping.

Outlets write one person several ways ("Anna Holt", "Holt", "Mayor Holt", "Анна Холт"); the nlp stage
resolves names within an article (aliases, pronouns, roles) and gives store-wide entity ids, but two articles may
still give a speaker in a short and a full form.  Two names are taken as one person when, after transliteration,
lower-casing and dropping titles and initials, one name's words are all in the other's (so the surname agrees and
no first name contradicts), or when they are near-identical spellings.  "Anna Holt" and "Peter Holt" stay
two people; "Holt" matches either (a short form cannot tell them apart, and a change is claimed only when the
names contradict each other).
"""

from __future__ import annotations

import re
from functools import lru_cache

from rapidfuzz import fuzz

from storylens.text.translit import latin

# forms of address and office words that precede a name; they never tell two people apart
TITLES = frozenset(["mr", "mrs", "ms", "miss", "dr", "prof", "sir", "dame", "lord", "lady", "president", "senator",
                    "sen", "rep", "gov", "governor", "secretary", "minister", "prime", "general", "gen", "chancellor",
                    "mayor", "judge", "justice", "chief", "pope", "king", "queen", "prince", "princess", "rev",
                    "representative", "congressman", "congresswoman", "former", "vice", "jr", "sr", "ii", "iii",
                    "господин", "госпожа", "президент", "министр", "премьер", "генсек", "глава"])
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


@lru_cache(maxsize=20_000)
def name_words(name: str) -> tuple[str, ...]:
    """The words of a person's name that identify them: transliterated, lower case, no titles or initials."""
    words = [w for w in _WORD.findall(latin(name)) if len(w) > 1 and w.replace("’", "'") not in TITLES]
    return tuple(words)


@lru_cache(maxsize=50_000)
def same_person(a: str, b: str) -> bool:
    """Whether two speaker names (possibly in different scripts, short or full) can name one person."""
    x, y = latin(a), latin(b)
    if x == y:
        return True
    wa, wb = name_words(a), name_words(b)
    if not wa or not wb:
        return max(fuzz.ratio(x, y), fuzz.token_sort_ratio(x, y)) >= 85
    sa, sb = set(wa), set(wb)
    if sa <= sb or sb <= sa:
        return True  # a short form ("Holt", "Anna") of the full name: nothing contradicts it
    if _close(wa[-1], wb[-1]):
        # same surname: first names must agree too (near spellings, one an initial-free short form)
        firsts_a, firsts_b = set(wa[:-1]), set(wb[:-1])
        return not firsts_a or not firsts_b or bool(firsts_a & firsts_b) or \
            max(fuzz.ratio(" ".join(wa[:-1]), " ".join(wb[:-1])), 0) >= 85
    return max(fuzz.ratio(x, y), fuzz.token_sort_ratio(x, y)) >= 90


def _close(a: str, b: str) -> bool:
    """Two spellings of one word (transliteration, inflection): equal, or near-equal and long enough."""
    if a == b:
        return True
    return min(len(a), len(b)) >= 4 and fuzz.ratio(a, b) >= 80


def same_speaker(a: str | None, a_entity: str | None, b: str | None, b_entity: str | None) -> bool | None:
    """True / False when both speakers are known, None when either is unknown (an unresolved pronoun)."""
    if not a or not b:
        return None
    if a_entity and b_entity and a_entity == b_entity:
        return True
    return same_person(a, b)


def acronym(words: list[str]) -> str:
    """Initials of a multi-word name ("United States" -> "us"), for matching it with its abbreviation."""
    return "".join(w[0] for w in words if w).lower()
