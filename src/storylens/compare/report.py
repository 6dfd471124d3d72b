"""Reports of a story or narrative comparison: self-contained HTML (no CDN, no external assets), Markdown, JSON,
and the terminal view of ``storylens story ID``."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from storylens.compare.framing import attribution_table
from storylens.compare.labels import outlet_label, short_id
from storylens.compare.present import LABEL, GroupView, diff_parts, ops_parts, spread_view, statement_text
from storylens.model import (
    Article,
    DiffOp,
    NarrativeComparison,
    QuoteVariant,
    StoryComparison,
    SummarySentence,
    TimelineEvent,
    to_jsonable,
)

if TYPE_CHECKING:
    from rich.console import Console

Comparison = StoryComparison | NarrativeComparison
MUTATION_LABEL = LABEL
MAX_FACT_ROWS = 30


def _numbering(comparison: Comparison, articles: Sequence[Article]) -> dict[str, int]:
    ids = list(comparison.articles) or [a.id for a in articles]
    ids += [a.id for a in articles if a.id not in ids]
    return {aid: k + 1 for k, aid in enumerate(ids)}


def _cites(s: SummarySentence, num: dict[str, int]) -> list[int]:
    return sorted(num[a] for a in s.citations if a in num)


def _outlet_rows(comparison: Comparison, articles: Sequence[Article], num: dict[str, int]) -> list[dict[str, Any]]:
    """One row per outlet: its articles (citation numbers, first date) in citation order."""
    rows: dict[str, dict[str, Any]] = {}
    by_id = {a.id: a for a in articles}
    for aid, n in sorted(num.items(), key=lambda x: x[1]):
        a = by_id.get(aid)
        if a is None:
            continue
        r = rows.setdefault(outlet_label(a), {"outlet": outlet_label(a), "nums": [], "first": a.published.value,
                                              "languages": set()})
        r["nums"].append(n)
        if a.language:
            r["languages"].add(a.language)
    return list(rows.values())


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
    rows = list(range(len(cov.facts)))
    keep = [f for f in rows if len(cov.facts[f].outlets) > 1]
    exclusive_ids = {fid for ids in cov.exclusive.values() for fid in ids}
    keep += [f for f in rows if cov.facts[f].id in exclusive_ids and f not in keep]
    keep = sorted(keep)[:MAX_FACT_ROWS]
    top = max((c for row in counts for c in row), default=1)
    fact_by_id = {f.id: f for f in cov.facts}
    outlets_all = sorted({outlet_label(a) for a in articles})
    spread = spread_view(comparison.quote_groups)
    view.update(
        kind="story", title=comparison.title or comparison.story_id, id=comparison.story_id,
        summary=[(s, _cites(s, num)) for s in comparison.summary],
        abstract=[(s, _cites(s, num)) for s in comparison.abstract],
        groups=comparison.quote_groups, spread=spread, outlet_rows=_outlet_rows(comparison, articles, num),
        outlets=cov.outlets, facts=[cov.facts[f] for f in keep],
        # transposed: one row per fact, one column per outlet (outlets are few, facts many)
        heat=[[{"v": counts[o][f], "c": _heat(counts[o][f], top)} for o in range(len(cov.outlets))] for f in keep],
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
    env.globals["parts"] = diff_parts
    env.globals["statement"] = statement_text
    env.globals["spread_of"] = spread_view
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


def _md_parts(v: QuoteVariant) -> str:
    out = []
    for kind, text in diff_parts(v):
        if kind == "text":
            out.append(text)
        elif kind == "del":
            out.append(f"~~{text}~~")
        else:
            out.append(f"**{text}**")
    return "".join(out)


def _md_diff(ops: Sequence[DiffOp]) -> str:
    return "".join(text if kind == "text" else f"~~{text}~~" if kind == "del" else f"**{text}**"
                   for kind, text in ops_parts(ops))


def _md_cites(nums: list[int]) -> str:
    return "".join(f"[{n}]" for n in nums)


def _carrier(v: QuoteVariant, num: dict[str, int]) -> str:
    return f"{v.outlet or 'unknown outlet'} {v.published or ''} [{num.get(v.article_id, '?')}]".replace("  ", " ")


def _md_group(gv: GroupView, num: dict[str, int]) -> list[str]:
    g, f = gv.group, gv.first
    lines = [f"### {g.speaker or 'unknown speaker'}: “{statement_text(g)}”", "",
             f"First reported by **{_carrier(f, num)}** · {gv.n_articles} articles · group `{g.id}`", ""]
    for v in gv.changed:
        lines.append(f"- **{_carrier(v, num)}** — *{', '.join(LABEL.get(m, m) for m in v.mutations)}*: "
                     f"“{_md_parts(v)}”")
        if v.details:
            lines.append(f"  - {'; '.join(v.details)}")
    if gv.verbatim:
        lines.append("- verbatim: " + ", ".join(_carrier(v, num) for v in gv.verbatim))
    return [*lines, ""]


def _markdown(comparison: Comparison, articles: Sequence[Article]) -> str:
    v = _view(comparison, articles)
    num = v["num"]
    lines = [f"# {v['title']}", "", f"`{v['id']}`", ""]
    if v["kind"] == "narrative":
        for st in v["stories"]:
            s = st["s"]
            lines += [f"## {s.title} ({s.first_seen} – {s.last_seen})", ""]
            lines += [f"- {x.text} {_md_cites(c)}" for x, c in st["summary"]] + [""]
        lines += ["## Quotes that recur across the stories", ""]
        for g in v["groups"]:
            sv = spread_view([g])
            for gv in sv.changed + sv.verbatim + sv.single:
                lines += _md_group(gv, num)
    else:
        lines += ["## Summary", ""] + [f"- {s.text} {_md_cites(c)}" for s, c in v["summary"]] + [""]
        lines += ["## Outlets", ""] + [f"- **{r['outlet']}** {r['first'] or 'no date'} "
                                       f"{_md_cites(r['nums'])}" for r in v["outlet_rows"]] + [""]
        sp = v["spread"]
        lines += ["## Quotes that changed on the way (biggest change first; changes against the first report)", ""]
        for gv in sp.changed:
            lines += _md_group(gv, num)
        if not sp.changed:
            lines += ["No report changed a quote carried by several articles.", ""]
        if sp.verbatim:
            lines += ["## Quotes carried verbatim", ""]
            for gv in sp.verbatim:
                lines.append(f"- {gv.group.speaker or 'unknown speaker'}: “{statement_text(gv.group)}” — first "
                             f"{_carrier(gv.first, num)}; also " + ", ".join(_carrier(x, num) for x in gv.verbatim))
            lines.append("")
        lines += ["## Coverage (fact × outlet)", ""]
        facts = v["facts"]
        lines.append("| fact | " + " | ".join(v["outlets"]) + " |")
        lines.append("|---|" + "---|" * len(v["outlets"]))
        for f, row in zip(facts, v["heat"], strict=True):
            lines.append(f"| {f.id} | " + " | ".join(str(c["v"]) if c["v"] else "·" for c in row) + " |")
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
                lines.append(f"- {c.kind} in {c.fact_id} ({f.text if f else ''}):")
                for o, x in c.values.items():
                    ev = "; ".join(c.evidence.get(o, []))
                    lines.append(f"  - **{o}**: {', '.join(x)}" + (f" — “{ev}”" if ev else ""))
            lines.append("")
        lines += ["## Framing", ""]
        for sp_, per in v["verbs"].items():
            lines.append(f"- **{sp_}**: " + "; ".join(f"{o}: {', '.join(vs)}" for o, vs in per.items()))
        for s in v["evaluations"]:
            lines.append(f"- own voice ({s.outlet}): “{s.sentence}” — *{s.value}*")
        for s in v["shares"]:
            lines.append(f"- quote share {s.outlet} [{num.get(s.article_id, '?')}]: {float(s.value):.0%}")
        lines.append("")
    lines += ["## Timeline", ""]
    for e in v["timeline"]:
        lines.append(f"- **{e.date}** {e.label} " + "".join(f"[{num[a]}]" for a in e.articles if a in num))
    lines += ["", "## Articles", ""]
    for a in v["articles"]:
        lines.append(f"{a['n']}. {a['outlet']} · {a['published'] or 'no date'} · {a['title'] or a['short']} (`{a['id']}`)")
    return "\n".join(lines) + "\n"


# ---- terminal -------------------------------------------------------------------------------------------------


def parts_markup(parts: Sequence[tuple[str, str]], plain: bool = False) -> str:
    """Rich markup of a quote as carried: struck red dropped words and green inserted ones on a terminal;
    wdiff-style ``[-dropped-]`` / ``{+inserted+}`` markers when the output is a file or a pipe."""
    from rich.markup import escape

    out: list[str] = []
    for kind, text in parts:
        if kind == "text":
            out.append(escape(text))
        elif kind == "del":
            out.append(escape(f"[-{text}-]") if plain else f"[red strike]{escape(text)}[/red strike]")
        else:
            out.append(escape(f"{{+{text}+}}") if plain else f"[green]{escape(text)}[/green]")
    return "".join(out)


def diff_markup(ops: Sequence[DiffOp], plain: bool = False) -> str:
    """Rich markup of a variant's diff ops (see :func:`parts_markup`)."""
    return parts_markup(ops_parts(ops), plain)


def _term_group(gv: GroupView, num: dict[str, int], console: Console) -> None:
    from rich.markup import escape

    g, f = gv.group, gv.first
    plain = not console.is_terminal
    console.print(f"\n[bold]{escape(g.speaker or 'unknown speaker')}[/bold]: “{escape(statement_text(g))}”")
    console.print(f"  [dim]first: {escape(_carrier(f, num))} · {gv.n_articles} articles · {g.id}[/dim]")
    for v in gv.changed:
        console.print(f"  [bold]{escape(_carrier(v, num))}[/bold] [magenta]"
                      f"{escape(', '.join(LABEL.get(m, m) for m in v.mutations))}[/magenta]")
        console.print("    “" + parts_markup(diff_parts(v), plain) + "”")
        if v.details:
            console.print(f"    [dim]{escape('; '.join(v.details))}[/dim]")
    if gv.verbatim:
        console.print("  [dim]verbatim:[/dim] " + escape(", ".join(_carrier(v, num) for v in gv.verbatim)))


def render_terminal(comparison: Comparison, articles: Sequence[Article], console: Console) -> None:
    """The summary with citations, the outlets, the quotes that changed (biggest change first; verbatim carriers in
    one line), the quotes carried verbatim, the coverage matrix and the timeline."""
    from rich.markup import escape
    from rich.table import Table

    v = _view(comparison, articles)
    num = v["num"]
    if v["kind"] == "narrative":
        for st in v["stories"]:
            s = st["s"]
            console.print(f"\n[bold]{escape(s.title)}[/bold] [dim]{s.first_seen} – {s.last_seen}[/dim]")
            for x, c in st["summary"]:
                console.print(f"  • {escape(x.text)} [cyan]{escape(_md_cites(c))}[/cyan]")
        sv = spread_view(v["groups"])
        console.print(f"\n[bold]Quotes that recur across the stories[/bold] ({len(v['groups'])})")
        for gv in sv.changed + sv.verbatim + sv.single:
            _term_group(gv, num, console)
    else:
        console.print("\n[bold]Summary[/bold]")
        for s, c in v["summary"]:
            console.print(f"  • {escape(s.text)} [cyan]{escape(_md_cites(c))}[/cyan]")
        console.print("\n[bold]Outlets[/bold]  " + escape(" · ".join(
            f"{r['outlet']} {r['first'] or ''} {_md_cites(r['nums'])}".replace("  ", " ") for r in v["outlet_rows"])))
        sp = v["spread"]
        n_multi = len(sp.changed) + len(sp.verbatim)
        console.print(f"\n[bold]Quotes that changed[/bold] ({len(sp.changed)} of {n_multi} carried by several "
                      "articles; changes against the first report, biggest first)")
        for gv in sp.changed:
            _term_group(gv, num, console)
        if sp.verbatim:
            console.print(f"\n[bold]Quotes carried verbatim[/bold] ({len(sp.verbatim)})")
            for gv in sp.verbatim:
                console.print(f"  “{escape(statement_text(gv.group))}” [dim]{escape(gv.group.speaker or '')} · first "
                              f"{escape(_carrier(gv.first, num))}; also "
                              f"{escape(', '.join(_carrier(x, num) for x in gv.verbatim))}[/dim]")
    if v["kind"] == "story" and v["facts"]:
        shared = [k for k, f in enumerate(v["facts"]) if len(f.outlets) > 1][:20]
        t = Table(title="Coverage: facts reported by several outlets × outlet (articles)", show_lines=False)
        t.add_column("fact")
        for o in v["outlets"]:
            t.add_column(escape(o), justify="center", overflow="fold")
        for k in shared:
            f = v["facts"][k]
            t.add_row(f"{f.id} {escape(f.text[:70])}", *[("[bold blue]" + str(c["v"]) + "[/]") if c["v"] else "[dim]·[/]"
                                                         for c in v["heat"][k]])
        console.print(t)
        for o, fs in v["exclusive"].items():
            console.print(f"[bold]only {escape(o)}[/bold] ({len(fs)} facts):")
            for f in fs[:6]:
                console.print(f"  · {escape(f.text[:140])}")
        for o, fs in v["omitted"].items():
            console.print(f"[bold]{escape(o)} leaves out[/bold]: " + ", ".join(f.id for f in fs))
        for c, _f in v["conflicts"]:
            console.print(f"[red]conflict[/red] {c.kind} in {c.fact_id}:")
            for o, x in c.values.items():
                ev = "; ".join(c.evidence.get(o, []))
                console.print(f"  {escape(o)}: {escape(', '.join(x))}" + (f" [dim]— “{escape(ev)}”[/dim]" if ev else ""))
    console.print("\n[bold]Timeline[/bold]")
    for e in v["timeline"]:
        cites = "".join(f"[{num[a]}]" for a in e.articles if a in num)
        console.print(f"  {e.date}  {'[dim]' if e.kind == 'published' else ''}{escape(e.label)}"
                      f"{'[/dim]' if e.kind == 'published' else ''} [cyan]{escape(cites)}[/cyan]")
