# lcm — two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-sqlite test-postgres install lint format bench bench-scale clean

## Create .venv and install the pinned requirements (only when they change).
install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

## Development settings, and a demo password of this checkout's own, so that
## every `make run` can print it (seed_demo sets it on the demo users).
.env:
	cp .env.example .env
	echo "DEMO_PASSWORD=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(12))')" >> .env

## Install, migrate, load the demo data, serve on http://$(HOST):$(PORT) (SQLite);
## e.g. `make run PORT=8001`. The users, password and URLs are printed last.
run: install .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable
	$(PY) manage.py seed_demo --base-url http://$(HOST):$(PORT)
	$(PY) manage.py runserver $(HOST):$(PORT)

## The whole suite: on SQLite, then on a throwaway PostgreSQL 15.
## Without PostgreSQL binaries the second run is skipped with a warning,
## except under CI=true, where it is an error.
test: install test-sqlite test-postgres

test-sqlite: install
	@echo "=== test suite on SQLite"
	env -u DATABASE_URL $(PY) -m pytest $(PYTEST_ARGS)

test-postgres: install
	@echo "=== test suite on PostgreSQL"
	@if [ -x "$${PG_BIN:-/usr/lib/postgresql/15/bin}/initdb" ]; then \
	  bin/with-postgres $(PY) -m pytest $(PYTEST_ARGS); \
	elif [ "$$CI" = "true" ]; then \
	  echo "CI: PostgreSQL 15 binaries are required (PG_BIN)" >&2; exit 1; \
	else \
	  echo "WARNING: no PostgreSQL binaries: the PostgreSQL run did not happen" >&2; \
	fi

## SetNewModeNumber against the floor, SQLite, cost as data grows, profile
## (docs/benchmarks.md). A throwaway PostgreSQL 15 with fsync on; wrk on
## 127.0.0.1. About 12 minutes. BENCH_ARGS passes flags to bench/run.py,
## e.g. BENCH_ARGS="--accounts 20000 --duration 5" for a quick run.
BENCH_PG_OPTS ?= -c shared_buffers=512MB -c max_wal_size=4GB -c checkpoint_timeout=30min
bench: install
	PG_FSYNC=on PG_EXTRA_OPTS="$(BENCH_PG_OPTS)" BENCH_COMMAND="make bench $(BENCH_ARGS)" \
	  bin/with-postgres $(PY) bench/run.py --record $(BENCH_ARGS)

## Only the scale phase, at 10,000 and 1,000,000 accounts (5,000,000 audit
## entries): about 16 minutes, most of it filling the large database.
bench-scale: install
	PG_FSYNC=on PG_EXTRA_OPTS="$(BENCH_PG_OPTS)" \
	  BENCH_COMMAND="make bench-scale $(BENCH_ARGS)" \
	  bin/with-postgres $(PY) bench/run.py --record --phases scale \
	  --scale-large 1000000 $(BENCH_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## Retake the screenshots of docs/admin.md (throwaway SQLite, Debian's Chromium).
.PHONY: screenshots
screenshots: install
	$(PY) docs/screenshots.py

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles .pytest_cache .ruff_cache
