"""The Spark session's properties come from ``SHAREGUARD_SPARK_*`` (no JVM needed here)."""

from __future__ import annotations

import pytest

from shareguard.matching.spark import SparkSettings, properties


def test_defaults_are_a_small_local_session() -> None:
    props = properties(SparkSettings(), jar="splink.jar")
    assert props["spark.master"] == "local[2]"
    assert props["spark.driver.memory"] == "2g"
    assert props["spark.sql.shuffle.partitions"] == "4"
    assert props["spark.jars"] == "splink.jar"
    assert "spark.local.dir" not in props


def test_the_environment_configures_a_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHAREGUARD_SPARK_MASTER", "spark://matching-head:7077")
    monkeypatch.setenv("SHAREGUARD_SPARK_DRIVER_MEMORY", "6g")
    monkeypatch.setenv("SHAREGUARD_SPARK_EXECUTOR_MEMORY", "16g")
    monkeypatch.setenv("SHAREGUARD_SPARK_SHUFFLE_PARTITIONS", "400")
    monkeypatch.setenv("SHAREGUARD_SPARK_LOCAL_DIRS", "/scratch/a,/scratch/b")
    monkeypatch.setenv("SHAREGUARD_SPARK_CONF", '{"spark.executor.cores": "4"}')
    props = properties(SparkSettings(), jar="splink.jar")
    assert props["spark.master"] == "spark://matching-head:7077"
    assert props["spark.driver.memory"] == "6g"
    assert props["spark.executor.memory"] == "16g"
    assert props["spark.sql.shuffle.partitions"] == props["spark.default.parallelism"] == "400"
    assert props["spark.local.dir"] == "/scratch/a,/scratch/b"
    assert props["spark.executor.cores"] == "4"


def test_under_spark_submit_the_command_line_keeps_master_and_driver_memory() -> None:
    props = properties(SparkSettings(), jar="splink.jar", submitted=True)
    assert "spark.master" not in props and "spark.driver.memory" not in props
    chosen = SparkSettings(master="yarn", driver_memory="8g")
    props = properties(chosen, jar="splink.jar", submitted=True)
    assert props["spark.master"] == "yarn" and props["spark.driver.memory"] == "8g"
