"""Cited summaries: extractive by default (offline), optionally abstractive through an OpenAI-compatible endpoint.

Extractive: whole sentences chosen to cover what most articles report (:func:`summarize`), shown in story order,
each citing every article that carries its fact.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
from collections import Counter
from collections.abc import Sequence

from storylens.compare.facts import Alignment
from storylens.model import Article, Fact, SummarySentence
from storylens.settings import CompareSettings
from storylens.text.sentences import sentences
from storylens.text.stopwords import STOPWORDS
from storylens.text.tokens import tokenize

log = logging.getLogger(__name__)
# fitted on the even half of NeuS dev (benchmarks/summaries_neus.py); the odd half is held out
QUOTE_PENALTY = 0.3  # a sentence with quotation marks weighs this much less (summaries report, they do not quote)
LEAD_BONUS = 0.5  # an outlet's opening sentence weighs 1 + LEAD_BONUS, its n-th 1 + LEAD_BONUS / n
BUDGET_GROWTH = 0.25  # the word budget grows by this share for every doubling of the story's articles beyond 3
MIN_SUMMARY_WORDS = 5
_QUOTE_MARK = re.compile(r"[“”«»\"]")
_DATELINE = re.compile(r"^(?:[A-Z][\w.'’ ,-]{1,40}?\s?\([A-Z][\w .&-]{1,20}\)\s*[—–-]?\s*(?=[A-Z\"“])|"
                       r"[A-Z][A-Z.'’ -]{1,30}(?:,\s*[A-Z][\w.'’ -]{1,30})?\s+[—–-]\s+)")


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


def _units(text: str) -> set[str]:
    """Content-word stems and stem bigrams of a text: what a summary sentence covers."""
    st = [t.stem for t in tokenize(text) if not t.is_ellipsis and t.key not in STOPWORDS and len(t.key) > 1]
    return set(st) | {f"{a}_{b}" for a, b in zip(st, st[1:], strict=False)}


def strip_dateline(text: str) -> str:
    """A sentence without the dateline it opens with ('Washington (Agency) —', 'SEOUL, South Korea —')."""
    return _DATELINE.sub("", text, count=1).strip() or text


def word_budget(n_articles: int, words: int) -> int:
    """The summary's length in words: ``words`` for a story of three articles, growing slowly with its size."""
    return int(words * (1 + BUDGET_GROWTH * math.log2(max(1.0, n_articles / 3))))


def summarize(al: Alignment, facts: Sequence[Fact], articles: Sequence[Article], n_sentences: int,
              n_words: int = 60) -> list[SummarySentence]:
    """Whole sentences that together cover what most articles report, each citing every article of its fact.

    A word or word pair weighs the number of articles (text and title) that use it when more than one does: what
    several outlets report is what the story is about.  Sentences in the story's main language are taken greedily
    (one per aligned fact, any outlet's wording) by the weight of what they add that earlier choices did not cover,
    per square root of their length, preferring outlets' opening sentences and plain reporting over quotation, until the word budget
    (:func:`word_budget`) or ``n_sentences`` is reached; they are shown in story order."""
    if not facts:
        return []
    order = {a.id: k for k, a in enumerate(articles)}
    langs = Counter(s.lang for s in al.sents)
    main = langs.most_common(1)[0][0] if langs else "en"
    counts: Counter[str] = Counter()
    for a in articles:
        counts.update(_units(a.text) | _units(a.title or ""))
    shared = any(c > 1 for c in counts.values())
    weight = {u: float(c) if c > 1 else (0.0 if shared else 1.0) for u, c in counts.items()}
    cands: list[tuple[int, int, str, set[str], int, bool]] = []  # fact, position, text, units, words, quotes
    for f, members in enumerate(al.facts):
        pool = [i for i in members if al.sents[i].lang == main] or members
        for i in pool:  # any outlet's wording of the fact may be the one that covers most
            text = strip_dateline(al.sents[i].text)
            n = len(re.findall(r"\w+", text))
            if n >= MIN_SUMMARY_WORDS:
                cands.append((f, al.sents[i].order, text, _units(text), n, bool(_QUOTE_MARK.search(text))))
    budget = word_budget(len(articles), n_words)
    covered: set[str] = set()
    chosen: list[tuple[int, int, str, set[str], int, bool]] = []
    words = 0

    def gain(c: tuple[int, int, str, set[str], int, bool]) -> float:
        g = sum(weight.get(u, 0.0) for u in c[3] - covered) / c[4] ** 0.5
        return g * (1 - QUOTE_PENALTY * c[5]) * (1 + LEAD_BONUS / (1 + c[1]))

    while cands and words < budget and len(chosen) < n_sentences:
        best = max(cands, key=gain)
        if gain(best) <= 0:
            break
        chosen.append(best)
        covered |= best[3]
        words += best[4]
        cands = [c for c in cands if c[0] != best[0]]  # one sentence per fact

    def pos(f: int) -> tuple[dt.date, int, int]:
        s = al.sents[min(al.facts[f], key=lambda i: (al.sents[i].art_order, al.sents[i].order))]
        return (s.article.published.value or dt.date.max, s.art_order, s.order)

    out = []
    for c in sorted(chosen, key=lambda c: pos(c[0])):
        cites = sorted({m.article_id for m in facts[c[0]].mentions}, key=lambda a: order.get(a, 1 << 30))
        out.append(SummarySentence(_unbalanced(c[2]), cites, facts[c[0]].id))
    return out


def lead_baseline(articles: Sequence[Article], n: int = 3) -> str:
    """The first ``n`` sentences of the earliest article (the ROUGE baseline)."""
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
