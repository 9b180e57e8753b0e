# Two commands for a new machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint docs bench bench-pg-statements bench-history bench-postgres bench-media bench-inbox clean

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

# A worker per core (pytest-xdist), each test file on one worker: a file's module-scoped servers
# start once. PYTEST_WORKERS=0 runs it in one process. PostgreSQL tests need QDN_TEST_POSTGRES_URL.
PYTEST_WORKERS ?= auto
# The tests' files go to tmpfs where it has room (>= 1 GB free): the store fsyncs every write, which
# on a disk only costs the suite time (no test cuts the power; the full-disk test mounts its own).
TEST_TMPDIR ?= $(shell [ "$$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 {print $$4}')" -ge 1048576 ] 2>/dev/null \
	&& echo /dev/shm || echo "$${TMPDIR:-/tmp}")
test: lint
	TMPDIR=$(TEST_TMPDIR) $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile

# The documentation site (mkdocs.yml, docs/) into site/. The settings page is generated from
# config/declarations.py first; --strict makes a broken link or anchor an error (the suite
# builds it the same way: tests/test_docs.py).
docs: $(VENV)/.installed-test
	$(BIN)/python -m config.declarations --write docs/settings.md
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# Issue #30: CPU a webhook (token, STATUS, status callback) on TinyDB and on PostgreSQL (when
# $$QDN_TEST_POSTGRES_URL is set) against the floor, bare Starlette without an access log
# (docs/performance.md). Needs wrk (apt-get install wrk); ~8 minutes a round on a busy machine.
bench: $(VENV)/.installed-test
	$(BIN)/python bench/bench_cpu.py

# Issue #30, PostgreSQL's side: per webhook kind, its statements (pg_stat_statements), WAL, commits and
# notifications a webhook. Needs a server loading pg_stat_statements at $$QDN_TEST_POSTGRES_URL (a private
# one: bench/bench_pg_statements.py says how) and wrk. About 1 minute once the template is made.
bench-pg-statements: $(VENV)/.installed-test
	$(BIN)/python bench/bench_pg_statements.py

# The earlier bench: throughput and latency as history grows, one business and 20 sharing the same
# history side by side (docs/performance.md). ~4 minutes (first run: +30 s of data). Needs wrk and
# 2 CPUs; perf, if present, counts fdatasyncs; data sets are cached in $${TMPDIR:-/tmp}/qdn-bench.
bench-history: $(VENV)/.installed-test
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

# The office inbox (#24): the conversation list at 200k texts against 1k (TinyDB; PostgreSQL too with
# $$QDN_TEST_POSTGRES_URL), and 50 open inboxes' SSE streams on one `qdn serve` (webhook throughput
# against none open, webhook -> every stream p50/p99). About 2 minutes once the data sets are cached.
bench-inbox: $(VENV)/.installed-test
	$(BIN)/python bench/bench_inbox.py

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts site
