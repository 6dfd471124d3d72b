"""Narratives: stories far apart in time that carry the same theme and the same actors.

Two stories are linked when their centroids are close and they share named entities and key terms,
whatever the time between them; linked stories form a narrative (connected components, two stories at
least).  The title is made of the entities and the key phrase most of its stories share.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence

import numpy as np

from storylens.embed import DIM, ArticleVectors, normalise
from storylens.model import Article, Narrative, Story
from storylens.settings import StorySettings
from storylens.stories.features import DocFreq, cosine, names_of, term_counts, weigh

MAX_PAIRS_DENSE = 3000  # above this many stories, neighbours come from usearch instead of a dense matrix


def _neighbours(c: np.ndarray, k: int = 20) -> list[list[int]]:
    n = len(c)
    if n <= MAX_PAIRS_DENSE:
        sims = c @ c.T
        return [[j for j in np.argsort(-sims[i])[:k + 1] if j != i] for i in range(n)]
    from usearch.index import Index

    idx = Index(ndim=DIM, metric="ip", dtype="f32")
    idx.add(np.arange(n), c)
    m = idx.search(c, k + 1)
    return [[int(j) for j in m.keys[i] if int(j) != i and 0 <= int(j) < n] for i in range(n)]


def link_narratives(stories: Sequence[Story], articles: Sequence[Article], vectors: Sequence[ArticleVectors],
                    settings: StorySettings | None = None) -> list[Narrative]:
    st = settings or StorySettings()
    by_id = {a.id: (a, v) for a, v in zip(articles, vectors, strict=True)}
    stories = [s for s in stories if any(x in by_id for x in s.articles)]
    if len(stories) < 2:
        return []
    df = DocFreq(bits=18)
    counts: list[Counter[str]] = []
    names: list[Counter[str]] = []
    cents = np.zeros((len(stories), DIM), dtype=np.float32)
    for i, s in enumerate(stories):
        tc: Counter[str] = Counter()
        nc: Counter[str] = Counter()
        for aid in s.articles:
            if aid not in by_id:
                continue
            a, v = by_id[aid]
            tc.update(term_counts(a.text or "", a.title))
            nc.update(names_of(a))
            cents[i] += normalise(v.doc)
        cents[i] = normalise(cents[i])
        counts.append(tc)
        names.append(nc)
        df.add(set(tc) | set(nc))
    tw = [weigh(c, df, 200) for c in counts]
    nw = [weigh(c, df, 100) for c in names]
    # theme and actors: names count by presence (a shared actor), terms by tf-idf
    parent = list(range(len(stories)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, nbrs in enumerate(_neighbours(cents)):
        for j in nbrs:
            emb = float(np.dot(cents[i], cents[j]))
            shared = set(names[i]) & set(names[j])
            actors = cosine({k: 1.0 for k in names[i]}, {k: 1.0 for k in names[j]}) if shared else 0.0
            sim = 0.5 * emb + 0.3 * cosine(tw[i], tw[j]) + 0.2 * actors + 0.1 * cosine(nw[i], nw[j])
            if sim >= st.narrative_threshold and shared:
                parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(stories)):
        groups.setdefault(find(i), []).append(i)
    out: list[Narrative] = []
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda i: (stories[i].first_seen or stories[i].last_seen or _far(), stories[i].id))
        title, keywords = _title([names[i] for i in members], [tw[i] for i in members])
        first = min(stories[i].id for i in members)
        out.append(Narrative(id="nr-" + hashlib.sha1(first.encode("utf-8")).hexdigest()[:12], title=title,
                             stories=[stories[i].id for i in members], keywords=keywords))
    out.sort(key=lambda n: -len(n.stories))
    return out


def _far() -> object:
    import datetime as dt

    return dt.date.max


def _title(names: list[Counter[str]], terms: list[dict[str, float]]) -> tuple[str, list[str]]:
    """Entities then a key phrase shared by the most stories (ties: the heavier)."""
    k = len(names)
    share: Counter[str] = Counter()
    for c in names:
        share.update(set(c))
    mass: Counter[str] = Counter()
    for c in names:
        for n, v in c.items():
            mass[n] += v
    # at equal share a full name ("elena marsh") beats its parts, which count once more for each mention
    ents = sorted(share, key=lambda n: (-share[n], -(" " in n), -mass[n], n))
    chosen: list[str] = []
    for n in ents:
        if share[n] < max(2, (k + 1) // 2):
            break
        if any(n in o or o in n for o in chosen):
            continue
        chosen.append(n)
        if len(chosen) == 3:
            break
    tshare: Counter[str] = Counter()
    tmass: dict[str, float] = {}
    for t in terms:
        for w, tv in t.items():
            tshare[w] += 1
            tmass[w] = tmass.get(w, 0.0) + tv
    phrases = sorted((w for w in tshare if " " in w and not any(p.isdigit() for p in w.split())),
                     key=lambda w: (-tshare[w], -tmass[w], w))
    taken = {w for c in chosen for w in c.split()}
    phrase = next((p for p in phrases if not taken & set(p.split())), None)
    ent_txt = ", ".join(_display(n) for n in chosen)
    title = f"{ent_txt}: {phrase}" if ent_txt and phrase else (ent_txt or phrase or "narrative")
    keywords = [_display(n) for n in chosen] + [p for p in phrases[:5] if p != phrase][:4]
    if phrase:
        keywords.insert(len(chosen), phrase)
    return title, keywords


def _display(name: str) -> str:
    if name.isupper() or len(name) <= 4:
        return name.upper()
    return " ".join(w.capitalize() for w in name.split())
