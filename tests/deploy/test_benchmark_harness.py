"""The `make bench` harness: measuring a real process tree, reading the build summary, the markdown report."""
from __future__ import annotations

import json
import sys

from benchmarks.measure import Measurement, median_of, run_measured
from benchmarks.run import slowest_dbt_nodes, to_markdown


def test_run_measured_reports_time_cpu_memory_and_output():
    # the child spins until it has used 0.5 s of CPU itself (not of wall time), so a loaded machine that
    # gives it fewer cycles stretches its wall time instead of failing the CPU assertion
    code = "import time; x = bytearray(200 * 2**20)\nwhile time.process_time() < 0.5: pass\nprint('done')"
    m = run_measured("busy child", [sys.executable, "-c", code], interval=0.02)
    assert m.seconds >= 0.5
    assert m.cpu_seconds >= 0.45  # the child's spin is counted
    assert m.peak_rss_mb >= 200  # the 200 MB buffer was seen in the sampled RSS
    assert m.output.strip() == "done"
    assert "output" not in m.as_dict()


def test_slowest_nodes_come_from_the_build_summary_printed_last():
    summary = {"as_of_date": "2026-03-01", "nodes": {"success": 3},
               "slowest": [{"name": "int_person_web_activity", "type": "model", "status": "success", "seconds": 6.2,
                            "message": "OK", "failures": None},
                           {"name": "unique_x", "type": "test", "status": "pass", "seconds": 1.1,
                            "message": "", "failures": 0}]}
    output = "12:00:01  Running with dbt=1.11\n{ not the summary }\n" + json.dumps(summary, indent=2) + "\n"
    assert slowest_dbt_nodes(output) == [{"name": "int_person_web_activity", "type": "model", "seconds": 6.2},
                                         {"name": "unique_x", "type": "test", "seconds": 1.1}]
    assert slowest_dbt_nodes("dbt crashed, no summary") == []


def test_markdown_lists_stages_targets_and_slowest_nodes():
    report = {"machine": {"cpus": 2, "memory_gib": 23.5, "platform": "Linux", "python": "3.11", "duckdb": "2.0"},
              "scales": [{"users": 1000, "days": 10, "events": 20000, "persons": 1100, "data_reused": False,
                          "stages": [{"stage": "dbt full build", "seconds": 12.34, "peak_rss_mb": 900, "rows": 20000,
                                      "rows_per_s": 1621, "cpu_seconds": 20.0, "load_avg": 1.2},
                                     {"stage": "dbt incremental day", "seconds": 3.1, "peak_rss_mb": 700, "rows": None,
                                      "rows_per_s": None, "cpu_seconds": 5.0, "load_avg": 1.1,
                                      "runs": [3.4, 2.9, 3.1]}], "repeat": 3,
                          "slowest_dbt_nodes": {"dbt full build": [{"name": "base_web__event_lines", "type": "model",
                                                                    "seconds": 4.0}]},
                          "targets": {"dbt full build <= 60 s": True, "score <= 10 s": False}}]}
    md = to_markdown(report)
    assert "| dbt full build | 12.3 | 20.0 | 1,621 | 900 | 1.2 |  |" in md
    assert "| dbt incremental day | 3.1 | 5.0 |  | 700 | 1.1 | 3.4 / 2.9 / 3.1 |" in md
    assert "ran 3 times" in md
    assert "- dbt full build: base_web__event_lines 4.0 s" in md
    assert "| score <= 10 s | **no** |" in md


def test_repeated_runs_report_the_median_run_and_the_largest_peak():
    runs = [Measurement("day", 31.0, 900.0, cpu_seconds=47.0, load_avg=1.5, output="a"),
            Measurement("day", 29.5, 1200.0, cpu_seconds=45.0, load_avg=1.2, output="b"),
            Measurement("day", 40.2, 800.0, cpu_seconds=60.0, load_avg=2.9, output="c")]
    m = median_of(runs)
    assert (m.seconds, m.cpu_seconds, m.load_avg, m.output) == (31.0, 47.0, 1.5, "a")
    assert m.peak_rss_mb == 1200.0
    assert m.as_dict()["runs"] == [31.0, 29.5, 40.2]
    # an even count takes the faster of the two middle runs; one run reports no list
    assert median_of(runs[:2]).seconds == 29.5
    assert median_of(runs[:1]).runs is None


def test_api_benchmark_report_states_the_target_and_every_phase():
    from benchmarks.api_bench import to_markdown as api_markdown

    phase = {"offered_rps": None, "rps": 2500, "p50_ms": 3.1, "p90_ms": 6.0, "p99_ms": 12.5, "max_ms": 40.0,
             "errors": 0, "server_cpu_us_per_request": 310}
    paced = {**phase, "offered_rps": 2000.0, "rps": 1998, "p99_ms": 8.2}
    during = {**paced, "p99_ms": 60.0, "publishes": 1}
    report = {"machine": {"cpus": 2, "memory_gib": 23.5}, "load_before": 0.4, "workers": 2, "clients": 32,
              "runs": [{"persons": 1_000_000, "keys": 3_400_000, "serving_bytes": 300 * 2**20, "warehouse_build_s": 20.0,
                        "publish_s": 40.0, "api_ready_s": 12.0,
                        "phases": {"saturation": phase, "paced 2,000/s": paced,
                                   "paced 2,000/s during a publish": during}}]}
    md = api_markdown(report)
    assert "### 1,000,000 persons, 3,400,000 keys; serving file 300 MB" in md
    assert "| saturation | as fast as answered | 2,500 | 3.1 | 6.0 | 12.5 | 40.0 | 0 | 310 |" in md
    assert "| paced 2,000/s during a publish | 2000.0 | 1,998 | 3.1 | 6.0 | 60.0 | 40.0 | 0 | 310 |" in md
    assert "Target p99 <= 10 ms at >= 2,000 req/s: met (p99 8.2 ms at 1,998 req/s)." in md
    report["runs"][0]["phases"]["paced 2,000/s"]["p99_ms"] = 11.0
    assert "**missed**" in api_markdown(report)
