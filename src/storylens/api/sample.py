"""Synthetic stores for the API tests and the load benchmark: records written straight through :class:`Store`
(no NLP models), with a precomputed comparison per story so story pages render without the compare stage."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Sequence

from storylens.compare import COMPARE_VERSION
from storylens.model import (
    Article,
    Coverage,
    DiffOp,
    Entity,
    EntityMention,
    Fact,
    FactMention,
    FramingSignal,
    PublishedDate,
    Quote,
    QuoteChange,
    QuoteGroup,
    QuoteVariant,
    SpeakerRef,
    Story,
    StoryComparison,
    SummarySentence,
    TimelineEvent,
    to_jsonable,
)
from storylens.store import Store

OUTLETS = ["TASS", "Sputnik", "RBC", "Reuters", "AP", "BBC", "Interfax", "Kyiv Post"]
SPEAKER = Entity(id="ent-stoltenberg", name="Jens Stoltenberg", label="PERSON",
                 aliases=["Stoltenberg", "the NATO chief", "the alliance secretary general"],
                 evidence=["'the NATO chief' appears as the speaker title of Jens Stoltenberg"])
TREATY_QUOTE = "The New START agreement is a cornerstone of strategic stability and we welcome its extension"
WORDS = ["alliance", "summit", "dialogue", "weakness", "treaty", "missile", "defence", "Geneva", "Brussels", "meeting", "leaders", "consultations", "sanctions", "talks", "ministers", "security", "arms", "control", "border", "pipeline", "election", "budget", "council", "harbour"]


def make_article(i: int, story_id: str, outlet: str, day: dt.date, rng: random.Random, extra: str = "",
                 quote: str | None = None) -> Article:
    body = " ".join(rng.choice(WORDS) for _ in range(60))
    q_text = quote or f"We will keep talking about {rng.choice(WORDS)} and {rng.choice(WORDS)}"
    text = (f"Jens Stoltenberg said on Monday that NATO leaders will meet. “{q_text},” he said. {body}. "
            f"The New START treaty was extended. {extra}").strip()
    qs = text.index(q_text)
    a = Article(id=f"art-{i:06d}", source=f"synthetic#{i}", text=text, title=f"{outlet}: story {story_id} item {i}",
                outlet=outlet, published=PublishedDate(value=day, source="metadata"), language="en",
                content_hash=hashlib.sha256(text.encode()).hexdigest(), url=f"https://example.org/{outlet}/{i}")
    a.entities = [EntityMention(text="Jens Stoltenberg", start=0, end=16, label="PERSON", entity_id=SPEAKER.id,
                                name=SPEAKER.name)]
    a.quotes = [Quote(text=q_text, start=qs, end=qs + len(q_text), kind="direct",
                      speaker=SpeakerRef(name=SPEAKER.name, text="he", start=qs + len(q_text) + 3,
                                         end=qs + len(q_text) + 5, entity_id=SPEAKER.id),
                      id=f"{a.id}:q0")]
    return a


def make_comparison(story: Story, articles: Sequence[Article]) -> StoryComparison:
    """A plausible comparison: one quote group with a cut and an inserted-words variant, coverage, framing, timeline."""
    arts = sorted(articles, key=lambda a: (a.published.value or dt.date.max, a.id))
    canonical = arts[0].quotes[0].text if arts and arts[0].quotes else "We will keep talking"
    words = canonical.split()
    variants = []
    for k, a in enumerate(arts):
        if not a.quotes:
            continue
        q = a.quotes[0]
        changes: list[QuoteChange] = []
        if k % 3 == 1 and len(words) > 3 and k:
            kept, dropped = " ".join(words[:-2]), " ".join(words[-2:])
            text, diff = kept, [DiffOp("equal", kept, kept), DiffOp("delete", dropped, "")]
            muts: list = ["cut"]
            changes = [QuoteChange("cut", dropped, "")]
        elif k % 3 == 2:
            head, ins, tail = " ".join(words[:2]) + " ", "(the two leaders – Sample Wire)", " " + " ".join(words[2:])
            text = head + ins + tail
            diff = [DiffOp("equal", head, head), DiffOp("insert", "", ins), DiffOp("equal", tail, tail)]
            muts = ["words_inserted"]
            changes = [QuoteChange("words_inserted", "", ins)]
        else:
            text, diff, muts = canonical, [DiffOp("equal", canonical, canonical)], ["identical"]
        variants.append(QuoteVariant(quote_id=q.id or f"{a.id}:q0", article_id=a.id, outlet=a.outlet,
                                     published=a.published.value, text=text, kind=q.kind, speaker=SPEAKER.name,
                                     mutations=muts, diff=diff, similarity=1.0 if muts == ["identical"] else 0.8,
                                     changes=changes))
    groups = [QuoteGroup(id=f"{story.id}:g0", canonical=canonical, speaker=SPEAKER.name, variants=variants,
                         first_outlet=arts[0].outlet if arts else None, first_article=arts[0].id if arts else None,
                         first_published=arts[0].published.value if arts else None, story_id=story.id,
                         statement=canonical, first_quote=variants[0].quote_id if variants else None)]
    outlets = sorted({a.outlet or "unknown" for a in arts})
    facts = [
        Fact(id=f"{story.id}:f0", text="NATO leaders will meet.", outlets=outlets,
             mentions=[FactMention(a.id, a.outlet, "NATO leaders will meet.", 0, 10) for a in arts]),
        Fact(id=f"{story.id}:f1", text="The New START treaty was extended.", outlets=outlets[:1],
             mentions=[FactMention(arts[0].id, arts[0].outlet, "The New START treaty was extended.", 0, 10)] if arts
             else []),
    ]
    matrix = [[1, 1 if o == outlets[0] else 0] for o in outlets]
    coverage = Coverage(outlets=outlets, facts=facts, matrix=matrix, exclusive={outlets[0]: [facts[1].id]} if outlets
                        else {}, omitted={})
    framing = [FramingSignal(article_id=a.id, outlet=a.outlet, kind="attribution_verb", value="said",
                             sentence="Jens Stoltenberg said on Monday that NATO leaders will meet.") for a in arts]
    summary = [SummarySentence(text="NATO leaders will meet, Jens Stoltenberg said.",
                               citations=[a.id for a in arts[:3]], fact_id=facts[0].id),
               SummarySentence(text="The New START treaty was extended.", citations=[arts[0].id] if arts else [],
                               fact_id=facts[1].id)]
    days = sorted({a.published.value for a in arts if a.published.value})
    timeline = [TimelineEvent(date=d, label=f"{sum(1 for a in arts if a.published.value == d)} reports",
                              articles=[a.id for a in arts if a.published.value == d]) for d in days]
    return StoryComparison(story_id=story.id, quote_groups=groups, coverage=coverage, framing=framing,
                           summary=summary, timeline=timeline, version=COMPARE_VERSION)


def build(store: Store, n_articles: int = 30, per_story: int = 10, seed: int = 1,
          start: dt.date = dt.date(2021, 6, 1), compare: bool = True, first_index: int = 0) -> list[Story]:
    """Write ``n_articles`` synthetic articles in stories of ``per_story``; cache a comparison for each story."""
    rng = random.Random(seed)
    stories: list[Story] = []
    for s_i in range(0, n_articles, per_story):
        sid = f"s{(first_index + s_i) // per_story:05d}"
        day0 = start + dt.timedelta(days=(s_i // per_story) % 900)
        arts = []
        for k in range(min(per_story, n_articles - s_i)):
            i = first_index + s_i + k
            outlet = OUTLETS[(i + k) % len(OUTLETS)]
            quote = TREATY_QUOTE if first_index + s_i == 0 else None
            arts.append(make_article(i, sid, outlet, day0 + dt.timedelta(days=k % 4), rng, quote=quote))
        st = Story(id=sid, title=f"Story {sid}: NATO leaders meet in {rng.choice(['Geneva', 'Brussels', 'Vilnius'])}",
                   articles=[a.id for a in arts], first_seen=min(a.published.value for a in arts if a.published.value),
                   last_seen=max(a.published.value for a in arts if a.published.value),
                   keywords=["nato", "summit"], outlets=sorted({a.outlet or "" for a in arts}))
        for j, a in enumerate(arts):
            last = j == len(arts) - 1
            store.save_article(a, run_id=None, entities=[SPEAKER] if last else (), stories=[st] if last else (),
                               story_id=sid)
        if compare:
            comp = make_comparison(st, arts)
            data = to_jsonable(comp)
            store.save_comparison(sid, data, data["quote_groups"])
        stories.append(st)
    return stories
