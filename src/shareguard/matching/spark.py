"""The Spark session a match run links on, configured by ``SHAREGUARD_SPARK_*``.

``--backend spark`` links in this process on the session ``session()`` builds: ``local[2]`` by
default, or a standalone cluster (``SHAREGUARD_SPARK_MASTER=spark://host:7077``, client mode:
this process is the driver). Under ``spark-submit`` (``shareguard.matching.spark_submit``) the
submit command's own settings win and only what is set here is added. pyspark is imported only
when a session is built (it is an extra, and slow to import).
"""

from __future__ import annotations

import tempfile
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict

from shareguard.errors import InvalidInput


class SparkSettings(BaseSettings):
    """Spark knobs for matching; each maps onto one Spark property (docs/matching.md §7)."""

    model_config = SettingsConfigDict(env_prefix="SHAREGUARD_SPARK_", env_file=None, extra="ignore")

    #: ``spark.master``: ``local[2]``, ``local[*]``, ``spark://host:7077``, ``yarn``, ...
    #: Under spark-submit the command's ``--master`` wins unless this is set.
    master: str = "local[2]"
    #: ``spark.driver.memory`` (only takes effect when this process starts the JVM; under
    #: spark-submit, ``--driver-memory`` wins unless this is set).
    driver_memory: str = "2g"
    #: ``spark.executor.memory``; empty: Spark's default.
    executor_memory: str = ""
    #: ``spark.sql.shuffle.partitions`` and ``spark.default.parallelism``: a few per core.
    shuffle_partitions: int = 4
    #: ``spark.local.dir``: shuffle and spill files (comma-separated folders); empty: Spark's.
    local_dirs: str = ""
    #: Where Splink checkpoints between steps; empty: a new temporary folder.
    checkpoint_dir: str = ""
    #: Any other Spark properties, as JSON: ``{"spark.executor.cores": "4"}``.
    conf: dict[str, str] = {}


def properties(settings: SparkSettings, *, jar: str, submitted: bool = False) -> dict[str, str]:
    """The Spark properties a session gets (pure, so that it is testable without a JVM).

    ``submitted``: under spark-submit the command line already set the master and the driver's
    memory (the JVM is running), so those are left to it unless set explicitly here.
    """
    props: dict[str, str] = {
        "spark.jars": jar,  # Splink's similarity functions (Jaro-Winkler, ...)
        "spark.sql.shuffle.partitions": str(settings.shuffle_partitions),
        "spark.default.parallelism": str(settings.shuffle_partitions),
        "spark.ui.enabled": "false",
    }
    chosen = settings.model_fields_set  # set in the environment or by the caller
    if settings.master and (not submitted or "master" in chosen):
        props["spark.master"] = settings.master
    if not submitted or "driver_memory" in chosen:
        props["spark.driver.memory"] = settings.driver_memory
    if settings.executor_memory:
        props["spark.executor.memory"] = settings.executor_memory
    if settings.local_dirs:
        props["spark.local.dir"] = settings.local_dirs
    props.update(settings.conf)
    return props


def session(
    app_name: str = "shareguard-matching",
    settings: SparkSettings | None = None,
    *,
    submitted: bool = False,
) -> Any:
    """A Spark session for Splink, configured by ``settings`` (default: the environment)."""
    try:
        from pyspark.sql import SparkSession
        from splink.backends.spark import similarity_jar_location
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise InvalidInput(
            "the Spark backend needs pyspark: pip install 'shareguard[spark]'", field="backend"
        ) from exc
    settings = settings or SparkSettings()
    builder = SparkSession.builder.appName(app_name)
    for key, value in properties(
        settings, jar=similarity_jar_location(), submitted=submitted
    ).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    checkpoints = settings.checkpoint_dir or tempfile.mkdtemp(prefix="shareguard-spark-")
    spark.sparkContext.setCheckpointDir(checkpoints)
    spark.sparkContext.setLogLevel("ERROR")
    return spark
