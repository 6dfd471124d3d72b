"""A generated news stream with known stories, for the scale benchmarks and the runner-equivalence test.

Twenty recurring topics; every day some of them produce events.  Events of one topic in the same week differ as real
ones do: another speaker, another place, other figures and other specifics; they share the topic's vocabulary and
background (the confusers a story assigner must not merge).  Each event is reported by one to eight outlets, each in
its own words (its own lead, its own choice and cut of the speaker's quotes, its own background), some a day or two
later as follow-ups, some as syndicated copies with a small edit.  The gold story of an article is its event.

    from newsgen import generate
    rows, gold = generate(5000, days=60, seed=1)     # input-contract rows, article id -> event id

No paragraph is repeated word for word by one outlet across events, so furniture learning (lines an outlet repeats)
finds nothing here, whatever the order the articles are read in.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

FIRST = ["Anna", "Mark", "Elena", "David", "Sofia", "Pavel", "Laura", "Omar", "Ingrid", "Kenji", "Maria", "Lucas",
         "Nadia", "Tomas", "Aisha", "Viktor", "Clara", "Rafael", "Mei", "Jonas", "Leila", "Stefan", "Irene", "Hugo"]
LAST = ["Novak", "Lindqvist", "Moreau", "Okafor", "Petrov", "Castillo", "Hartmann", "Sato", "Kowalski", "Haddad",
        "Brennan", "Varga", "Ionescu", "Mendes", "Halvorsen", "Demir", "Russo", "Kaur", "Fischer", "Laine", "Ortega",
        "Baptiste", "Kovac", "Nakamura", "Dahl", "Silva", "Weber", "Moretti", "Janssen", "Rahman"]
ROLES = ["minister", "mayor", "spokesperson", "chief executive", "union leader", "governor", "commissioner",
         "director", "senator", "chair"]
PLACES = ["Antofagasta", "Rotterdam", "Gdansk", "Porto", "Tampere", "Mombasa", "Cebu", "Valparaiso", "Leipzig",
          "Bergen", "Split", "Cork", "Malmo", "Trieste", "Kaunas", "Bilbao", "Aarhus", "Graz", "Plovdiv", "Tartu",
          "Nantes", "Genoa", "Brno", "Lyon", "Seville", "Utrecht", "Turku", "Szeged", "Cluj", "Varna"]
ORGS = ["Northwind Logistics", "Helios Energy", "Baltic Rail", "Meridian Mining", "Atlas Telecom", "Civic Water",
        "Harbour Authority", "Coastal Ferries", "Union of Dockworkers", "Regional Health Board", "Grain Exchange",
        "Metro Transit", "Federal Audit Office", "Steelworks Group", "Green Grid", "National Archive"]
OUTLETS = ["Daily Ledger", "Morning Wire", "Coastal Times", "Metro Herald", "Global Post", "Evening Review",
           "Harbor Wire", "Baltic Ledger", "Meridian Post", "Northgate Daily", "City Desk", "Signal Today"]
# topic: (what it is about, the nouns its events vary over, background clauses every report of the topic may carry)
TOPICS: list[tuple[str, list[str], list[str]]] = [
    ("port strike", ["cranes", "containers", "overtime", "wages", "night shifts", "berths"],
     ["dock work has stalled in several harbours this year", "shipping lines are rerouting cargo",
      "pay talks have broken down more than once"]),
    ("rail upgrade", ["signals", "tracks", "bridges", "timetables", "tunnels", "stations"],
     ["trains have run late on the coastal line for months", "the ministry promised faster regional links",
      "commuters have complained about crowded carriages"]),
    ("water shortage", ["reservoirs", "pipes", "rationing", "wells", "desalination", "irrigation"],
     ["rainfall has been far below average", "farmers have lost part of their harvest",
      "the regional grid for drinking water is old"]),
    ("hospital funding", ["wards", "nurses", "waiting lists", "ambulances", "beds", "clinics"],
     ["health budgets were cut two years ago", "emergency rooms report long queues",
      "staff shortages hit rural clinics hardest"]),
    ("energy prices", ["tariffs", "heating", "subsidies", "meters", "gas bills", "wind farms"],
     ["wholesale prices swung sharply this winter", "households fear higher heating bills",
      "utilities blame the cost of imported gas"]),
    ("school reform", ["curricula", "teachers", "exams", "classrooms", "funding", "languages"],
     ["teachers have protested the reform for weeks", "parents worry about larger classes",
      "the exam system has not changed in decades"]),
    ("housing", ["rents", "permits", "tenants", "construction", "mortgages", "social housing"],
     ["rents have risen faster than wages", "building permits are at a low",
      "young families leave the city centre"]),
    ("wildfire", ["evacuations", "firefighters", "aircraft", "forests", "roads", "villages"],
     ["dry winds have fanned fires all summer", "the fire season starts earlier every year",
      "crews from neighbouring regions were sent to help"]),
    ("flooding", ["dikes", "pumps", "basements", "river levels", "sandbags", "shelters"],
     ["heavy rain has soaked the region for days", "engineers warn the river defences are ageing",
      "insurers expect a wave of claims"]),
    ("factory closure", ["jobs", "severance", "suppliers", "production lines", "pensions", "retraining"],
     ["orders for heavy machinery have fallen", "the plant has run below capacity for a year",
      "local suppliers depend on the factory"]),
    ("airport expansion", ["runways", "noise", "terminals", "flights", "permits", "parking"],
     ["passenger numbers are back above pre-crisis levels", "residents object to night flights",
      "airlines want more slots at peak hours"]),
    ("cyber attack", ["servers", "backups", "ransom", "records", "passwords", "networks"],
     ["hackers have targeted public services repeatedly", "many offices still run outdated software",
      "police warned about phishing messages"]),
    ("fishing quotas", ["catches", "trawlers", "stocks", "licences", "harbours", "inspections"],
     ["fish stocks have declined in the northern waters", "fishermen say the quotas are unfair",
      "scientists recommend deeper cuts"]),
    ("bus network", ["routes", "drivers", "fares", "electric buses", "depots", "timetables"],
     ["bus ridership dropped during the winter", "the city wants cleaner vehicles",
      "drivers are hard to recruit"]),
    ("museum theft", ["paintings", "alarms", "guards", "insurance", "display cases", "collections"],
     ["art thefts have become rarer but bolder", "museums upgraded security after earlier break-ins",
      "stolen works are hard to sell openly"]),
    ("bridge repair", ["girders", "traffic", "detours", "inspections", "cables", "lanes"],
     ["many bridges date from the post-war decades", "inspectors flagged corrosion last year",
      "lorry traffic has grown steadily"]),
    ("tax dispute", ["audits", "refunds", "penalties", "accounts", "filings", "courts"],
     ["tax authorities stepped up audits of large firms", "companies contest the new rules",
      "the courts have a backlog of appeals"]),
    ("election campaign", ["ballots", "rallies", "debates", "polls", "candidates", "turnout"],
     ["campaign spending has reached a record", "polls show a tight race",
      "voters rank the economy as their main worry"]),
    ("stadium project", ["seats", "tickets", "budgets", "contractors", "roofs", "parking"],
     ["the club has played in a cramped ground for years", "costs of big projects tend to overrun",
      "neighbours fear match-day traffic"]),
    ("mining accident", ["shafts", "rescuers", "miners", "ventilation", "inspections", "equipment"],
     ["mines in the region are among the deepest", "safety rules were tightened after an earlier accident",
      "the union has long demanded more inspectors"]),
]
VERBS = ["said", "told reporters", "said in a statement", "added", "warned", "stressed", "told local radio"]
QUOTE_SHAPES = [
    "We will not accept {a} while {b} in {place} are still at stake",
    "The {a} we agreed on {weekday} must reach {place} before the end of the month",
    "{n} {a} are not enough, and everyone in {place} knows it",
    "Nobody told us about the {a}; we learned it from the {b}",
    "What happened to the {b} in {place} shows how fragile the {a} are",
    "We need {n} more {a} and a plan for the {b}",
]
LEADS = [
    "{Place}'s {role} {name} on {weekday} {verb_past} {n} {a} after {org} {event}.",
    "{org} {event}, {role} {name} said in {place} on {weekday}, as the {topic} deepened.",
    "In {place}, {org} {event} on {weekday}; {name}, the {role}, promised {n} {a}.",
    "{Name} ({role}) told reporters in {place} that {org} {event} and that the {b} would follow.",
    "The {topic} in {place} escalated on {weekday} when {org} {event}, according to {name}.",
    "A day of talks in {place} ended with {org} {event}; {name} spoke of {n} {a}.",
]
EVENT_VERBS = ["announced a freeze on the {a}", "suspended work on the {a}", "promised to review the {a}",
               "cancelled the contracts for the {a}", "opened an inquiry into the {a}",
               "agreed to fund the {a}", "rejected the plan for the {a}", "postponed the vote on the {a}"]
VERB_PAST = ["demanded", "announced", "promised", "rejected", "questioned", "defended"]
FOLLOW = ["A day later, {name} repeated the demand in {place}.", "On {weekday}, {org} had not yet replied to {name}.",
          "By {weekday} evening, officials in {place} were drafting a response to {org}."]
TITLES = ["{Place}: {org} {event_short}", "{Name} on the {topic} in {place}", "{topic_cap} in {place}: {n} {a} at stake",
          "{org} {event_short}, {name} reacts", "{Place} {topic}: what {org}'s decision means"]


def _person(rnd: random.Random) -> str:
    return f"{rnd.choice(FIRST)} {rnd.choice(LAST)}"


def generate(n: int, days: int = 60, seed: int = 1, start: dt.date = dt.date(2024, 3, 1),
             dup_rate: float = 0.08) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """``n`` articles over ``days`` days in publication order: input-contract rows and the gold event of each."""
    rnd = random.Random(seed)
    per_day = max(1, n // days)
    rows: list[dict[str, Any]] = []
    gold: dict[str, str] = {}
    event = 0
    day_no = 0
    pending: list[tuple[dt.date, dict[str, Any]]] = []
    while len(rows) + len(pending) < n:
        day = start + dt.timedelta(days=day_no % max(1, days))
        made = 0
        while made < per_day and len(rows) + len(pending) < n:
            event += 1
            topic, nouns, background = rnd.choice(TOPICS)
            a, b = rnd.sample(nouns, 2)
            name, place, org = _person(rnd), rnd.choice(PLACES), rnd.choice(ORGS)
            fill = {"topic": topic, "topic_cap": topic[0].upper() + topic[1:], "a": a, "b": b, "name": name,
                    "Name": name, "place": place, "Place": place, "org": org, "role": rnd.choice(ROLES),
                    "n": rnd.randint(2, 95), "weekday": f"{day:%A}", "verb_past": rnd.choice(VERB_PAST)}
            ev = rnd.choice(EVENT_VERBS).format(**fill)
            fill.update(event=ev, event_short=ev.split(" the ")[0] + f" {a}")
            quotes = [q.format(**fill) for q in rnd.sample(QUOTE_SHAPES, 3)]
            second = _person(rnd)  # another voice each report may quote
            for k in range(rnd.choice([1, 1, 2, 2, 3, 3, 4, 5, 6, 8])):
                if len(rows) + len(pending) >= n:
                    break
                when = day + dt.timedelta(days=rnd.choice([0, 0, 0, 1, 1, 2]))
                outlet = rnd.choice(OUTLETS)
                lead = rnd.choice(LEADS).format(**fill)
                q = rnd.sample(quotes, rnd.randint(1, 2))
                q = [x if rnd.random() < 0.7 else x.split(",")[0] for x in q]  # some outlets cut the quote
                surname = name.split()[-1]
                parts = [lead, f"\u201c{q[0]},\u201d {surname} {rnd.choice(VERBS)}."]
                bg = rnd.sample(background, rnd.randint(1, 2))
                parts.append(f"In {place}, {bg[0]}, and the {b} came up again on {fill['weekday']}.")
                if len(q) > 1:
                    parts.append(f"\u201c{q[1]},\u201d {surname} added, according to {outlet}.")
                if rnd.random() < 0.5:
                    parts.append(f"{second}, who speaks for {org}, said the {a} would be discussed with {name}.")
                if when > day:
                    parts.append(rnd.choice(FOLLOW).format(**{**fill, "weekday": f"{when:%A}"}))
                if len(bg) > 1:
                    parts.append(f"Observers in {place} note that {bg[1]} ({outlet}, {when:%d %B}).")
                rid = f"g{seed}-e{event}-{k}"
                row = {"id": rid, "title": rnd.choice(TITLES).format(**fill), "text": "\n\n".join(parts),
                       "published": when.isoformat(), "outlet": outlet, "language": "en",
                       "url": f"https://{outlet.lower().replace(' ', '')}.example/{event}/{k}"}
                pending.append((when, row))
                gold[rid] = f"e{event}"
                if rnd.random() < dup_rate and len(rows) + len(pending) < n:
                    copy = dict(row, id=f"{rid}-copy", outlet=rnd.choice(OUTLETS),
                                text=row["text"].replace(f" {surname} ", f" {name} ", 1))
                    pending.append((when, copy))
                    gold[copy["id"]] = f"e{event}"
                made += 1
        day_no += 1
        # what is published up to today goes out in publication order
        pending.sort(key=lambda p: (p[0], p[1]["id"]))
        while pending and pending[0][0] <= day:
            rows.append(pending.pop(0)[1])
    pending.sort(key=lambda p: (p[0], p[1]["id"]))
    rows.extend(r for _, r in pending)
    return rows[:n], {r["id"]: gold[r["id"]] for r in rows[:n]}
