"""Scale benchmark (not a test): the local runner vs Spark local[N] on generated articles.

    .venv/bin/python benchmarks/spark_scale.py --n 20000                 # everything (slow on 2 cores)
    .venv/bin/python benchmarks/spark_scale.py --n 500 --runs local,spark:2:1,spark:2:2
    .venv/bin/python benchmarks/spark_scale.py --input $TMPDIR/storylens-eval/jsonl/ecbplus-dev.jsonl \
        --runs local,spark:2:1 --keep /tmp/ecb-scale              # real article lengths (ECB+ dev, 316 words)

Each run is a subprocess (``storylens ingest`` or ``storylens spark``); its peak memory is the peak over time of
the summed RSS of the whole process tree (for Spark: the driver's Python, the JVM and every Python worker), read
from /proc every 0.2 s.  ``spark:C:P`` means master ``local[C]`` with P partitions per core.  Results are appended
to ``benchmarks/results/spark_scale.jsonl`` (one JSON object per run) and printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "spark_scale.jsonl"
CLI = [sys.executable, "-m", "storylens.cli"]

SPEAKERS = [("Jens Stoltenberg", "the NATO chief"), ("Ursula von der Leyen", "the Commission president"),
            ("Antonio Guterres", "the UN secretary-general"), ("Olaf Scholz", "the German chancellor"),
            ("Emmanuel Macron", "the French president"), ("Dmitry Peskov", "the Kremlin spokesman"),
            ("Janet Yellen", "the Treasury secretary"), ("Christine Lagarde", "the ECB president"),
            ("Kristalina Georgieva", "the IMF chief"), ("Tedros Adhanom", "the WHO director-general"),
            ("Pedro Sanchez", "the Spanish prime minister"), ("Giorgia Meloni", "the Italian prime minister"),
            ("Fumio Kishida", "the Japanese prime minister"), ("Justin Trudeau", "the Canadian prime minister"),
            ("Ajay Banga", "the World Bank president"), ("Rafael Grossi", "the IAEA chief"),
            ("Mark Rutte", "the Dutch prime minister"), ("Ngozi Okonjo-Iweala", "the WTO director-general"),
            ("Fatih Birol", "the IEA executive director"), ("Volker Turk", "the UN human rights chief")]
PLACES = ["Brussels", "Geneva", "Berlin", "Paris", "Moscow", "Washington", "Frankfurt", "Vienna", "Oslo", "Madrid",
          "Rome", "Tokyo", "Ottawa", "Lisbon", "Warsaw", "Prague", "Dublin", "Helsinki", "Athens", "Nairobi"]
# topic, the thing at stake, the wider theme, and the topic's own background sentences
TOPICS = [
    ("arms control", "the New START treaty", "strategic stability",
     ["Inspections of missile sites were suspended last year.", "Warhead limits expire unless negotiators agree.",
      "Both sides accuse each other of testing banned launchers."]),
    ("energy prices", "the gas price cap", "winter supplies",
     ["Storage tanks are filled to about two thirds of capacity.", "Wholesale electricity futures jumped overnight.",
      "Utilities warned households about heating bills."]),
    ("interest rates", "the rate decision", "inflation",
     ["Bond yields fell after the announcement.", "Mortgage lenders are expected to cut their offers.",
      "Core prices rose faster than economists had forecast."]),
    ("pandemic preparedness", "the pandemic accord", "vaccine supplies",
     ["Laboratories want faster sharing of pathogen samples.", "Poorer countries asked for vaccine patents to be waived.",
      "Hospitals reported fewer intensive care admissions."]),
    ("trade", "the tariff agreement", "supply chains",
     ["Steel and aluminium duties remain in place.", "Container freight rates doubled since spring.",
      "Exporters of cars and machinery lobbied for quotas."]),
    ("climate", "the emissions target", "coal phase-out",
     ["Wind and solar farms supplied a record share of power.", "Several mines are due to close by the end of the decade.",
      "Scientists measured the hottest summer on record."]),
    ("migration", "the asylum pact", "border controls",
     ["Reception centres on the islands are overcrowded.", "Coast guards rescued hundreds of people at sea.",
      "Deportation flights resumed after a court ruling."]),
    ("debt relief", "the debt framework", "developing economies",
     ["Zambia and Ghana restructured their bonds.", "Private creditors resisted write-downs.",
      "Interest payments swallow a quarter of some budgets."]),
    ("nuclear safety", "the plant inspection regime", "reactor security",
     ["Shelling damaged a power line near the reactor.", "Inspectors rotated through the site under escort.",
      "Cooling pumps ran on diesel generators for hours."]),
    ("food security", "the grain corridor deal", "wheat shipments",
     ["Bulk carriers queued outside the port.", "Bread prices rose across North Africa.",
      "Farmers blocked roads with tractors over cheap imports."]),
    ("artificial intelligence", "the AI safety code", "chatbot regulation",
     ["Chip makers reported soaring demand for accelerators.", "Regulators fined a platform over facial recognition.",
      "Start-ups fear compliance costs."]),
    ("housing", "the rent control law", "affordable homes",
     ["Construction permits fell to a ten-year low.", "Tenants marched through the capital.",
      "Builders blame the cost of timber and cement."]),
    ("shipping", "the Red Sea escort mission", "freight security",
     ["Tankers rerouted around the Cape of Good Hope.", "Insurers raised war-risk premiums.",
      "A drone struck a cargo vessel near the strait."]),
    ("taxation", "the global minimum tax", "corporate profits",
     ["Tech giants booked profits in low-tax islands.", "Finance ministers argued over digital levies.",
      "Auditors found billions in unpaid duties."]),
    ("defence spending", "the two percent pledge", "ammunition production",
     ["Artillery shell factories added night shifts.", "Parliament approved a special procurement fund.",
      "Generals asked for more air defence batteries."]),
    ("water", "the river basin treaty", "drought relief",
     ["Reservoirs dropped below a third of capacity.", "Irrigation was rationed for orchards and rice paddies.",
      "Desalination plants are being built along the coast."]),
    ("cyber security", "the ransomware accord", "critical infrastructure",
     ["Hackers encrypted hospital records last month.", "Banks tested their backup systems.",
      "Police seized servers used by a criminal gang."]),
    ("human rights", "the detention inquiry", "press freedom",
     ["Journalists were held without charge for weeks.", "Lawyers filed complaints with the tribunal.",
      "Families of prisoners protested outside the ministry."]),
    ("space", "the lunar exploration pact", "satellite debris",
     ["A rocket upper stage broke apart in orbit.", "Astronauts postponed a spacewalk.",
      "Launch companies compete for broadband constellations."]),
    ("public health", "the tobacco convention", "smoking rates",
     ["Vaping among teenagers doubled in three years.", "Pharmacies ran short of nicotine patches.",
      "Cigarette packaging must carry larger warnings."]),
]
# quote and sentence shapes; the content words come from the event (topic background, thing, theme, place)
QUOTES = ["{bg}, and {thing} is how we answer that", "{Theme} cannot wait: {bg_lc}",
          "We came to {place} because {bg_lc}", "{Thing} stands or falls with {theme}; {bg_lc}"]
QUOTES2 = ["On {theme} we need results within {n} months", "{Theme} will decide whether {thing} survives",
           "Ministers in {place} agreed that {theme} comes first", "Without {theme} there is no {topic} policy"]
LEADS = ["{place_up}, {month} {day}. {name} on {weekday} urged partners to keep talking about {topic}.",
         "{name} said on {weekday} in {place} that {thing} was at risk.",
         "{place_up} ({month} {day}) - {role_cap} {name} made {topic} the centre of {weekday}'s talks.",
         "Talks on {topic} dominated {name}'s visit to {place} on {weekday}."]
MIDDLES = ["Speaking after talks with ministers, {role} added that {theme} would stay on the agenda.",
           "{surname} also met {other} to discuss {theme}.",
           "The {n}-point plan on {theme} was handed to delegations, according to a draft seen by reporters.",
           "Earlier, {role} had warned about {theme} in a letter to {other}."]
DETAILS = ["harbour", "pipeline", "railway", "budget", "ceasefire", "tribunal", "election", "referendum", "strike",
           "satellite", "vaccine", "reactor", "grain", "fertiliser", "turbine", "battery", "semiconductor",
           "pension", "tariff", "quota", "embargo", "sanction", "loan", "bond", "audit", "inquiry", "census",
           "drought", "flood", "wildfire", "earthquake", "glacier", "forest", "fishery", "refinery", "airport",
           "bridge", "tunnel", "hospital", "school", "university", "museum", "stadium", "border", "checkpoint",
           "convoy", "corridor", "summit", "accord", "charter", "protocol", "mandate", "veto", "coalition",
           "cabinet", "parliament", "senate", "court", "ombudsman", "regulator", "watchdog", "union", "cartel"]
OUTLETS = ["Harbor Wire", "Baltic Ledger", "Meridian Post", "Northgate Daily", "Vestnik Severa", "City Wire",
           "Global Desk", "Morning Courier", "Evening Standard Times", "Delta News", "Atlas Report", "Signal Today"]
VERBS = ["said", "told reporters", "added", "stressed", "warned", "noted"]
TITLES = ["{surname} on {topic}: {thing} must stay", "{surname} defends {thing} in {place}",
          "{surname} calls for action on {theme}", "{place} talks: {surname} warns on {topic}"]


def generate(n: int, seed: int = 7, dup_rate: float = 0.1) -> list[dict[str, Any]]:
    """``n`` articles over ~90 days: events (speaker x topic x place on a date, with the topic's own background
    and one of several quote pairs) each reported by 3-8 outlets, a share of them syndicated copies (near
    duplicates).  20 speakers x 20 topics x 20 places keep same-day events mostly distinct stories."""
    rnd = random.Random(seed)
    out: list[dict[str, Any]] = []
    start = dt.date(2024, 1, 1)
    event = 0
    while len(out) < n:
        event += 1
        (name, role), (topic, thing, theme, background) = rnd.choice(SPEAKERS), rnd.choice(TOPICS)
        place, day = rnd.choice(PLACES), start + dt.timedelta(days=rnd.randrange(90))
        surname = name.split()[-1]
        fill: dict[str, Any] = {"thing": thing, "Thing": thing[0].upper() + thing[1:], "theme": theme,
                                "Theme": theme[0].upper() + theme[1:], "place": place, "n": rnd.randint(2, 18),
                                "topic": topic, "surname": surname}
        bg = rnd.choice(background).rstrip(".")
        other = rnd.choice([x for x in SPEAKERS if x[0] != name])[0]
        fill.update(bg=bg, bg_lc=bg[0].lower() + bg[1:], other=other, place_up=place.upper(), month=f"{day:%B}",
                    day=day.day, weekday=f"{day:%A}", name=name, role=role, role_cap=role[0].upper() + role[1:])
        q1, q2 = rnd.choice(QUOTES).format(**fill), rnd.choice(QUOTES2).format(**fill)
        lead, middle = rnd.choice(LEADS).format(**fill), rnd.choice(MIDDLES).format(**fill)
        details = rnd.sample(DETAILS, 3)  # what this event is also about: events of one topic differ
        title = rnd.choice(TITLES).format(**fill)
        for k in range(rnd.randint(3, 8)):
            if len(out) >= n:
                break
            outlet = rnd.choice(OUTLETS)
            verb = rnd.choice(VERBS)
            extra = " ".join(rnd.sample(background, k=rnd.randint(1, 3))) + " " + (
                f"The {details[0]} and the {details[1]} were also raised, and the {details[2]} "
                f"{rnd.choice(['remains open', 'was left for later', 'splits the delegations'])}.")
            text = (f"{lead} \u201c{q1},\u201d {surname} {verb}.\n\n{middle} \u201c{q2},\u201d {surname} said."
                    f"\n\n{extra}")
            art = {"id": f"gen-{event}-{k}", "title": title,
                   "text": text, "published": day.isoformat(), "outlet": outlet, "language": "en",
                   "url": f"https://{outlet.lower().replace(' ', '')}.example/{event}/{k}"}
            out.append(art)
            if rnd.random() < dup_rate and len(out) < n:  # a syndicated copy with a sign-off
                copy = dict(art, id=f"gen-{event}-{k}-copy", outlet=rnd.choice(OUTLETS),
                            text=art["text"] + "\n\nThis story was syndicated from a wire service.")
                out.append(copy)
    return out


def _tree_rss(pid: int) -> int:
    """Summed RSS (bytes) of ``pid`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as fh:
                stat = fh.read().rsplit(b")", 1)[1].split()
            children.setdefault(int(stat[1]), []).append(int(d))
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return total


def measure(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``cmd``; wall time and peak summed RSS of its process tree."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})}, cwd=ROOT)
    peak = 0
    stop = threading.Event()

    def poll() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            time.sleep(0.2)

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    stdout, stderr = proc.communicate()
    stop.set()
    th.join()
    secs = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stderr[-3000:]}")
    return {"seconds": round(secs, 1), "peak_rss_mb": round(peak / 2**20), "stdout": stdout, "stderr": stderr[-2000:]}


def run_local(inp: Path, work: Path) -> dict[str, Any]:
    db = work / "local.db"
    r = measure([*CLI, "ingest", str(inp), "--db", str(db)])
    return {"runner": "local", "seconds": r["seconds"], "peak_rss_mb": r["peak_rss_mb"],
            "summary": [ln for ln in r["stderr"].splitlines() if " new, " in ln][-1:]}


def run_spark(inp: Path, work: Path, cores: int, per_core: int) -> dict[str, Any]:
    out = work / f"spark-{cores}-{per_core}"
    r = measure([*CLI, "spark", str(inp), "--out", str(out), "--master", f"local[{cores}]",
                 "--partitions", str(cores * per_core), "--json"])
    rep = json.loads(r["stdout"].strip().splitlines()[-1])
    return {"runner": f"spark local[{cores}]", "partitions_per_core": per_core, "seconds": r["seconds"],
            "peak_rss_mb": r["peak_rss_mb"], "stage_seconds": rep["seconds"], "counts": rep["counts"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--runs", default="local,spark:2:1,spark:2:2", help="local, spark:CORES:PARTITIONS_PER_CORE")
    ap.add_argument("--keep", help="keep the generated input and outputs in this directory")
    ap.add_argument("--input", help="run on this JSONL (input contract) instead of generated articles, e.g. the "
                                    "ECB+ dev JSONL of ../shared/eval/to_jsonl.py (real article lengths)")
    args = ap.parse_args()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    if args.n and args.runs:
        work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="storylens-bench-"))
        work.mkdir(parents=True, exist_ok=True)
        inp = Path(args.input) if args.input else work / f"generated-{args.n}.jsonl"
        if args.input:
            args.n = sum(1 for line in inp.open(encoding="utf-8") if line.strip())
        elif not inp.exists():
            with inp.open("w", encoding="utf-8") as fh:
                for a in generate(args.n):
                    fh.write(json.dumps(a, ensure_ascii=False) + "\n")
        for spec in args.runs.split(","):
            if spec == "local":
                r = run_local(inp, work)
            else:
                _, cores, per = spec.split(":")
                r = run_spark(inp, work, int(cores), int(per))
            r.update(n=args.n, input=str(inp) if args.input else "generated", articles_per_s=round(args.n / r["seconds"], 2),
                     when=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), cpus=os.cpu_count())
            if r["runner"].startswith("spark"):
                cores = int(r["runner"].split("[")[1].rstrip("]"))
                r["articles_per_s_per_core"] = round(r["articles_per_s"] / cores, 2)
                r["cores_for_1M_per_hour"] = round(1_000_000 / 3600 / r["articles_per_s_per_core"], 1)
            print(json.dumps(r), flush=True)
            _append(r)  # each run as soon as it ends: a 20k benchmark takes hours


def _append(row: dict[str, Any]) -> None:
    with RESULTS.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
