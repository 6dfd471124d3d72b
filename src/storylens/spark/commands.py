"""``storylens spark INPUT... --out DIR`` and ``storylens load DIR``: registered on the main CLI by ``cli.py``."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console

err = Console(stderr=True)


def spark(
    inputs: Annotated[list[str], typer.Argument(help="JSONL / Parquet / WARC / text / HTML files or directories, "
                                                     "local paths or any Hadoop URI (hdfs://, s3a://, gs://)")],
    out: Annotated[str, typer.Option("--out", help="output directory (local or a Hadoop URI) for the Parquet tables")],
    master: Annotated[str | None, typer.Option(help="Spark master; omit under spark-submit")] = "local[2]",
    partitions: Annotated[int | None, typer.Option(help="partitions for the per-article stages "
                                                       "(default: 2 x the cores)")] = None,
    report_json: Annotated[bool, typer.Option("--json", help="print the run report as JSON on stdout")] = False,
) -> None:
    """Run the whole pipeline on Spark; write articles, quotes, entities, stories, quote_groups and errors as Parquet."""
    from storylens.settings import Settings
    from storylens.spark.runner import SparkOptions, run
    from storylens.spark.session import spark_session

    session = spark_session(None if master in (None, "", "submit") else master, partitions=partitions)
    try:
        report = run(session, inputs, out, Settings.from_env(),
                     SparkOptions(partitions=partitions))
    finally:
        session.stop()
    err.print(f"[bold]{report.summary()}[/bold]")
    err.print("seconds per stage: " + ", ".join(f"{k} {v}" for k, v in report.seconds.items()))
    if report_json:
        sys.stdout.write(json.dumps({"out": report.out, "counts": report.counts, "seconds": report.seconds}) + "\n")


def load(
    directory: Annotated[str, typer.Argument(help="the --out directory of `storylens spark`")],
    db: Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL or SQLite path "
                                                        "(default: STORYLENS_DB or ./storylens.db)")] = None,
    batch_size: Annotated[int, typer.Option(help="articles per transaction")] = 500,
    narratives: Annotated[bool, typer.Option(help="link narratives over the loaded stories")] = True,
) -> None:
    """Load the Parquet tables of `storylens spark` into a store, so the web app serves them."""
    from storylens.settings import Settings
    from storylens.spark.load import link_narratives
    from storylens.spark.load import load as load_tables
    from storylens.store import Store

    settings = Settings.from_env()
    url = settings.db_url if db is None else (db if "://" in db else f"sqlite:///{db}")
    store = Store(url)
    try:
        report = load_tables(directory, store, batch_size=batch_size)
    except FileNotFoundError as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    n = link_narratives(store) if narratives else 0
    store.close()
    err.print(f"[bold]{report.summary()}[/bold], {n} narratives  (store: {url})")


def register(app: typer.Typer) -> None:
    app.command("spark")(spark)
    app.command("load")(load)
