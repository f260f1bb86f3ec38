"""The dbt project on Apache Spark (dbt-spark, session method, local pyspark) builds the same marts as on
DuckDB for the same landing zone. Real engines on both sides; needs the `spark` extra and Java 17."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devtools.engine_parity import PARITY_TABLES, compare_table, read_duckdb_table, read_spark_table
from devtools.generator import GeneratorConfig, generate
from segwarehouse.core.paths import Paths

pytestmark = [pytest.mark.slow, pytest.mark.spark]

SPARK_DATA = GeneratorConfig(users=300, days=14, seed=11)


def _spark_ready() -> str | None:
    """Why the Spark stack is unusable here (None = usable)."""
    try:
        import dbt.adapters.spark  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError as exc:
        return f"spark extra not installed ({exc.name}); pip install -e '.[spark]'"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (apt-get install openjdk-17-jre-headless)"
    return None


def _skip_or_fail(reason: str) -> None:
    # CI sets SEGWAREHOUSE_REQUIRE_SPARK=1 (.ci/run): there a missing Spark stack is a failure, not a skip
    if os.environ.get("SEGWAREHOUSE_REQUIRE_SPARK") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def both_engines(tmp_path_factory) -> tuple[Paths, Path, float]:
    """One landing zone built into DuckDB (dbt_runner) and into Spark (dbt CLI, target spark)."""
    reason = _spark_ready()
    if reason:
        _skip_or_fail(reason)
    from segwarehouse.warehouse.dbt import run_dbt

    data = tmp_path_factory.mktemp("spark_parity")
    generate(SPARK_DATA, data / "raw", data / "truth")
    paths = Paths(home=Path(__file__).resolve().parents[2], data=data)
    run_dbt(["seed"], paths=paths)
    run_dbt(["run"], paths=paths)

    warehouse = data / "spark" / "warehouse"
    # Spark lists the same files as DuckDB: from the file ledger, exported as the docs say
    ledger = data / "file_ledger.parquet"
    scan_env = {**{k: v for k, v in os.environ.items() if not k.startswith("SEGWAREHOUSE_")},
                "SEGWAREHOUSE_DATA": str(data)}
    scan = subprocess.run([sys.executable, "-m", "segwarehouse.cli.main", "landing", "scan", "--parquet", str(ledger)],
                          env=scan_env, capture_output=True, text=True, timeout=300, check=False)
    assert scan.returncode == 0, scan.stderr[-2000:]
    env = {
        **os.environ,
        "SEGWAREHOUSE_LEDGER_PARQUET": str(ledger),
        "SEGWAREHOUSE_RAW": str(paths.raw),
        "SEGWAREHOUSE_SPARK_WAREHOUSE": str(warehouse),
        "SEGWAREHOUSE_SPARK_MASTER": "local[2]",
        "SEGWAREHOUSE_SPARK_DRIVER_MEMORY": "2g",
        "SEGWAREHOUSE_SPARK_SHUFFLE_PARTITIONS": "2",
        "DBT_TARGET_PATH": str(data / "dbt_target_spark"),
        "DBT_LOG_PATH": str(data / "dbt_logs_spark"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    dbt = Path(sys.executable).with_name("dbt")
    started = time.perf_counter()
    # one dbt process (one JVM): seeds and models; the project's data tests run on DuckDB
    proc = subprocess.run(
        [str(dbt), "build", "--target", "spark", "--resource-type", "seed", "--resource-type", "model",
         "--project-dir", str(paths.dbt_project), "--profiles-dir", str(paths.dbt_project)],
        cwd=data, env=env, capture_output=True, text=True, timeout=1800, check=False,
    )
    seconds = time.perf_counter() - started
    _fail_on_error(proc, "dbt build")
    # a second run of the person map replaces an existing table (Spark copies the previous mapping aside
    # first, for person_id_history); DuckDB runs it again too (incrementally: nothing changed)
    proc = subprocess.run(
        [str(dbt), "run", "--target", "spark", "--select", "int_person_map", "person_id_history",
         "--project-dir", str(paths.dbt_project), "--profiles-dir", str(paths.dbt_project)],
        cwd=data, env=env, capture_output=True, text=True, timeout=900, check=False,
    )
    _fail_on_error(proc, "dbt run of the person map")
    run_dbt(["run", "--select", "int_person_map", "person_id_history"], paths=paths)
    return paths, warehouse, seconds


def _fail_on_error(proc: subprocess.CompletedProcess, what: str) -> None:
    if proc.returncode != 0:
        tail = "\n".join(line for line in proc.stdout.splitlines() if "ERROR" in line or "Error" in line)[-4000:]
        pytest.fail(f"{what} on Spark failed (rc {proc.returncode}):\n{tail}")


@pytest.mark.parametrize("table", list(PARITY_TABLES))
def test_spark_table_equals_duckdb(both_engines, table):
    paths, warehouse, seconds = both_engines
    duck = read_duckdb_table(paths.warehouse, table)
    spark = read_spark_table(warehouse, "segwarehouse", table)
    diff = compare_table(duck, spark, table, PARITY_TABLES[table])
    print(f"{table}: duckdb {diff.rows_duckdb} rows, spark {diff.rows_spark} rows "
          f"(spark build {seconds:.0f} s)")
    assert diff.rows_duckdb > 0
    assert diff.missing_columns == []
    assert diff.only_duckdb == []
    assert diff.only_spark == []
    assert diff.column_mismatches == {}
    assert diff.rows_duckdb == diff.rows_spark
