"""Names within one article: person clusters, roles learned from appositions, pronouns, organisations.

A small rule-driven resolver (no coreference model works offline here):

* a surname or first name alone -> the one full name of the article it belongs to;
* "Port Authority chair Ann Lee", "Ann Lee, Port Authority chair", "the chair of the authority Ann Lee" teach the
  article a role -> person; "the port chief", "the authority's chair
  general" then resolve to the one person whose role matches (title, and the organisation when one is named);
* "he"/"she" -> the most recent compatible speaker or person in subject position before it.
Ambiguity leaves a name unresolved: a missed link is better than a wrong one.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from storylens.nlp.backends import Tok
from storylens.nlp.gender import name_gender
from storylens.nlp.lexicon import (
    EN_PRONOUNS,
    FEMALE_TITLES,
    GENERIC_LEADERS,
    GENERIC_ORG_WORDS,
    MALE_TITLES,
    ROLE_WORDS,
    RU_PRONOUNS,
    RU_ROLE_WORDS,
    TITLES,
)

PERSON = ("PERSON", "PER")
ORGISH = ("ORG", "GPE", "NORP", "LOC", "FAC")
_POSS = re.compile(r"(?:['\u2019]s|['\u2019])$")
LEADER_TITLES = frozenset({"secretary general", "president", "chief", "head", "leader", "director", "chairman",
                           "chairwoman", "ceo", "minister", "prime minister", "chancellor", "premier",
                           "генеральный секретарь", "генсек", "президент", "глава", "руководитель"})


def clean_name(text: str) -> str:
    """A person's name without possessive, leading titles and odd spacing; lower-case words capitalised."""
    words = re.sub(r"\s+", " ", text.replace("\u00a0", " ")).strip().split(" ")
    words = [w for w in words if w]
    if words:
        words[-1] = _POSS.sub("", words[-1])
    while len(words) > 1 and (words[0].lower().rstrip(".") in TITLES or words[0].lower().rstrip(".s") in TITLES
                              or words[0].lower() in ROLE_WORDS):
        words = words[1:]
    out = [w[:1].upper() + w[1:] if w[:1].islower() and w.isalpha() else w for w in words]
    return " ".join(w for w in out if w)


def clean_org(text: str) -> str:
    t = re.sub(r"\s+", " ", text).strip()
    t = re.sub(r"^(?:the|The)\s+", "", t)
    return _POSS.sub("", t)


def title_of(words: list[str]) -> str | None:
    """The role title in a description: "secretary general", "president", "chief"..."""
    ws = [w.lower() for w in words]
    for i in range(len(ws) - 1):
        if ws[i] == "secretary" and ws[i + 1] == "general":
            return "secretary general"
        if ws[i] == "prime" and ws[i + 1] == "minister":
            return "prime minister"
        if ws[i] == "генеральный" and ws[i + 1] == "секретарь":
            return "генеральный секретарь"
    found = None
    for w in ws:
        if w in ROLE_WORDS or w in RU_ROLE_WORDS:
            found = w
    if found == "генсек":
        return "генеральный секретарь"
    return found


def split_words(text: str) -> list[str]:
    return [w for w in re.split(r"[\s\-\u2010\u2011]+", text) if w and re.search(r"\w", w)]


def mods_of(words: list[str]) -> frozenset[str]:
    """Named modifiers of a role ("Port", "US", "Russian"), case-folded."""
    out = set()
    for i, w in enumerate(words):
        wl = w.lower().strip(".,")
        if not w[:1].isupper() or wl in TITLES or wl in ROLE_WORDS or wl in ("the", "of", "general"):
            continue
        if i == 0 and wl in GENERIC_ORG_WORDS:
            continue
        out.add(wl.rstrip("’'s") if wl.endswith(("'s", "’s")) else wl)
    return frozenset(out)


@dataclass(slots=True)
class Role:
    title: str
    mods: frozenset[str]
    person: str
    text: str
    start: int
    end: int


@dataclass(slots=True)
class Resolved:
    name: str | None
    kind: str  # person | pronoun | role | org | unknown
    label: str = "PERSON"
    evidence: str | None = None


@dataclass
class ArticleNames:
    text: str
    toks: list[Tok]
    ents: list[tuple[int, int, str, str | None]]
    lang: str = "en"
    persons: list[tuple[int, int, str]] = field(default_factory=list)  # (start, end, canonical)
    roles: list[Role] = field(default_factory=list)
    gender: dict[str, str] = field(default_factory=dict)
    salient: list[tuple[int, str]] = field(default_factory=list)  # persons as subjects / speakers, by position
    combined: list[tuple[int, int, str]] = field(default_factory=list)  # "US President Ann Lee" spans
    quoted: list[tuple[int, int]] = field(default_factory=list)  # spans in quote marks (no pronoun antecedents)

    def __post_init__(self) -> None:
        self.starts = [t.start for t in self.toks]
        full: dict[str, str] = {}
        raw: list[tuple[int, int, str]] = []
        for s, e, lab, normal in self.ents:
            if lab not in PERSON:
                continue
            name = clean_name(normal or self.text[s:e])
            if not name:
                continue
            raw.append((s, e, name))
            if len(name.split()) >= 2:
                full.setdefault(name.casefold(), name)
        fulls = list(full.values())
        for s, e, name in raw:
            self.persons.append((s, e, self._canonical(name, fulls)))
        self._learn_roles()
        self._learn_gender()
        for s, e, name in self.persons:
            i = bisect.bisect_left(self.starts, s)
            j = bisect.bisect_left(self.starts, e) - 1
            if any(self.toks[k].dep in ("nsubj", "nsubjpass", "nsubj:pass") for k in range(i, max(i, j) + 1)
                   if k < len(self.toks)):
                self.salient.append((s, name))

    # ---- names ----------------------------------------------------------------------------------------------
    def _canonical(self, name: str, fulls: list[str]) -> str:
        words = name.split()
        if len(words) >= 2:
            key = name.casefold()
            longer = {f for f in fulls if f.casefold() != key and f.casefold().endswith(" " + key)}
            return next(iter(longer)) if len(longer) == 1 else next(
                (f for f in fulls if f.casefold() == key), name)
        w = name.casefold()
        cands = {f for f in fulls if f.split()[-1].casefold() == w}
        if self.lang == "ru":  # Волкова / Волковой: compare stems
            cands |= {f for f in fulls if _ru_stem(f.split()[-1]) == _ru_stem(name)}
        if not cands:
            cands = {f for f in fulls if f.split()[0].casefold() == w}
        return next(iter(cands)) if len(cands) == 1 else name

    def canonical(self, text: str) -> str:
        fulls = sorted({p[2] for p in self.persons if len(p[2].split()) >= 2})
        return self._canonical(clean_name(text), fulls)

    def person_at(self, s: int, e: int) -> tuple[int, int, str] | None:
        """The head person inside [s, e): the last person before any comma (not a possessor)."""
        inside = [p for p in self.persons if p[0] >= s and p[1] <= e]
        if not inside:
            return None
        comma = self.text.find(",", s, e)
        before = [p for p in inside if comma < 0 or p[1] <= comma] or inside[:1]
        good = [p for p in before if self.text[p[1]:p[1] + 2] not in ("'s", "’s")] or before
        return good[-1]

    # ---- roles ------------------------------------------------------------------------------------------------
    def _learn_roles(self) -> None:
        for s, e, name in self.persons:
            if len(name.split()) < 2:
                continue
            # left: "Port Authority chair Ann Lee", "the chair of the authority Ann Lee"
            ns = self.text.find(name.split()[0], s, e)
            ns = s if ns < 0 else ns  # where the name proper starts ("Spokeswoman Ann Lee")
            i = bisect.bisect_left(self.starts, ns) - 1
            lo = self.role_left(i, ns)
            if lo is not None:
                rs = self.toks[lo].start
                phrase = self.text[rs:ns].strip()
                if self._add_role(phrase, rs, rs + len(phrase), name):
                    self.combined.append((rs, e, name))
            # right: "Ann Lee, Port Authority chair:"
            m = re.match(r",\s+((?:the |a |an )?[^,:;.()\n«»“”\"]{2,70}?)\s*[,:;.]", self.text[e:e + 90])
            if m and self._add_role(m.group(1), e + m.start(1), e + m.end(1), name):
                self.combined.append((s, e + m.end(1), name))

    def role_left(self, i: int, limit: int) -> int | None:
        """First token of a role phrase ending at token ``i`` (capitalised words, 'of the', org words)."""
        lo = None
        while i >= 0 and (limit - self.toks[i].start) < 90:
            t = self.toks[i]
            w = t.text
            if (w[:1].isupper() and t.pos in ("PROPN", "NOUN", "ADJ")) or w.lower() in ROLE_WORDS \
                    or w.lower() in RU_ROLE_WORDS or w in ("-", "\u2010", "\u2011") \
                    or w.lower() in GENERIC_ORG_WORDS:
                lo = i
            elif w.lower() in ("of", "the") and lo is not None:
                pass
            else:
                break
            i -= 1
        while lo is not None and lo < len(self.toks) and self.toks[lo].text.lower() in ("of", "the", "-"):
            lo += 1
        return lo

    def _add_role(self, phrase: str, s: int, e: int, name: str) -> bool:
        phrase = re.sub(r"^(?:the|a|an|of)\s+", "", phrase, flags=re.I).strip()
        if not phrase:
            return False
        words = split_words(phrase)
        title = title_of(words)
        if title is None:
            return False
        off = self.text.find(phrase, s, e + 1)
        start = off if off >= 0 else s
        self.roles.append(Role(title, mods_of(words), name, phrase, start, start + len(phrase)))
        return True

    def resolve_role(self, phrase: str) -> tuple[str, Role] | None:
        words = split_words(re.sub(r"^(?:the|a|an)\s+", "", phrase, flags=re.I))
        title = title_of(words)
        if title is None:
            return None
        mods = mods_of(words)
        if title in GENERIC_LEADERS or title in ("глава", "руководитель", "лидер"):
            cands = [r for r in self.roles if mods and r.mods & mods and r.title in LEADER_TITLES]
        else:
            cands = [r for r in self.roles if r.title == title
                     and not (r.mods and mods and not r.mods & mods)]
            if mods and any(r.mods & mods for r in cands):
                cands = [r for r in cands if r.mods & mods]
        people = {r.person for r in cands}
        if len(people) != 1:
            return None
        return cands[0].person, cands[0]

    def role_mentions(self, skip: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
        """Role descriptions anywhere in the text ("the US president") that resolve to one person."""
        out: list[tuple[int, int, str]] = []
        taken = list(skip) + [(p[0], p[1]) for p in self.persons] + [(r.start, r.end) for r in self.roles]
        for i, t in enumerate(self.toks):
            w = t.text.lower()
            if w not in ROLE_WORDS and w not in RU_ROLE_WORDS:
                continue
            if i + 1 < len(self.toks) and self.toks[i + 1].text.lower() in ("general", "генеральный"):
                continue  # the phrase ends on the next word
            if any(s <= t.start < e for s, e in taken):
                continue
            lo = self.role_left(i, t.end)
            if lo is None:
                continue
            hi = i
            if hi + 2 < len(self.toks) and self.toks[hi + 1].text == "of":
                j = hi + 2
                if self.toks[j].text.lower() == "the":
                    j += 1
                if j < len(self.toks) and (self.toks[j].text[:1].isupper() or
                                           self.toks[j].text.lower() in GENERIC_ORG_WORDS):
                    hi = j
            if hi + 1 < len(self.toks) and any(p[0] == self.toks[hi + 1].start for p in self.persons):
                continue  # an apposition, learned already
            s, e = self.toks[lo].start, self.toks[hi].end
            if lo > 0 and self.toks[lo - 1].text.lower() == "the":
                s = self.toks[lo - 1].start
            r = self.resolve_role(self.text[s:e])
            if r is not None:
                out.append((s, e, r[0]))
                taken.append((s, e))
        return out

    # ---- gender and pronouns ------------------------------------------------------------------------------
    def _learn_gender(self) -> None:
        for s, _e, name in self.persons:
            raw = self.text[max(0, s - 6):s].lower()
            if any(raw.strip().rstrip(".").endswith(t) for t in FEMALE_TITLES):
                self.gender.setdefault(name, "f")
            elif any(raw.strip().rstrip(".").endswith(t) for t in MALE_TITLES):
                self.gender.setdefault(name, "m")
            elif len(name.split()) >= 2 and (g := name_gender(name.split()[0])) is not None:
                self.gender.setdefault(name, g)
            if self.lang == "ru":
                parts = name.lower().split()
                female = parts[-1].endswith(("ова", "ева", "ина", "ая")) or (
                    len(parts) >= 2 and parts[0].endswith(("а", "я")) and parts[0] not in ("илья", "никита", "фома"))
                self.gender.setdefault(name, "f" if female else "m")
        for r in self.roles:
            words = r.text.lower()
            if any(w in words for w in ("spokeswoman", "chairwoman")):
                self.gender[r.person] = "f"

    def compatible(self, name: str, pron_gender: str | None) -> bool:
        g = self.gender.get(name)
        if pron_gender is None or g is None:
            return True
        return g == pron_gender or (pron_gender == "m" and g == "m")

    def resolve_pronoun(self, word: str, pos: int, speakers: list[tuple[int, str]]) -> str | None:
        w = word.lower()
        g = EN_PRONOUNS.get(w, RU_PRONOUNS.get(w))
        if w in ("they", "они", "i", "we", "я", "мы"):
            return None
        def outside(p: int) -> bool:  # "“I love Larry,” he said": a name inside a quote is not who "he" is
            return not any(s <= p < e for s, e in self.quoted) or any(s <= pos < e for s, e in self.quoted)

        cands = [(p, n) for p, n in speakers + self.salient if p < pos and pos - p < 3000 and outside(p)]
        cands.sort()
        for _p, n in reversed(cands):
            if self.compatible(n, g):
                return n
        for _s, _e, n in reversed([p for p in self.persons if p[0] < pos and outside(p[0])]):
            if self.compatible(n, g):
                return n
        return None

    def byline(self) -> str | None:
        """The person of a "By Ann Lee" line among the first paragraphs (the writer of a first-person piece)."""
        for m in re.finditer(r"^[ \t]*(?:By|BY|Автор:?)[ \t]+([^\n]{3,80})$", self.text[:600], re.M):
            p = self.person_at(m.start(1), m.end(1))
            if p is not None:
                return p[2]
        return None

    def group_before(self, pos: int) -> str | None:
        """"they": the organisation named last before ``pos`` in the same or the previous paragraph."""
        lo = self.text.rfind("\n", 0, max(0, self.text.rfind("\n", 0, pos)))
        orgs = [(s, e, n) for s, e, lab, n in self.ents if lab == "ORG" and lo <= s and e <= pos]
        if not orgs:
            return None
        s, e, n = orgs[-1]
        return clean_org(n or self.text[s:e])

    # ---- a speaker mention -------------------------------------------------------------------------------------
    def resolve(self, s: int, e: int, speakers: list[tuple[int, str]]) -> Resolved:
        text = self.text[s:e]
        p = self.person_at(s, e)
        if p is not None:
            return Resolved(p[2], "person")
        w = text.strip().lower()
        words = text.split()
        if 1 <= len(words) <= 3 and all(x[:1].isupper() for x in words):
            c = self.canonical(text)
            if len(c.split()) >= 2 and c in {p[2] for p in self.persons}:
                return Resolved(c, "person")  # a surname the parser did not tag
        if w in ("i", "я"):  # the writer: the byline's person, if the article names one
            return Resolved(self.byline(), "pronoun")
        if w in ("they", "они"):
            org = self.group_before(s)
            return Resolved(org, "org") if org else Resolved(None, "pronoun")
        if w in EN_PRONOUNS or w in RU_PRONOUNS:
            return Resolved(self.resolve_pronoun(w, s, speakers), "pronoun")
        r = self.resolve_role(text)
        if r is not None:
            return Resolved(r[0], "role", evidence=f"'{text}' = '{r[1].text}' ({r[0]}) in the same article")
        for es, ee, lab, normal in self.ents:
            if lab in ORGISH and es >= s and ee <= e and (ee - es) >= 0.4 * (e - s):
                return Resolved(clean_org(normal or self.text[es:ee]), "org", lab)
        return Resolved(None, "unknown")


def _ru_stem(w: str) -> str:
    w = w.lower()
    return re.sub(r"(ой|ей|ым|им|ом|ем|ую|юю|ая|яя|а|я|у|ю|е|ы|и|ого|его|ому|ему)$", "", w)
