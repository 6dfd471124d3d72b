"""Cited summaries: extractive by default (offline), optionally abstractive through an OpenAI-compatible endpoint.

Extractive: facts are ranked by how many outlets carry them, then by centrality (how similar the fact's sentence is
to the rest of the story) and by whether outlets lead with it; near-repeats of a chosen fact are skipped; the chosen
sentences are shown in story order and each cites every article that carries its fact.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from storylens.compare.facts import Alignment
from storylens.model import Article, Fact, SummarySentence
from storylens.settings import CompareSettings

log = logging.getLogger(__name__)
REDUNDANT = 0.45


def _unbalanced(text: str) -> str:
    """Close or drop a dangling quote mark left by sentence splitting inside a quotation."""
    t = text.strip()
    opens, closes = t.count("“") + t.count("«"), t.count("”") + t.count("»")
    straight = t.count('"')
    if straight % 2 == 1:
        t = t.replace('"', "", 1) if t.startswith('"') else t + '"'
    if opens > closes:
        t = t + ("»" if "«" in t else "”")
    elif closes > opens and t.endswith(("”", "»")) and not t.startswith(("“", "«")):
        t = ("«" if t.endswith("»") else "“") + t
    return t


def summarize(al: Alignment, facts: Sequence[Fact], articles: Sequence[Article], n_sentences: int) -> list[SummarySentence]:
    if not facts:
        return []
    order = {a.id: k for k, a in enumerate(articles)}
    langs = Counter(s.lang for s in al.sents)
    main = langs.most_common(1)[0][0] if langs else "en"
    n_out = max(1, len({s.outlet for s in al.sents}))
    central = np.clip(al.sim, 0, 1).mean(axis=1) if len(al.sents) else np.zeros(0)
    cmax = float(central.max()) if len(central) else 1.0
    reps: list[int] = []
    scores: list[float] = []
    for members in al.facts:
        pool = [i for i in members if al.sents[i].lang == main] or members
        rep = max(pool, key=lambda i: (float(al.sim[i, pool].mean()), -al.sents[i].order))
        reps.append(rep)
        outlets = len({al.sents[i].outlet for i in members})
        arts = len({al.sents[i].article.id for i in members})
        lead = 1.0 if any(al.sents[i].order <= 1 for i in members) else 0.0
        words = len(al.sents[rep].text.split())
        short_pen = 0.5 if words < 7 else 0.0
        scores.append(outlets / n_out * 3 + arts * 0.1 + float(central[rep]) / (cmax or 1) + 0.4 * lead - short_pen)
    chosen: list[int] = []
    for f in sorted(range(len(facts)), key=lambda f: -scores[f]):
        if len(chosen) >= n_sentences:
            break
        if any(al.sim[reps[f], reps[g]] >= REDUNDANT for g in chosen):
            continue
        chosen.append(f)

    def pos(f: int) -> tuple[dt.date, int, int]:
        s = al.sents[min(al.facts[f], key=lambda i: (al.sents[i].art_order, al.sents[i].order))]
        return (s.article.published.value or dt.date.max, s.art_order, s.order)

    out = []
    for f in sorted(chosen, key=pos):
        cites = sorted({m.article_id for m in facts[f].mentions}, key=lambda a: order.get(a, 1 << 30))
        out.append(SummarySentence(_unbalanced(al.sents[reps[f]].text), cites, facts[f].id))
    return out


def lead_baseline(articles: Sequence[Article], n: int = 3) -> str:
    """The first ``n`` sentences of the earliest article (the ROUGE baseline)."""
    from storylens.compare._text import sentences
    from storylens.compare.facts import is_dateline

    if not articles:
        return ""
    first = min(articles, key=lambda a: (a.published.value or dt.date.max, a.id))
    return " ".join([s.text for s in sentences(first) if not is_dateline(s.text)][:n])


# ---- optional abstractive summary ---------------------------------------------------------------------------

_PROMPT = """You write a neutral news summary from numbered source facts. Use only these facts. Write at most {n}
sentences. End every sentence with the numbers of the facts it uses in square brackets, e.g. [1][3]. Do not add
anything that the facts do not say.

Facts:
{facts}"""
_CITE = re.compile(r"\[(\d+)\]")


def abstractive(extractive: Sequence[SummarySentence], facts: Sequence[Fact], settings: CompareSettings,
                articles: Sequence[Article]) -> list[SummarySentence]:
    """Ask the configured endpoint for a summary constrained to cite; sentences without valid citations are dropped.

    Returns [] when no endpoint is configured or the call fails (the extractive summary stays the default).
    """
    if not settings.llm_base_url or not settings.llm_model or not extractive:
        return []
    import httpx

    listed = list(extractive)
    facts_text = "\n".join(f"[{k + 1}] {s.text}" for k, s in enumerate(listed))
    headers = {"Authorization": f"Bearer {settings.llm_api_key}"} if settings.llm_api_key else {}
    body = {"model": settings.llm_model, "temperature": 0,
            "messages": [{"role": "user", "content": _PROMPT.format(n=settings.summary_sentences, facts=facts_text)}]}
    try:
        r = httpx.post(settings.llm_base_url.rstrip("/") + "/chat/completions", json=body, headers=headers,
                       timeout=getattr(settings, "llm_timeout_s", 30.0))
        r.raise_for_status()
        text = r.json()["choices"][0]["message"]["content"]
    except (httpx.HTTPError, KeyError, IndexError, ValueError, json.JSONDecodeError) as e:
        log.warning("abstractive summary failed: %s", e)
        return []
    order = {a.id: k for k, a in enumerate(articles)}
    out = []
    for sent in re.split(r"(?<=[.!?\]])\s+(?=[A-ZА-Я])", text.strip()):
        nums = [int(n) for n in _CITE.findall(sent)]
        valid = [n for n in nums if 1 <= n <= len(listed)]
        if not valid or len(valid) != len(nums):
            continue  # uncited or citing a fact that was not given: dropped
        cites = sorted({a for n in valid for a in listed[n - 1].citations}, key=lambda a: order.get(a, 1 << 30))
        out.append(SummarySentence(_CITE.sub("", sent).strip(), cites, listed[valid[0] - 1].fact_id))
    return out
