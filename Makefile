# Two commands for a new machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint docs bench bench-postgres bench-media clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/qdn serve

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest

# The documentation site (mkdocs.yml, docs/) into site/. The settings page is generated from
# store/setting_declarations.py first; --strict makes a broken link or anchor an error (the suite
# builds it the same way: tests/test_docs.py).
docs: $(VENV)/.installed-test
	$(BIN)/python -m store.setting_declarations --write docs/settings.md
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# Prints each figure next to its baseline (docs/performance.md), one business and 20 sharing the
# same history side by side; numbers are never asserted. ~4 minutes (first run: +30 s of data).
# Needs wrk (apt-get install wrk) and 2 CPUs; perf, if present, counts fdatasyncs; data sets are
# cached in $${TMPDIR:-/tmp}/qdn-bench.
bench: $(VENV)/.installed-test
	$(BIN)/python bench/bench_webhook.py

# PostgreSQL (#15): 1 and 2 web processes on one database against bare Starlette and TinyDB, latency
# at 1k and 200k texts, round trips a request, 2 senders against the send-rate cap (docs/performance.md
# "PostgreSQL (#15)"). Needs wrk and a PostgreSQL server ($$QDN_TEST_POSTGRES_URL, as the tests). About
# 6 minutes; the first run also copies the data sets into template databases (qdn_bench_*, ~30 s).
bench-postgres: $(VENV)/.installed-test
	$(BIN)/python bench/bench_postgres.py

# Pictures (#18): webhook -> the dispatcher's relay for a customer's 3 MB picture, against a text alone.
bench-media: $(VENV)/.installed-test
	$(BIN)/python bench/bench_media.py

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts site
