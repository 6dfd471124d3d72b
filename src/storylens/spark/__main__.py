"""``spark-submit``-able entry point::

    spark-submit --master yarn --py-files storylens.zip -m storylens.spark INPUT --out DIR   # (PySpark >= 3.x:
    spark-submit ... $(python -c 'import storylens.spark.__main__ as m; print(m.__file__)') INPUT --out DIR)

Under spark-submit the master comes from spark-submit itself (``--master`` here defaults to none).
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
