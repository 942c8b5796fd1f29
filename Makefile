# Two entry points a fresh machine needs (Python 3.11+ and make):
#   make run   -- set everything up, ingest examples/ into the default warehouse
#   make test  -- set everything up, lint, type-check and run the tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2
# DuckDB 1.4.4 (upstream Egregora's pin) in a venv of its own: the storage-format
# tests open every file this project writes with it (docs/storage-format.md)
EGREGORA_DUCKDB_VENV := .cache/duckdb-1.4.4-venv
EGREGORA_DUCKDB_STAMP := $(EGREGORA_DUCKDB_VENV)/.installed-stamp

.PHONY: setup run test lint typecheck unit check-examples bench clean dagster-dev egregora-duckdb

$(STAMP): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements/constraints.txt -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

$(EGREGORA_DUCKDB_STAMP): requirements/egregora-duckdb.txt
	rm -rf $(EGREGORA_DUCKDB_VENV)
	$(PYTHON) -m venv $(EGREGORA_DUCKDB_VENV)
	$(EGREGORA_DUCKDB_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements/egregora-duckdb.txt
	touch $(EGREGORA_DUCKDB_STAMP)

egregora-duckdb: $(EGREGORA_DUCKDB_STAMP)

run: setup
	$(BIN)/egregora-pipeline ingest examples/

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

unit: setup egregora-duckdb
	$(BIN)/pytest -n $(PYTEST_WORKERS)

test: lint typecheck unit

# The UI on the project's instance (./dagster.yaml, storage in .dagster/): it shows
# the runs of `make run` and `egregora-pipeline ingest`. DAGSTER_HOME, if set, wins.
dagster-dev: setup
	$(BIN)/dagster dev -w workspace.yaml

bench: setup
	for script in benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache
