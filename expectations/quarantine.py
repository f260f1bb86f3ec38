"""Suites on the share of landed lines that staging quarantined, per source and per file.

A source whose lines are all (or mostly) rejected is a broken export, not a quiet day: staging keeps the
warehouse clean by quarantining them, so without these checks the gate would pass on an empty source. They run
on small frames DuckDB computes from the base models (one row per source / per file, `rejected_share` 0..1).
"""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

QUARANTINE_TABLE = "int_source_load_audit"
SOURCE_ROW_IDS = ("source_name",)
FILE_ROW_IDS = ("source_name", "source_file")


def source_quarantine_suite(max_share: float) -> gx.ExpectationSuite:
    """Per delivered source with lines: share of its lines rejected <= max_share."""
    suite = gx.ExpectationSuite("source_quarantine_suite")
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(
        column="rejected_share", min_value=0, max_value=max_share,
        meta={"column": "source_name", "metric": "share of the source's lines quarantined"}))
    return suite


def file_quarantine_suite(max_share: float) -> gx.ExpectationSuite:
    """Per landed file loaded since the last passing run: share of its lines rejected <= max_share."""
    suite = gx.ExpectationSuite("file_quarantine_suite")
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(
        column="rejected_share", min_value=0, max_value=max_share,
        meta={"column": "source_file", "metric": "share of the file's lines quarantined"}))
    return suite
