"""The ``storylens`` command line: a thin layer over :class:`storylens.Corpus`."""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import io
import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from storylens.model import article_contract, clusters_contract, to_jsonable

app = typer.Typer(help="storylens: one story, every outlet.  Multi-outlet news analysis.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
# piped output gets a wide fixed width so tables stay readable in files and logs
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else int(os.environ.get("COLUMNS", 160)), emoji=False)
err = Console(stderr=True, emoji=False)

DbOpt = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL or SQLite path (default: STORYLENS_DB or ./storylens.db)")]
SinceOpt = Annotated[str | None, typer.Option("--since", help="only from this date on (YYYY-MM-DD)")]


class Fmt(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


def _corpus(db: str | None) -> Any:
    from storylens.corpus import Corpus

    return Corpus(db)


def _fail(msg: str, code: int = 2) -> NoReturn:
    err.print(f"[red]error:[/red] {msg}")
    raise typer.Exit(code)


def _printed_as_json(obj: Any, fmt: Fmt) -> bool:
    """Print ``obj`` as JSON unless a table was asked for; True when printed."""
    if fmt == Fmt.table:
        return False
    out.print_json(json.dumps(obj, ensure_ascii=False))
    return True


def _check_date(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        _fail(f"--since/--until must be a date like 2021-06-14, not {value!r}")
    return value


def _emit_rows(rows: Sequence[dict[str, Any]], fmt: Fmt, columns: Sequence[str], title: str | None = None) -> None:
    if fmt == Fmt.json:
        out.print_json(json.dumps(rows, ensure_ascii=False, default=str))
    elif fmt == Fmt.jsonl:
        for r in rows:
            sys.stdout.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
    elif fmt == Fmt.csv:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: (json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v)
                        for k, v in r.items()})
        sys.stdout.write(buf.getvalue())
    else:
        t = Table(title=title, show_lines=False)
        for c in columns:
            t.add_column(c, overflow="fold")
        for r in rows:
            t.add_row(*[_cell(r.get(c)) for c in columns])
        out.print(t)


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, list):
        return ", ".join(str(x) for x in v)
    s = str(v)
    return s if len(s) <= 160 else s[:157] + "…"


# ---- ingest and articles ------------------------------------------------------------------------------------
@app.command()
def ingest(
    inputs: Annotated[list[str], typer.Argument(help="files, directories, URLs, feeds, or - for JSONL on stdin")],
    db: DbOpt = None,
    allow_private: Annotated[bool, typer.Option(help="allow fetching loopback/private addresses")] = False,
) -> None:
    """Read, clean, deduplicate, analyze and assign articles to stories, storing them."""
    c = _corpus(db)
    if allow_private:
        c.settings.ingest.allow_private_urls = True
    from rich.markup import escape

    from storylens.pipeline import IngestAborted

    aborted: IngestAborted | None = None
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=True) as progress:
        task = progress.add_task("ingesting", total=None)
        try:
            report = c.ingest(inputs, on_result=lambda r: progress.advance(task))
        except IngestAborted as e:
            aborted, report = e, e.report
    err.print(f"[bold]{report.summary()}[/bold]  (store: {escape(_shown_url(c.settings.db_url))})")
    for r in report.rejected:
        err.print(f"  [red]rejected[/red] {escape(r.source)}: {escape(str(r.reason))}")
    if aborted is not None:
        n = len(aborted.not_stored)
        err.print(f"[red]error:[/red] {escape(str(aborted.failure))}: the ingest stopped; {n} item{'s' * (n != 1)} "
                  "read and not stored (and the input after them not read):")
        for r in aborted.not_stored:
            err.print(f"  [red]not stored[/red] {escape(r.source)}")
        err.print(f"{aborted.advice()[0].upper()}{aborted.advice()[1:]}.")
        raise typer.Exit(3)
    if report.rejected:
        raise typer.Exit(1)


def _shown_url(url: str) -> str:
    """A store URL without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.command()
def articles(
    db: DbOpt = None,
    outlet: Annotated[str | None, typer.Option(help="only this outlet")] = None,
    since: SinceOpt = None,
    limit: Annotated[int, typer.Option(help="at most this many")] = 100,
    fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table,
) -> None:
    """List stored articles."""
    c = _corpus(db)
    rows = [{"id": a.id, "published": a.published.value, "outlet": a.outlet, "language": a.language,
             "title": a.title, "duplicate_of": a.duplicate_of, "quotes": len(a.quotes)}
            for a in c.articles(outlet=outlet, since=_check_date(since), limit=limit)]
    _emit_rows(rows, fmt, ["id", "published", "outlet", "language", "title", "duplicate_of", "quotes"], "articles")


@app.command()
def show(article_id: str, db: DbOpt = None,
         fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table) -> None:
    """Show one stored article: metadata, cleaned text, quotes and what cleaning removed."""
    c = _corpus(db)
    a = c.article(article_id)
    if a is None:
        _fail(f"no article with id {article_id!r} (see `storylens articles`)", 1)
    if _printed_as_json({**article_contract(a), "removed": to_jsonable(a.removed)}, fmt):
        return
    pub = a.published
    out.print(f"[bold]{a.title or '(no title)'}[/bold]")
    out.print(f"id {a.id} · outlet {a.outlet or 'unknown'} · language {a.language} · published "
              f"{pub.value or 'unknown'} ({pub.source}{', inferred' if pub.inferred else ''})"
              + (f" · duplicate of {a.duplicate_of}" if a.duplicate_of else ""))
    if pub.evidence:
        out.print(f"[dim]date evidence: {pub.evidence}[/dim]")
    out.print()
    out.print(a.text)
    if a.quotes:
        out.print()
        _emit_rows([_quote_row_from_article(a, q) for q in a.quotes], Fmt.table, ["kind", "speaker", "text"], "quotes")
    if a.removed:
        out.print(f"[dim]removed as page furniture: {'; '.join(repr(r.text) for r in a.removed)}[/dim]")


def _quote_row_from_article(a: Any, q: Any) -> dict[str, Any]:
    return {"kind": q.kind, "speaker": q.speaker.name or q.speaker.text if q.speaker else None, "text": q.text}


@app.command()
def analyze(
    inputs: Annotated[list[str], typer.Argument(help="files, directories, URLs, or - for JSONL on stdin")],
    fmt: Annotated[Fmt, typer.Option("--format", help="jsonl (the public contract) or json")] = Fmt.jsonl,
    allow_private: Annotated[bool, typer.Option(help="allow fetching loopback/private addresses")] = False,
) -> None:
    """Analyze articles without storing them; prints the JSON contract (one object per article)."""
    from storylens.pipeline import analyze_items
    from storylens.settings import Settings

    settings = Settings.from_env()
    settings.ingest.allow_private_urls = allow_private
    rejected: list[Any] = []

    def on_error(r: Any) -> None:
        rejected.append(r)
        err.print(f"[red]rejected[/red] {r.source}: {r.reason}")

    objs = (article_contract(a) for a in analyze_items(inputs, settings, on_error=on_error))
    if fmt == Fmt.json:
        sys.stdout.write(json.dumps(list(objs), ensure_ascii=False) + "\n")
    else:
        for o in objs:
            sys.stdout.write(json.dumps(o, ensure_ascii=False) + "\n")
            sys.stdout.flush()
    if rejected:
        raise typer.Exit(1)


@app.command()
def similarity(
    pairs: Annotated[Path, typer.Argument(help='JSONL of {"id", "a": {article}, "b": {article}} (articles in the input '
                                               "contract); - for stdin")],
    fmt: Annotated[Fmt, typer.Option("--format", help="jsonl (the public contract) or json")] = Fmt.jsonl,
) -> None:
    """Same story? For each pair of articles, the calibrated probability that they report the same event (the scorer
    that assigns stories) and the decision: {"id", "score", "same_story"} per line."""
    from rich.markup import escape

    from storylens.pipeline import score_pairs
    from storylens.settings import Settings

    rejected: list[Any] = []
    records: list[Any] = []
    text = sys.stdin.read() if str(pairs) == "-" else _read_text(pairs)
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as e:
            rejected.append(n)
            err.print(f"[red]rejected[/red] {pairs}#{n}: not JSON ({e.msg})")

    def on_error(r: Any) -> None:
        rejected.append(r)
        err.print(f"[red]rejected[/red] {escape(str(r.source))}: {escape(str(r.reason))}")

    scores = score_pairs(records, Settings.from_env(), on_error=on_error)
    objs = [{"id": s.id, "score": s.score, "same_story": s.same_story} for s in scores]
    if fmt == Fmt.json:
        sys.stdout.write(json.dumps(objs, ensure_ascii=False) + "\n")
    else:
        for o in objs:
            sys.stdout.write(json.dumps(o, ensure_ascii=False) + "\n")
    if rejected:
        raise typer.Exit(1)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        _fail(f"cannot read {path}: {e}", 2)


# ---- quotes and entities -------------------------------------------------------------------------------------
@app.command()
def quotes(
    db: DbOpt = None,
    speaker: Annotated[str | None, typer.Option(help="speaker name (part of it, any alias)")] = None,
    outlet: Annotated[str | None, typer.Option(help="only this outlet")] = None,
    since: SinceOpt = None,
    limit: Annotated[int | None, typer.Option(help="at most this many")] = None,
    fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table,
) -> None:
    """List quotes with their speakers and outlets."""
    c = _corpus(db)
    rows = [to_jsonable(q) for q in c.quotes(speaker=speaker, outlet=outlet, since=_check_date(since), limit=limit)]
    _emit_rows(rows, fmt, ["published", "outlet", "speaker", "kind", "text", "article_id"], "quotes")


@app.command()
def entities(
    db: DbOpt = None,
    type_: Annotated[str | None, typer.Option("--type", help="PERSON, ORG, GPE, LAW, ...")] = None,
    fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table,
) -> None:
    """List canonical entities across the store, with their aliases."""
    c = _corpus(db)
    counts = c.store.entity_article_counts()
    rows = [{"id": e.id, "name": e.name, "type": e.label, "aliases": e.aliases, "articles": counts.get(e.id, 0)}
            for e in c.entities(type=type_)]
    rows.sort(key=lambda r: (-r["articles"], r["name"]))
    _emit_rows(rows, fmt, ["name", "type", "articles", "aliases", "id"], "entities")


@app.command()
def entity(name: str, db: DbOpt = None, fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table) -> None:
    """One entity: its aliases (with the evidence of each merge), its articles and its quotes."""
    c = _corpus(db)
    info = c.entity(name)
    if info is None:
        _fail(f"no entity named {name!r} (see `storylens entities`)", 1)
    if _printed_as_json(to_jsonable(info), fmt):
        return
    e = info.entity
    out.print(f"[bold]{e.name}[/bold] ({e.label}) · id {e.id}")
    out.print(f"aliases: {' · '.join(e.aliases)}")
    for ev in e.evidence:
        out.print(f"  [dim]{ev}[/dim]")
    out.print(f"articles: {', '.join(info.articles)}")
    _emit_rows([to_jsonable(q) for q in info.quotes], Fmt.table, ["published", "outlet", "kind", "text"], "quotes")


# ---- stories -------------------------------------------------------------------------------------------------
@app.command()
def stories(
    db: DbOpt = None,
    since: SinceOpt = None,
    outlet: Annotated[str | None, typer.Option(help="only stories this outlet covered")] = None,
    fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table,
) -> None:
    """List stories: title, dates, outlets and article count."""
    c = _corpus(db)
    rows = [{"id": s.id, "first_seen": s.first_seen, "last_seen": s.last_seen, "articles": len(s.articles),
             "outlets": s.outlets, "title": s.title, "keywords": s.keywords}
            for s in c.stories(since=_check_date(since), outlet=outlet)]
    _emit_rows(rows, fmt, ["id", "first_seen", "last_seen", "articles", "outlets", "title"], "stories")


@app.command()
def story(
    story_id: str,
    db: DbOpt = None,
    fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table,
) -> None:
    """One story: articles by outlet and date, cited summary, quote groups and mutations, coverage, timeline."""
    c = _corpus(db)
    s = c.story(story_id)
    if s is None:
        _fail(f"no story with id {story_id!r} (see `storylens stories`)", 1)
    arts = c.articles(s.articles)
    comparison = c.compare(story_id)
    if _printed_as_json({"story": to_jsonable(s), "comparison": to_jsonable(comparison)}, fmt):
        return
    out.print(f"[bold]{s.title}[/bold]  ({s.id}, {s.first_seen} – {s.last_seen})")
    if s.keywords:
        out.print(f"[dim]keywords: {', '.join(s.keywords)}[/dim]")
    _emit_rows([{"published": a.published.value, "outlet": a.outlet or "unknown", "id": a.id, "title": a.title,
                 "duplicate_of": a.duplicate_of} for a in sorted(arts, key=lambda a: (str(a.published.value), a.id))],
               Fmt.table, ["published", "outlet", "id", "title", "duplicate_of"], "articles")
    if comparison is not None:
        from storylens.compare import render_terminal

        render_terminal(comparison, arts, out)


@app.command()
def narratives(db: DbOpt = None, fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table) -> None:
    """List narratives: stories linked across time by theme and actors."""
    c = _corpus(db)
    rows = [{"id": n.id, "title": n.title, "stories": n.stories, "keywords": n.keywords} for n in c.narratives()]
    _emit_rows(rows, fmt, ["id", "title", "stories", "keywords"], "narratives")


@app.command()
def check(db: DbOpt = None, limit: Annotated[int, typer.Option("--limit", min=1, help="items shown per broken invariant")] = 20,
          fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table) -> None:
    """Check the store's invariants (after a crash, a restart or a full disk): exit code 1 when one is broken."""
    c = _corpus(db)
    problems = c.check(limit)
    if fmt is Fmt.table:
        if problems:
            for p in problems:
                out.print(p)
        else:
            err.print(f"consistent: {c.store.count_articles()} articles in {c.store.count_stories()} stories")
    else:
        _emit_rows([{"problem": p} for p in problems], fmt, ["problem"], "problems")
    if problems:
        raise typer.Exit(1)


@app.command()
def recluster(db: DbOpt = None, since: SinceOpt = None) -> None:
    """Rebuild stories in batch (for back-fills), optionally only from a date on."""
    c = _corpus(db)
    n_articles, n_stories = c.recluster(_check_date(since))
    err.print(f"re-clustered {n_articles} articles into {n_stories} stories")


@app.command()
def cluster(
    inputs: Annotated[list[str], typer.Argument(help="files, directories, URLs, or - for JSONL on stdin")],
    fmt: Annotated[Fmt, typer.Option("--format", help="json (the public contract)")] = Fmt.json,
    allow_private: Annotated[bool, typer.Option(help="allow fetching loopback/private addresses")] = False,
) -> None:
    """Ingest into a temporary store and print stories and narratives (one-shot use).

    The whole input is known up front, so after the streaming ingest the stories are rebuilt by the batch
    re-clustering (as `storylens recluster` does for a back-fill), which sees every article at once."""
    _one_shot(inputs, allow_private, fmt, lambda c: clusters_contract(list(reversed(c.stories())),
                                                                      list(c.narratives())))


# ---- compare -------------------------------------------------------------------------------------------------
@app.command()
def spread(
    inputs: Annotated[list[str], typer.Argument(help="files, directories, URLs, or - for JSONL on stdin")],
    fmt: Annotated[Fmt, typer.Option("--format", help="json (the public contract)")] = Fmt.json,
    allow_private: Annotated[bool, typer.Option(help="allow fetching loopback/private addresses")] = False,
) -> None:
    """Ingest into a temporary store and print how each quote spread (one-shot use).

    Prints the stories (as `storylens cluster`, each with its cited summary) and every quote group carried by at
    least two articles: the statement as first reported, the first report, and each report's text, offsets into
    the `analyze` text, speaker and changes against the first report."""
    _one_shot(inputs, allow_private, fmt, lambda c: c.spread([s.id for s in reversed(c.stories())]))


def _one_shot(inputs: list[str], allow_private: bool, fmt: Fmt, result: Callable[[Any], Any]) -> None:
    """Ingest into a temporary store, re-cluster it in batch (the whole input is known), print ``result(corpus)``."""
    from storylens.corpus import Corpus

    with tempfile.TemporaryDirectory(prefix="storylens-") as tmp:
        c = Corpus(f"sqlite:///{tmp}/one-shot.db")
        c.settings.ingest.allow_private_urls = allow_private
        report = c.ingest(inputs, link=False)
        for r in report.rejected:
            err.print(f"[red]rejected[/red] {r.source}: {r.reason}")
        c.recluster()
        obj = result(c)
        c.close()
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=None if fmt == Fmt.jsonl else 1) + "\n")


@app.command()
def quote(group_id: str, db: DbOpt = None, fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table) -> None:
    """One quote group: the statement's spread across outlets, with every variant's changes."""
    c = _corpus(db)
    g = c.quote_group(group_id)
    if g is None:
        _fail(f"no quote group {group_id!r} (quote groups are listed by `storylens story ID`)", 1)
    if _printed_as_json(g, fmt):
        return
    _print_quote_group(g)


def _print_quote_group(g: dict[str, Any]) -> None:
    """A quote group in the terminal: the statement as first reported, then each later report as carried, with its
    changes against the first report marked over it."""
    from rich.markup import escape

    from storylens.compare.present import LABEL, diff_parts, group_view, statement_text
    from storylens.compare.report import parts_markup
    from storylens.model import QuoteGroup, from_jsonable

    gv = group_view(from_jsonable(QuoteGroup, g))
    group = gv.group
    out.print(f"[bold]{escape(group.speaker or 'unknown speaker')}[/bold]: “{escape(statement_text(group))}”")
    out.print(f"[dim]first reported by {escape(group.first_outlet or 'unknown')} "
              f"({group.first_published or 'no date'}) · {gv.n_articles} articles[/dim]")
    for v in sorted(group.variants, key=lambda v: v is not gv.first):  # the first report, then in order
        changes = ", ".join(LABEL.get(m, m) for m in v.mutations)
        first = " · first report" if v is gv.first else ""
        out.print(f"\n[bold]{escape(v.outlet or 'unknown outlet')}[/bold] {v.published or ''} "
                  f"· {escape(v.article_id)} · [cyan]{escape(changes)}[/cyan]{first}")
        out.print("  “" + parts_markup(diff_parts(v), plain=not out.is_terminal) + "”")
        if v.details:
            out.print(f"  [dim]{escape('; '.join(v.details))}[/dim]")


@app.command()
def report(
    target: Annotated[str, typer.Argument(help="a story id or a narrative id")],
    output: Annotated[Path, typer.Option("-o", "--output", help="report.html, report.md or report.json")],
    db: DbOpt = None,
) -> None:
    """Write a self-contained report of a story or narrative (HTML, Markdown or JSON, by extension)."""
    c = _corpus(db)
    fmt = output.suffix.lstrip(".").lower()
    if fmt not in ("html", "md", "json"):
        _fail("the report file must end in .html, .md or .json")
    try:
        text = c.report(target, fmt)
    except KeyError as e:
        _fail(str(e.args[0]), 1)
    output.write_text(text, encoding="utf-8")
    err.print(f"wrote {output}")


# ---- demo ----------------------------------------------------------------------------------------------------
@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="where the demo store and reports go")] = Path("demo-output"),
    corpus: Annotated[Path, typer.Option(help="the example corpus")] = Path("examples/corpus"),
    serve: Annotated[bool, typer.Option(help="serve the web app on the demo store when done")] = True,
    port: Annotated[int, typer.Option(help="port of the web app")] = 8000,
) -> None:
    """Run the whole pipeline on the bundled example corpus, write reports, then serve the web app."""
    from storylens.corpus import Corpus

    if not corpus.exists():
        _fail(f"example corpus not found at {corpus} (run from the repository root or pass --corpus)")
    out_dir.mkdir(parents=True, exist_ok=True)
    db_path = out_dir / "storylens.db"
    c = Corpus(f"sqlite:///{db_path}")
    report_ = c.ingest([str(corpus)])
    err.print(f"[bold]{report_.summary()}[/bold]")
    for r in report_.rejected:
        err.print(f"  [red]rejected[/red] {r.source}: {r.reason}")
    story_list = c.stories()
    _emit_rows([{"id": s.id, "first_seen": s.first_seen, "articles": len(s.articles), "outlets": s.outlets,
                 "title": s.title} for s in story_list], Fmt.table,
               ["id", "first_seen", "articles", "outlets", "title"], "stories")
    written = []
    for s in story_list:
        for ext in ("html", "md"):
            p = out_dir / f"report-{s.id}.{ext}"
            p.write_text(c.report(s.id, ext), encoding="utf-8")
            written.append(p)
    for n in c.narratives():
        p = out_dir / f"report-{n.id}.html"
        p.write_text(c.report(n.id, "html"), encoding="utf-8")
        written.append(p)
    (out_dir / "stories.json").write_text(json.dumps(clusters_contract(story_list, list(c.narratives())),
                                                     ensure_ascii=False, indent=1), encoding="utf-8")
    c.close()
    err.print(f"\nstore: {db_path}\nreports: {', '.join(str(p) for p in written)}\nstories: {out_dir / 'stories.json'}")
    if serve:
        try:
            serve_mod = importlib.import_module("storylens.api.server")
        except ModuleNotFoundError:
            err.print("(the web app is not installed in this build)")
            return
        err.print(f"serving the web app on http://127.0.0.1:{port}/  (Ctrl-C to stop)")
        serve_mod.run(f"sqlite:///{db_path}", host="127.0.0.1", port=port)


def _register_plugins() -> None:
    """Commands that live with their subsystem: serve/watch (api), spark/load (spark)."""
    for name in ("storylens.api.commands", "storylens.spark.commands"):
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
            continue
        mod.register(app)


_register_plugins()


def main() -> None:
    logging.basicConfig(level=os.environ.get("STORYLENS_LOG", "WARNING"), format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as e:  # noqa: BLE001 - a user never sees a bare traceback
        from storylens.store.faults import store_failure

        failure = store_failure(e, os.environ.get("STORYLENS_DB", ""))
        if failure is not None:  # a full disk, a lost server: said in words, with what became of the store
            err.print(f"[red]error:[/red] {failure}: the write under way was rolled back; run the command again "
                      "once this is solved")
        else:
            err.print(f"[red]error:[/red] {type(e).__name__}: {e}")
        if os.environ.get("STORYLENS_DEBUG"):
            raise
        sys.exit(2)


if __name__ == "__main__":
    main()
