# The README's two commands: `make demo` and `make test`. Both build everything they need from nothing;
# `make test` runs the linters (ruff check, ruff format --check, mypy) before the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test venv lint bench clean-node

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/system-deps.sh
	bash scripts/system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@test -f .env || cp .env.example .env
	touch $@

demo: venv
	$(BIN)/siem demo

test: lint
	$(BIN)/siem opensearch up
	$(BIN)/python -m pytest

lint: venv
	$(BIN)/ruff check dagster_project tests benchmarks
	$(BIN)/ruff format --check dagster_project tests benchmarks
	$(BIN)/mypy dagster_project

bench: venv
	$(BIN)/siem opensearch up
	$(BIN)/python benchmarks/ingest.py

clean-node:
	-$(BIN)/siem opensearch down
