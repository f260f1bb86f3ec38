# segwarehouse: the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pip on these machines warns about every missing local index folder; keep real errors visible
PIP_FILTER := grep -v "is ignored: it is neither a file nor a directory" || true

.DEFAULT_GOAL := help
.PHONY: help install demo test lint bench bench-api clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing segwarehouse and its stack (with the Spark extra) into $(VENV) (a few minutes on a fresh machine)"
	@set -o pipefail; $(BIN)/pip install -q --disable-pip-version-check -e ".[dev,spark]" 2>&1 | $(PIP_FILTER)
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install everything

demo: $(STAMP) ## generate data and run the whole pipeline end to end on the embedded DuckDB
	$(BIN)/segwarehouse demo

# DuckDB's Python binding prints a harmless nanobind leak report at interpreter exit; keep it out of the log
NANOBIND_NOISE := ^(nanobind: | - leaked | - \.\.\. skipped|See https://nanobind)

# one worker per core; a module's tests stay on one worker (its module-scoped fixtures are built once)
TEST_WORKERS ?= 2

test: $(STAMP) ## lint, check the import layers and run the full test suite
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --durations=25 2> >(grep -v -E '$(NANOBIND_NOISE)' >&2)

bench: $(STAMP) ## run the benchmarks (not part of the tests); BENCH_API=1 adds the segment API stage
	$(BIN)/python -m benchmarks.run
	@if [ -n "$(BENCH_API)" ]; then $(BIN)/python -m benchmarks.api_bench; fi

bench-api: $(STAMP) ## benchmark the segment lookup API alone (1M persons, 32 clients, during a publish too)
	$(BIN)/python -m benchmarks.api_bench

clean: ## remove generated data and build output (keeps .venv)
	rm -rf data var dbt_project/target dbt_project/logs
