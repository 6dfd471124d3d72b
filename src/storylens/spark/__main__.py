"""``spark-submit``-able entry point (``spark-submit`` takes a file, not ``-m``)::

    spark-submit --master yarn --archives storylens-env.tar.gz#env --conf spark.pyspark.python=./env/bin/python \
        env/lib/python3.11/site-packages/storylens/spark/__main__.py INPUT... --out DIR [--partitions N]

or ``python -m storylens.spark INPUT --out DIR --master local[4]``.  Under spark-submit the master comes from
spark-submit itself (``--master`` here defaults to none).  See docs/spark.md.
"""

from __future__ import annotations

import sys

import typer

from storylens.spark.commands import spark


def main(argv: list[str] | None = None) -> None:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(spark)
    args = list(sys.argv[1:] if argv is None else argv)
    if not any(a == "--master" or a.startswith("--master=") for a in args):
        args += ["--master", "submit"]
    app(args, prog_name="storylens-spark")


if __name__ == "__main__":
    main()
