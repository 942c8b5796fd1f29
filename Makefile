# Two entry points a fresh machine needs (Python 3.11+ and make):
#   make run   -- set everything up, ingest examples/ into the default warehouse
#   make test  -- set everything up, lint, type-check and run the tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2

.PHONY: setup run test lint typecheck unit check-examples bench clean dagster-dev

$(STAMP): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements/constraints.txt -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/egregora-pipeline ingest examples/

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest -n $(PYTEST_WORKERS)

test: lint typecheck unit

# The UI on the project's instance (./dagster.yaml, storage in .dagster/): it shows
# the runs of `make run` and `egregora-pipeline ingest`. DAGSTER_HOME, if set, wins.
dagster-dev: setup
	$(BIN)/dagster dev -w workspace.yaml

bench: setup
	for script in benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
