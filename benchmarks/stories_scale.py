"""Scale of streaming story assignment: 100,000 synthetic articles across 2,000 stories over a year.

    .venv/bin/python benchmarks/stories_scale.py                 # 100k; writes docs/stories_scale.png + table
    .venv/bin/python benchmarks/stories_scale.py --n 10000 --stories 200

Each story is one event (a kind of event, a place, a person, an organisation, a day); its articles are
templated reports of it by different outlets over the following days, with real-looking entities and dates in
the text.  Texts are embedded once with the real embedder (title and lead only, to keep the run short; the
embedding time is reported apart) and then fed, in publication order, to ``StoryAssigner.add``.  Reported per
checkpoint (10k, 50k, 100k stored articles): articles/s over the last stretch, the mean time per article,
the process's peak RSS, and BCubed F1 of the stories so far against the generating story.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

KINDS = [
    ("earthquake", "A magnitude {mag} earthquake struck near {place} on {day}, {org} said.",
     "Magnitude {mag} earthquake shakes {place}"),
    ("strike", "Workers at {org} in {place} walked out on {day} in a dispute over pay, union leader {person} said.",
     "{org} workers strike in {place}"),
    ("election", "{person} won the mayoral election in {place} on {day}, officials from {org} announced.",
     "{person} wins {place} mayoral race"),
    ("fire", "A fire broke out at a warehouse owned by {org} in {place} on {day}; {person} of the fire service said.",
     "Warehouse fire at {org} site in {place}"),
    ("merger", "{org} agreed on {day} to buy a rival based in {place}, chief executive {person} said.",
     "{org} to buy {place} rival"),
    ("flood", "Floods forced thousands from their homes in {place} on {day}, {person} of {org} said.",
     "Floods force evacuations in {place}"),
    ("trial", "The trial of {person} opened in {place} on {day}, prosecutors from {org} said.",
     "Trial of {person} opens in {place}"),
    ("launch", "{org} launched a satellite from {place} on {day}, programme director {person} said.",
     "{org} launches satellite from {place}"),
]
FIRST = ["Anna", "Mark", "Elena", "David", "Sofia", "Pavel", "Laura", "Omar", "Ingrid", "Kenji", "Maria", "Lucas",
         "Fatima", "Jonas", "Chloe", "Ivan", "Nadia", "Tomas", "Grace", "Rafael"]
LAST = ["Novak", "Lindqvist", "Moreau", "Okafor", "Petrov", "Castillo", "Hartmann", "Sato", "Kowalski", "Haddad",
        "Fischer", "Brennan", "Alvarez", "Ivanova", "Rossi", "Nakamura", "Dubois", "Jensen", "Silva", "Kaur"]
PLACES = ["Antofagasta", "Rotterdam", "Gdansk", "Porto", "Tampere", "Mombasa", "Cebu", "Valparaiso", "Leipzig",
          "Bilbao", "Izmir", "Durban", "Bergen", "Brno", "Cork", "Lyon", "Malmo", "Perth", "Quito", "Sapporo",
          "Tbilisi", "Utrecht", "Varna", "Windhoek", "Zagreb", "Aarhus", "Bordeaux", "Curitiba", "Dakar", "Erfurt"]
ORGS = ["Northwind Logistics", "Helios Energy", "Baltic Rail", "Meridian Mining", "Atlas Telecom", "Civic Water",
        "Orion Aerospace", "Granite Steel", "Blue Harbor Ports", "Summit Foods", "the national weather service",
        "the regional emergency agency", "the electoral commission", "Vega Pharma", "Pioneer Motors"]
OUTLETS = ["Daily Ledger", "Morning Wire", "Coastal Times", "Metro Herald", "Global Post", "Evening Standard Review",
           "Northern Star", "City Chronicle"]
EXTRA = ["Witnesses described scenes of confusion.", "Local authorities promised an update later in the day.",
         "The news was widely shared on social media.", "Analysts said the consequences could last for weeks.",
         "Officials declined to give further details.", "Residents gathered outside to follow events."]


def generate(n: int, n_stories: int, seed: int = 7) -> tuple[list[dict[str, Any]], list[int]]:
    rnd = random.Random(seed)
    start = dt.date(2024, 1, 1)
    stories = []
    for k in range(n_stories):
        kind = KINDS[k % len(KINDS)]
        stories.append({
            "kind": kind, "place": rnd.choice(PLACES), "org": rnd.choice(ORGS),
            "person": f"{rnd.choice(FIRST)} {rnd.choice(LAST)}", "mag": f"{rnd.uniform(4.5, 7.9):.1f}",
            "day": start + dt.timedelta(days=rnd.randrange(365))})
    rows, gold = [], []
    for i in range(n):
        k = rnd.randrange(n_stories)
        s = stories[k]
        pub = s["day"] + dt.timedelta(days=min(6, int(rnd.expovariate(0.8))))
        daytxt = s["day"].strftime("%d %B").lstrip("0")
        vals = {key: s[key] for key in ("place", "org", "person", "mag")}
        lead = s["kind"][1].format(day=daytxt, **vals)
        title = s["kind"][2].format(**vals)
        if rnd.random() < 0.5:
            title = f"{title}, {rnd.choice(['reports say', 'officials say', 'update', 'latest'])}"
        body = " ".join([lead, *rnd.sample(EXTRA, 3),
                         f"{s['person']} is expected to speak again after {daytxt}."])
        rows.append({"id": f"a{i:06d}", "title": title, "text": body, "published": pub,
                     "outlet": rnd.choice(OUTLETS)})
        gold.append(k)
    order = sorted(range(n), key=lambda i: (rows[i]["published"], rows[i]["id"]))
    return [rows[i] for i in order], [gold[i] for i in order]


def bcubed(pred: list[str], gold: list[int]) -> float:
    from collections import Counter

    cont = Counter(zip(pred, gold, strict=True))
    cs, gs = Counter(pred), Counter(gold)
    p = sum(v * v / cs[c] for (c, _), v in cont.items()) / len(pred)
    r = sum(v * v / gs[g] for (_, g), v in cont.items()) / len(pred)
    return 2 * p * r / (p + r)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    from storylens.embed import ArticleVectors, Embedder, normalise
    from storylens.model import Article, PublishedDate
    from storylens.settings import StorySettings
    from storylens.stories import StoryAssigner

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--stories", type=int, default=2_000)
    ap.add_argument("--checkpoints", default="10000,50000,100000")
    ap.add_argument("--png", type=Path, default=ROOT / "docs" / "stories_scale.png")
    a = ap.parse_args()
    checkpoints = sorted(int(x) for x in a.checkpoints.split(",") if int(x) <= a.n)
    rows, gold = generate(a.n, a.stories)
    t0 = time.perf_counter()
    emb = Embedder(batch_size=256)
    tv = emb.encode([r["title"] for r in rows])
    lv = emb.encode([r["text"][:300] for r in rows])
    embed_s = time.perf_counter() - t0
    print(f"embedded {2 * len(rows)} texts (title + lead) in {embed_s:.0f}s", flush=True)
    settings = StorySettings()
    assigner = StoryAssigner(settings)
    pred: list[str] = []
    out: list[dict[str, Any]] = []
    curve: list[tuple[int, float]] = []
    t_last, n_last, t_total = time.perf_counter(), 0, 0.0
    step = max(1, a.n // 50)
    for i, r in enumerate(rows):
        art = Article(id=r["id"], source="synthetic", text=r["text"], title=r["title"], outlet=r["outlet"],
                      published=PublishedDate(r["published"], "metadata"), language="en")
        v = ArticleVectors(title=tv[i], lead=lv[i], doc=normalise(tv[i] + lv[i]),
                           sentences=np.zeros((0, tv.shape[1]), dtype=np.float32))
        t = time.perf_counter()
        pred.append(assigner.add(art, v))
        t_total += time.perf_counter() - t
        done = i + 1
        if done % step == 0:
            curve.append((done, 1000 * t_total / done))
        if done in checkpoints:
            now = time.perf_counter()
            final = [assigner.resolve(p) for p in pred]
            row = {"stored_articles": done, "articles_per_s_last_stretch": round((done - n_last) / (now - t_last), 1),
                   "ms_per_article_mean": round(1000 * t_total / done, 3), "stories": len(assigner),
                   "merges": len(assigner.merges), "peak_rss_mb": round(peak_rss_mb(), 1),
                   "bcubed_f1_vs_generator": round(bcubed(final, gold[:done]), 4)}
            out.append(row)
            print(json.dumps(row), flush=True)
            t_last, n_last = time.perf_counter(), done
    t = time.perf_counter()
    state = assigner.to_state()
    print(f"state: {len(state) / 1e6:.1f} MB, to_state {time.perf_counter() - t:.1f}s", flush=True)
    print("\n| stored articles | articles/s (last stretch) | mean ms/article | stories | merges | peak RSS MB | "
          "BCubed F1 vs generator |\n|---|---|---|---|---|---|---|")
    for r in out:
        print(f"| {r['stored_articles']:,} | {r['articles_per_s_last_stretch']} | {r['ms_per_article_mean']} | "
              f"{r['stories']} | {r['merges']} | {r['peak_rss_mb']} | {r['bcubed_f1_vs_generator']} |")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot([c[0] for c in curve], [c[1] for c in curve], marker=".", label="mean ms per article (cumulative)")
    ax.set_xlabel("articles stored")
    ax.set_ylabel("ms per article")
    ax.set_ylim(bottom=0)
    ax2 = ax.twinx()
    ax2.plot([r["stored_articles"] for r in out], [r["peak_rss_mb"] for r in out], "s--", color="tab:red",
             label="peak RSS (MB)")
    ax2.set_ylabel("peak RSS MB")
    ax2.set_ylim(bottom=0)
    ax.set_title(f"StoryAssigner: {a.n:,} synthetic articles, {a.stories:,} stories over a year")
    fig.legend(loc="lower right")
    fig.tight_layout()
    a.png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(a.png, dpi=110)
    print(f"plot: {a.png}")


if __name__ == "__main__":
    main()
