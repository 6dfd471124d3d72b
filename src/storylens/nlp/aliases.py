"""Aliases across articles: one canonical entity per real-world person, organisation or treaty.

Merges, each recorded in ``Entity.evidence``:

* same name up to case, spacing, hyphens and a leading "the" ("Donald trump" = "Donald Trump");
* a surname alone -> the one full name in the store with that surname (two "… Clinton" -> no merge);
* a role or description resolved inside an article ("the port chief" -> Ann Lee by the article's own
  apposition) becomes an alias, with the article as evidence; roles are never resolved store-wide (the "US
  president" of 2018 is not the one of 2021);
* "Long Name (ACR)" in an article ties the name to the acronym;
* named laws and treaties: "Open Skies agreement" = "Open Skies" (a head word such as "treaty" aside), "ДОВ-2" =
  "ДОВ 2"; and two names that fill the same place in one statement of one speaker carried by two articles ("I
  welcomed the extension of INF III" / "I welcome the extension of the New INF agreement") are one treaty,
  with both quotes as the evidence.
Wrong merges are worse than missed ones: ambiguity always leaves entities apart.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence

from storylens.model import Article, Entity
from storylens.nlp.mentions import NUMERIC
from storylens.text.scripts import has_cyrillic
from storylens.text.translit import translit_key

_GROUP = {"PERSON": "PERSON", "PER": "PERSON", "ORG": "ORG", "GPE": "GPE", "LOC": "GPE", "LAW": "LAW",
          "NORP": "NORP"}


def _group(label: str) -> str:
    return _GROUP.get(label, label)


@functools.lru_cache(maxsize=65536)
def name_key(name: str, label: str) -> str:
    k = name.replace("\u00a0", " ").casefold()
    k = re.sub(r"['\u2019]s$", "", k)
    k = re.sub(r"^(?:the)\s+", "", k)
    k = re.sub(r"[\-\u2010\u2011\u2013]", " ", k)
    k = re.sub(r"[.,]", "", k)
    k = re.sub(r"(?<=[^\W\d_])(?=\d)", " ", k)  # "дов2" = "дов-2" = "дов 2"
    k = re.sub(r"\s+", " ", k).strip()
    if _group(label) == "LAW":
        k = re.sub(r"\s*\(([^)]+)\)$", "", k)
        k = re.sub(r"\s+(?:agreement|treaty|accord|pact|act|договор|соглашение)$", "", k)
    return k


def _is_name(alias: str) -> bool:
    """A proper name (indexable store-wide), not a role or description ("the port chief")."""
    from storylens.nlp.lexicon import ROLE_WORDS, TITLES

    words = alias.split()
    return bool(words) and all(w[:1].isupper() or not w[:1].isalpha() for w in words) and not any(
        w.lower().strip(".,") in ROLE_WORDS or w.lower().strip(".,") in TITLES for w in words)




def _slug(s: str) -> str:
    return re.sub(r"[^\w]+", "-", s.casefold()).strip("-")[:60] or "x"


class EntityResolver:
    """Assigns store-wide entity ids to mentions and speakers, across batches of articles."""

    def __init__(self, known: Iterable[Entity] = ()) -> None:
        self._ents: dict[str, Entity] = {}
        self._index: dict[tuple[str, str], str] = {}  # (group, key) -> id
        # (group, transliteration key) -> ids with a name of that key, to meet a name written in another script
        self._translit: dict[tuple[str, str], set[str]] = {}
        # surname key -> ids of the persons named with a first name and that surname (a lookup must not scan every
        # entity of the store)
        self._surnames: dict[str, list[str]] = {}
        for e in known:
            self._ents[e.id] = e
            self._index_surname(e)
            for alias in [e.name, *e.aliases]:
                if alias == e.name or _is_name(alias):
                    self._index.setdefault((_group(e.label), name_key(alias, e.label)), e.id)
                    self._index_translit(e, alias)

    def _index_translit(self, e: Entity, alias: str) -> None:
        key = translit_key(name_key(alias, e.label))
        if len(key) >= 4:
            self._translit.setdefault((_group(e.label), key), set()).add(e.id)

    def _other_script(self, name: str, label: str) -> Entity | None:
        """The one entity whose name, written in the other script (Cyrillic / Latin), transliterates to ``name``;
        None when there is none or more than one (unsure: keep apart)."""
        g = _group(label)
        ids = self._translit.get((g, translit_key(name_key(name, label))), set())
        cyr = has_cyrillic(name)
        found = [self._ents[i] for i in sorted(ids)
                 if any(has_cyrillic(a) != cyr for a in [self._ents[i].name, *self._ents[i].aliases])]
        return found[0] if len(found) == 1 else None

    def entities(self) -> list[Entity]:
        return sorted(self._ents.values(), key=lambda e: e.id)

    # ---- lookup ----------------------------------------------------------------------------------------------
    def _new(self, name: str, label: str) -> Entity:
        base = f"{_group(label).lower()}:{_slug(name)}"
        eid, n = base, 1
        while eid in self._ents:
            n += 1
            eid = f"{base}-{n}"
        e = Entity(eid, name, _group(label), aliases=[name], evidence=[])
        self._ents[eid] = e
        self._index[(_group(label), name_key(name, label))] = eid
        self._index_translit(e, name)
        self._index_surname(e)
        return e

    def _index_surname(self, e: Entity) -> None:
        words = e.name.split()
        if e.label == "PERSON" and len(words) >= 2:
            ids = self._surnames.setdefault(name_key(words[-1], "PERSON"), [])
            if e.id not in ids:
                ids.append(e.id)

    def _persons_with_surname(self, surname: str) -> list[Entity]:
        return [e for e in (self._ents[i] for i in self._surnames.get(surname, ()))
                if e.label == "PERSON" and len(e.name.split()) >= 2 and name_key(e.name.split()[-1], "PERSON") == surname]

    def lookup(self, name: str, label: str, changed: dict[str, Entity]) -> Entity:
        g = _group(label)
        key = name_key(name, label)
        eid = self._index.get((g, key))
        if eid is not None:
            return self._ents[eid]
        if g == "PERSON" and len(key.split()) >= 2 or g != "PERSON" and len(key) >= 4:
            other = self._other_script(name, label)
            if other is not None:
                self._index[(g, key)] = other.id
                self._add_alias(other, name, f"'{name}' is '{other.name}' in the other script (transliteration)",
                                changed)
                return other
        if g == "PERSON":
            words = key.split()
            if len(words) == 1:
                cands = self._persons_with_surname(key)
                if len(cands) == 1:
                    e = cands[0]
                    self._index[(g, key)] = e.id
                    self._add_alias(e, name, f"'{name}': surname of the only '{e.name}' in the store", changed)
                    return e
            else:
                # a surname-only entity met before its full name: upgrade it when this is the only full name
                single = self._index.get((g, words[-1]))
                if single is not None and len(self._ents[single].name.split()) == 1 \
                        and not self._persons_with_surname(words[-1]):
                    e = self._ents[single]
                    old = e.name
                    e.name = name
                    self._index_surname(e)
                    self._index[(g, key)] = e.id
                    self._add_alias(e, name, f"'{old}' is the surname of '{name}', the only such full name", changed)
                    return e
        e = self._new(name, label)
        changed[e.id] = e
        return e

    def _add_alias(self, e: Entity, alias: str, evidence: str, changed: dict[str, Entity]) -> None:
        if alias not in e.aliases:
            e.aliases.append(alias)
            e.evidence.append(evidence)
            changed[e.id] = e
            if _is_name(alias):
                self._index_translit(e, alias)

    # ---- resolve ---------------------------------------------------------------------------------------------
    def resolve(self, articles: Sequence[Article]) -> list[Entity]:
        changed: dict[str, Entity] = {}
        before = set(self._ents)
        for a in articles:
            self._acronyms(a, changed)
            for m in a.entities:
                if m.label in NUMERIC or not m.name:
                    continue
                e = self.lookup(m.name, m.label, changed)
                m.entity_id, canon_before = e.id, m.name
                m.name = e.name
                if m.text not in e.aliases:
                    how = "same name" if name_key(m.text, m.label) == name_key(e.name, e.label) else (
                        f"refers to '{canon_before}' in this article")
                    self._add_alias(e, m.text, f"'{m.text}' ({a.id}): {how}", changed)
                words = m.text.split()
                if e.label == "PERSON" and len(words) == 2 and name_key(m.text, "PERSON") == name_key(e.name, "PERSON"):
                    sur = words[-1]
                    if sur not in e.aliases and len(self._persons_with_surname(name_key(sur, "PERSON"))) == 1:
                        self._add_alias(e, sur, f"'{sur}': surname in '{m.text}' ({a.id})", changed)
            for q in a.quotes:
                sp = q.speaker
                if sp is None or not sp.name:
                    continue
                e2 = None
                for g in ("PERSON", "ORG", "GPE", "NORP"):
                    eid = self._index.get((g, name_key(sp.name, g)))
                    if eid is not None:
                        e2 = self._ents[eid]
                        break
                if e2 is None:
                    e2 = self.lookup(sp.name, "PERSON" if len(sp.name.split()) >= 2 else "ORG", changed)
                sp.entity_id, sp.name = e2.id, e2.name
        self._statement_aliases(articles, set(self._ents) - before, changed)
        return sorted(changed.values(), key=lambda e: e.id)

    def _statement_aliases(self, articles: Sequence[Article], created: set[str], changed: dict[str, Entity]) -> None:
        """Two names of a law or treaty that fill the same place in one statement of one speaker, carried by two
        articles ("I welcomed the extension of INF III" / "I welcome the extension of the New INF agreement"),
        name one thing: the entity new in this batch joins the other, the two quotes as evidence."""
        found: list[tuple[str, str, set[str], str, str]] = []  # (article, speaker, word stems, entity id, quote)
        for a in articles:
            for q in a.quotes:
                if q.speaker is None or not q.speaker.name or q.kind == "indirect":
                    continue
                laws = {m.entity_id for m in a.entities if m.label == "LAW" and m.entity_id
                        and q.start <= m.start and m.end <= q.end}
                if len(laws) != 1:
                    continue
                words = q.text
                for m in a.entities:  # the statement's own words: the names it differs by left out
                    if m.label == "LAW" and q.start <= m.start and m.end <= q.end:
                        words = words.replace(m.text, " ")
                stems = {w.casefold()[:5] for w in re.findall(r"[^\W\d_]+", words)}
                found.append((a.id, q.speaker.name, stems, next(iter(laws)), q.text))
        moved: dict[str, str] = {}

        def now(eid: str) -> str:
            while eid in moved:
                eid = moved[eid]
            return eid

        for i, (a1, sp1, st1, e1_, t1) in enumerate(found):
            for a2, sp2, st2, e2_, t2 in found[i + 1:]:
                e1, e2 = now(e1_), now(e2_)
                if a1 == a2 or sp1 != sp2 or e1 == e2 or e1 not in self._ents or e2 not in self._ents:
                    continue
                short, long_ = (st1, st2) if len(st1) <= len(st2) else (st2, st1)
                if len(short) < 4 or len(short & long_) < 0.8 * len(short):
                    continue
                keep, drop = (e1, e2) if e2 in created else (e2, e1)
                if drop not in created:
                    continue  # both were stored before: never merge stored entities behind the store's back
                self._merge(keep, drop, f"same statement of {sp1}: «{t1[:80]}» ({a1}) / «{t2[:80]}» ({a2})",
                            articles, changed)
                moved[drop] = keep

    def _merge(self, keep: str, drop: str, evidence: str, articles: Sequence[Article],
               changed: dict[str, Entity]) -> None:
        k, d = self._ents[keep], self._ents.pop(drop)
        changed.pop(drop, None)
        for alias in d.aliases:
            self._add_alias(k, alias, f"'{alias}': {evidence}", changed)
        for key, eid in list(self._index.items()):
            if eid == drop:
                self._index[key] = keep
        for ids in self._translit.values():
            if drop in ids:
                ids.discard(drop)
                ids.add(keep)
        for a in articles:
            for m in a.entities:
                if m.entity_id == drop:
                    m.entity_id, m.name = keep, k.name

    def _acronyms(self, a: Article, changed: dict[str, Entity]) -> None:
        for m in re.finditer(r"\b((?:[A-Z][\w-]*\s+)(?:(?:of|on|for|the|and|[A-Z][\w-]*)\s+){1,12}[A-Z][\w-]*)"
                             r"\s+\(([A-Z][A-Z0-9-]{1,10})\)", a.text):
            long_, acr = re.sub(r"^The\s+", "", m.group(1)), m.group(2)
            initials = "".join(w[0] for w in long_.split() if w[0].isupper())
            label = "LAW" if long_.lower().startswith("treaty") else "ORG"
            if label == "ORG" and not initials.endswith(acr[:2]) and acr not in initials:
                continue
            g = _group(label)
            k_long, k_acr = name_key(long_, label), name_key(acr, label)
            id_long, id_acr = self._index.get((g, k_long)), self._index.get((g, k_acr))
            if id_long and id_acr:
                continue
            known = id_long or id_acr
            e = self._ents[known] if known else self._new(long_, label)
            changed[e.id] = e
            for k, alias in ((k_long, long_), (k_acr, acr)):
                self._index.setdefault((g, k), e.id)
                self._add_alias(e, alias, f"'{long_} ({acr})' in {a.id}", changed)
