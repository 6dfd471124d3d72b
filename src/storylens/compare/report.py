"""Reports of a story or narrative comparison: self-contained HTML (no CDN, no external assets), Markdown, JSON,
and the terminal view of ``storylens story ID``."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from storylens.compare._text import outlet_label, short_id
from storylens.compare.framing import attribution_table
from storylens.model import (
    Article,
    DiffOp,
    NarrativeComparison,
    QuoteGroup,
    StoryComparison,
    SummarySentence,
    TimelineEvent,
    to_jsonable,
)

if TYPE_CHECKING:
    from rich.console import Console

Comparison = StoryComparison | NarrativeComparison
MUTATION_LABEL = {
    "identical": "verbatim", "cut": "cut", "extended": "extended", "words_changed": "words changed",
    "words_inserted": "outlet's words inserted", "name_changed": "name changed", "tense_changed": "tense changed",
    "translated": "translated", "paraphrased": "paraphrased", "speaker_changed": "speaker changed",
}
MAX_FACT_COLUMNS = 30


def _numbering(comparison: Comparison, articles: Sequence[Article]) -> dict[str, int]:
    ids = list(comparison.articles) or [a.id for a in articles]
    ids += [a.id for a in articles if a.id not in ids]
    return {aid: k + 1 for k, aid in enumerate(ids)}


def _cites(s: SummarySentence, num: dict[str, int]) -> list[int]:
    return sorted(num[a] for a in s.citations if a in num)


def _group_outlets(g: QuoteGroup) -> list[str]:
    return list(dict.fromkeys(v.outlet or "unknown outlet" for v in g.variants))


def _timeline_svg(events: Sequence[TimelineEvent], width: int = 960) -> str:
    """An inline SVG chart: one dot per event on a date axis, publication days and text dates in two lanes."""
    if not events:
        return ""
    d0, d1 = min(e.date for e in events), max(e.date for e in events)
    span = max(1, (d1 - d0).days)
    left, right, lane_h = 60, 40, 46
    inner = width - left - right
    stack: dict[tuple[dt.date, str], int] = {}
    parts = []
    lanes = {"event": 40, "published": 40 + lane_h * 3}
    height = lanes["published"] + lane_h * 2 + 30
    parts.append(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
                 f'role="img" aria-label="timeline">')
    for name, y in lanes.items():
        parts.append(f'<text x="4" y="{y + 4}" class="lane">{"reported" if name == "event" else "published"}</text>')
        parts.append(f'<line x1="{left}" y1="{y}" x2="{width - right}" y2="{y}" class="axis"/>')
    ticks = sorted({e.date for e in events})
    step = max(1, len(ticks) // 8)
    for k, t in enumerate(ticks):
        x = left + inner * (t - d0).days / span
        parts.append(f'<line x1="{x:.1f}" y1="20" x2="{x:.1f}" y2="{height - 24}" class="grid"/>')
        if k % step == 0 or k == len(ticks) - 1:
            parts.append(f'<text x="{x:.1f}" y="{height - 8}" class="tick" text-anchor="middle">{t.isoformat()}</text>')
    for n, e in enumerate(events):
        lane = "published" if e.kind == "published" else "event"
        k = stack.get((e.date, lane), 0)
        stack[(e.date, lane)] = k + 1
        x = left + inner * (e.date - d0).days / span
        y = lanes[lane] + 14 * k
        label = _esc(f"{e.date.isoformat()} — {e.label}")
        parts.append(f'<a href="#ev{n}"><circle cx="{x:.1f}" cy="{y}" r="6" class="dot {lane}">'
                     f'<title>{label}</title></circle></a>')
    parts.append("</svg>")
    return "".join(parts)


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _heat(count: int, top: int) -> str:
    if count <= 0:
        return "#f4f4f6"
    t = min(1.0, count / max(1, top))
    # light to deep blue
    r, g, b = int(222 - 170 * t), int(235 - 140 * t), int(247 - 60 * t)
    return f"rgb({r},{g},{b})"


def _view(comparison: Comparison, articles: Sequence[Article]) -> dict[str, Any]:
    num = _numbering(comparison, articles)
    by_id = {a.id: a for a in articles}
    arts = [{"n": n, "id": aid, "short": short_id(aid), "outlet": outlet_label(by_id[aid]) if aid in by_id else "",
             "title": by_id[aid].title if aid in by_id else "",
             "published": by_id[aid].published.value if aid in by_id else None,
             "url": by_id[aid].url if aid in by_id else None}
            for aid, n in sorted(num.items(), key=lambda x: x[1])]
    view: dict[str, Any] = {"articles": arts, "num": num, "labels": MUTATION_LABEL,
                            "generated": dt.date.today().isoformat()}
    if isinstance(comparison, NarrativeComparison):
        view.update(kind="narrative", title=comparison.title, id=comparison.narrative_id,
                    stories=[{"s": s, "summary": [(x, _cites(x, num)) for x in s.summary]} for s in comparison.stories],
                    groups=comparison.quote_groups, timeline=comparison.timeline,
                    svg=_timeline_svg(comparison.timeline))
        return view
    cov = comparison.coverage
    counts = cov.counts or cov.matrix
    cols = list(range(len(cov.facts)))
    keep = [f for f in cols if len(cov.facts[f].outlets) > 1]
    exclusive_ids = {fid for ids in cov.exclusive.values() for fid in ids}
    keep += [f for f in cols if cov.facts[f].id in exclusive_ids and f not in keep]
    keep = sorted(keep)[:MAX_FACT_COLUMNS]
    top = max((c for row in counts for c in row), default=1)
    fact_by_id = {f.id: f for f in cov.facts}
    outlets_all = sorted({outlet_label(a) for a in articles})
    view.update(
        kind="story", title=comparison.title or comparison.story_id, id=comparison.story_id,
        summary=[(s, _cites(s, num)) for s in comparison.summary],
        abstract=[(s, _cites(s, num)) for s in comparison.abstract],
        groups=comparison.quote_groups,
        multi_groups=[g for g in comparison.quote_groups if len(g.variants) > 1],
        single_groups=[g for g in comparison.quote_groups if len(g.variants) == 1],
        outlets=cov.outlets, facts=[cov.facts[f] for f in keep],
        heat=[[{"v": counts[o][f], "c": _heat(counts[o][f], top)} for f in keep] for o in range(len(cov.outlets))],
        exclusive={o: [fact_by_id[i] for i in ids] for o, ids in cov.exclusive.items() if ids},
        omitted={o: [fact_by_id[i] for i in ids] for o, ids in cov.omitted.items() if ids},
        conflicts=[(c, fact_by_id.get(c.fact_id)) for c in cov.conflicts],
        verbs=attribution_table(comparison.framing),
        evaluations=[s for s in comparison.framing if s.kind == "unattributed_evaluation"],
        loaded=[s for s in comparison.framing if s.kind == "loaded_word"],
        shares=[s for s in comparison.framing if s.kind == "quote_share"],
        timeline=comparison.timeline, svg=_timeline_svg(comparison.timeline),
        n_outlets=len(outlets_all),
    )
    return view


def _env() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("storylens.compare", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["short"] = short_id
    return env


def render_report(comparison: Comparison, articles: Sequence[Article],
                  fmt: Literal["html", "md", "json"] = "html") -> str:
    """A self-contained report: ``html`` (heat map, coloured diffs, SVG timeline, inline CSS), ``md`` or ``json``."""
    if fmt == "json":
        num = _numbering(comparison, articles)
        data = {"comparison": to_jsonable(comparison),
                "articles": [{"n": n, "id": aid} for aid, n in sorted(num.items(), key=lambda x: x[1])]}
        return json.dumps(data, ensure_ascii=False, indent=1)
    if fmt == "md":
        return _markdown(comparison, articles)
    if fmt != "html":
        raise ValueError(f"unknown report format {fmt!r}: html, md or json")
    return str(_env().get_template("report.html.j2").render(**_view(comparison, articles)))


# ---- markdown -------------------------------------------------------------------------------------------------


def _md_diff(ops: Sequence[DiffOp]) -> str:
    out = []
    for op in ops:
        if op.op == "equal":
            out.append(op.variant)
        elif op.op == "delete":
            out.append(f"~~{op.canonical}~~")
        elif op.op == "insert":
            out.append(f"**{op.variant}**")
        else:
            out.append(f"~~{op.canonical}~~ **{op.variant}**")
    return " ".join(out)


def _md_cites(nums: list[int]) -> str:
    return "".join(f"[{n}]" for n in nums)


def _markdown(comparison: Comparison, articles: Sequence[Article]) -> str:
    v = _view(comparison, articles)
    lines = [f"# {v['title']}", "", f"`{v['id']}`", ""]
    if v["kind"] == "narrative":
        for st in v["stories"]:
            s = st["s"]
            lines += [f"## {s.title} ({s.first_seen} – {s.last_seen})", ""]
            lines += [f"- {x.text} {_md_cites(c)}" for x, c in st["summary"]] + [""]
    else:
        lines += ["## Summary", ""] + [f"- {s.text} {_md_cites(c)}" for s, c in v["summary"]] + [""]
    groups = v["multi_groups"] if v["kind"] == "story" else v["groups"]
    lines += ["## Quotes carried by several articles", ""]
    for g in groups:
        lines += [f"### {g.speaker or 'unknown speaker'}: “{g.canonical}”", "",
                  f"First carried by **{g.first_outlet or 'unknown outlet'}** ({g.first_published or 'no date'}) · "
                  f"group `{g.id}`", ""]
        for var in g.variants:
            muts = ", ".join(MUTATION_LABEL.get(m, m) for m in var.mutations)
            lines.append(f"- **{var.outlet or 'unknown outlet'}** {var.published or ''} [{v['num'].get(var.article_id, '?')}]"
                         f" — *{muts}*: {_md_diff(var.diff) if var.diff and 'translated' not in var.mutations else var.text}")
            if var.details:
                lines.append(f"  - {'; '.join(var.details)}")
        lines.append("")
    if v["kind"] == "story":
        lines += ["## Coverage (outlet × fact)", ""]
        facts = v["facts"]
        lines.append("| outlet | " + " | ".join(f.id for f in facts) + " |")
        lines.append("|---|" + "---|" * len(facts))
        for o, row in zip(v["outlets"], v["heat"], strict=True):
            lines.append(f"| {o} | " + " | ".join(str(c["v"]) if c["v"] else "·" for c in row) + " |")
        lines.append("")
        lines += [f"- **{f.id}** ({len(f.outlets)} outlets): {f.text}" for f in facts] + [""]
        if v["exclusive"]:
            lines += ["### Reported by one outlet only", ""]
            for o, fs in v["exclusive"].items():
                lines += [f"- **{o}**: " + " · ".join(f"{f.id} {f.text}" for f in fs)]
            lines.append("")
        if v["omitted"]:
            lines += ["### Widely reported, left out", ""]
            lines += [f"- **{o}** leaves out " + ", ".join(f.id for f in fs) for o, fs in v["omitted"].items()] + [""]
        if v["conflicts"]:
            lines += ["### Conflicting numbers, dates, names", ""]
            for c, f in v["conflicts"]:
                vals = "; ".join(f"{o}: {', '.join(x)}" for o, x in c.values.items())
                lines.append(f"- {c.kind} in {c.fact_id} ({f.text if f else ''}): {vals}")
            lines.append("")
        lines += ["## Framing", ""]
        for sp, per in v["verbs"].items():
            lines.append(f"- **{sp}**: " + "; ".join(f"{o}: {', '.join(vs)}" for o, vs in per.items()))
        for s in v["evaluations"]:
            lines.append(f"- own voice ({s.outlet}): “{s.sentence}” — *{s.value}*")
        for s in v["shares"]:
            lines.append(f"- quote share {s.outlet} [{v['num'].get(s.article_id, '?')}]: {float(s.value):.0%}")
        lines.append("")
    lines += ["## Timeline", ""]
    for e in v["timeline"]:
        lines.append(f"- **{e.date}** {e.label} " + "".join(f"[{v['num'][a]}]" for a in e.articles if a in v["num"]))
    lines += ["", "## Articles", ""]
    for a in v["articles"]:
        lines.append(f"{a['n']}. {a['outlet']} · {a['published'] or 'no date'} · {a['title'] or a['short']} (`{a['id']}`)")
    return "\n".join(lines) + "\n"


# ---- terminal -------------------------------------------------------------------------------------------------


def diff_markup(ops: Sequence[DiffOp], plain: bool = False) -> str:
    """Rich markup of a word diff: struck red deletions and green insertions on a terminal; wdiff-style
    ``[-deleted-]`` / ``{+inserted+}`` markers when the output is a file or a pipe, where colours are lost."""
    from rich.markup import escape

    parts: list[str] = []
    for op in ops:
        if op.op == "equal":
            parts.append(escape(op.variant))
        if op.op in ("delete", "replace") and op.canonical:
            parts.append(escape(f"[-{op.canonical}-]") if plain else f"[red strike]{escape(op.canonical)}[/red strike]")
        if op.op in ("insert", "replace") and op.variant:
            parts.append(escape(f"{{+{op.variant}+}}") if plain else f"[green]{escape(op.variant)}[/green]")
    return " ".join(p for p in parts if p)


def render_terminal(comparison: Comparison, articles: Sequence[Article], console: Console) -> None:
    """The summary with citations, quote groups with variants and mutations, the coverage matrix and the timeline."""
    from rich.markup import escape
    from rich.table import Table

    v = _view(comparison, articles)
    if v["kind"] == "narrative":
        for st in v["stories"]:
            s = st["s"]
            console.print(f"\n[bold]{escape(s.title)}[/bold] [dim]{s.first_seen} – {s.last_seen}[/dim]")
            for x, c in st["summary"]:
                console.print(f"  • {escape(x.text)} [cyan]{escape(_md_cites(c))}[/cyan]")
    else:
        console.print("\n[bold]Summary[/bold]")
        for s, c in v["summary"]:
            console.print(f"  • {escape(s.text)} [cyan]{escape(_md_cites(c))}[/cyan]")
    groups = v["multi_groups"] if v["kind"] == "story" else v["groups"]
    console.print(f"\n[bold]Quote groups[/bold] ({len(groups)} carried by several articles)")
    for g in groups:
        console.print(f"\n[bold]{escape(g.speaker or 'unknown speaker')}[/bold]: “{escape(g.canonical)}”")
        console.print(f"  [dim]{g.id} · first: {escape(g.first_outlet or 'unknown outlet')} ({g.first_published})[/dim]")
        for var in g.variants:
            muts = ", ".join(MUTATION_LABEL.get(m, m) for m in var.mutations)
            console.print(f"  [bold]{escape(var.outlet or 'unknown outlet')}[/bold] {var.published or ''} "
                          f"[{v['num'].get(var.article_id, '?')}] [magenta]{escape(muts)}[/magenta]")
            if "translated" in var.mutations or "paraphrased" in var.mutations or not var.diff:
                console.print(f"    {escape(var.text)}")
            else:
                console.print("    " + diff_markup(var.diff, plain=not console.is_terminal))
            if var.details:
                console.print(f"    [dim]{escape('; '.join(var.details))}[/dim]")
    if v["kind"] == "story" and v["facts"]:
        shared = [k for k, f in enumerate(v["facts"]) if len(f.outlets) > 1][:20]
        t = Table(title="Coverage: outlet × fact reported by several outlets (articles)", show_lines=False)
        t.add_column("outlet")
        for k in shared:
            t.add_column(v["facts"][k].id, justify="center")
        for o, row in zip(v["outlets"], v["heat"], strict=True):
            t.add_row(escape(o), *[("[bold blue]" + str(row[k]["v"]) + "[/]") if row[k]["v"] else "[dim]·[/]"
                                   for k in shared])
        console.print(t)
        for k in shared:
            f = v["facts"][k]
            console.print(f"  [dim]{f.id}[/dim] ({len(f.outlets)}) {escape(f.text[:150])}")
        for o, fs in v["exclusive"].items():
            console.print(f"[bold]only {escape(o)}[/bold] ({len(fs)} facts):")
            for f in fs[:6]:
                console.print(f"  · {escape(f.text[:140])}")
        for o, fs in v["omitted"].items():
            console.print(f"[bold]{escape(o)} leaves out[/bold]: " + ", ".join(f.id for f in fs))
        for c, _f in v["conflicts"]:
            console.print(f"[red]conflict[/red] {c.kind} in {c.fact_id}: "
                          + escape("; ".join(f"{o}: {', '.join(x)}" for o, x in c.values.items())))
    console.print("\n[bold]Timeline[/bold]")
    for e in v["timeline"]:
        cites = "".join(f"[{v['num'][a]}]" for a in e.articles if a in v["num"])
        console.print(f"  {e.date}  {'[dim]' if e.kind == 'published' else ''}{escape(e.label)}"
                      f"{'[/dim]' if e.kind == 'published' else ''} [cyan]{escape(cites)}[/cyan]")
