"""Creating a Spark session for storylens (local mode for tests and laptops, any master for clusters)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def spark_session(master: str | None = "local[2]", app_name: str = "storylens", partitions: int | None = None,
                  conf: dict[str, str] | None = None) -> SparkSession:
    """A session whose Python workers run this interpreter (so executors import the same ``storylens``).

    ``master=None`` keeps whatever ``spark-submit`` configured.  Python workers are reused across tasks
    (``spark.python.worker.reuse``), which is what keeps models loaded once per executor process.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:  # pragma: no cover - depends on the install
        raise RuntimeError("PySpark is not installed: pip install 'storylens[spark]'") from e
    if master is not None:  # local mode: workers must use this interpreter, not whatever `python3` is on PATH
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    b = SparkSession.builder.appName(app_name)
    if master is not None:
        b = b.master(master)
    settings = {
        "spark.python.worker.reuse": "true",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.compression.codec": "zstd",
        "spark.driver.memory": os.environ.get("STORYLENS_SPARK_DRIVER_MEMORY", "2g"),
    }
    if partitions:
        settings["spark.sql.shuffle.partitions"] = str(partitions)
        settings["spark.default.parallelism"] = str(partitions)
    settings.update(conf or {})
    for k, v in settings.items():
        b = b.config(k, v)
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("STORYLENS_SPARK_LOG_LEVEL", "WARN"))
    return spark
