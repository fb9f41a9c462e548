# lcm — two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-sqlite test-postgres test-replica test-pgbouncer install lint format bench bench-scale bench-append bench-import bench-contention clean

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

## The whole suite: on SQLite, then on a throwaway PostgreSQL 15; then the
## auditors' replica tests on a primary and its streaming replica, and a
## smoke test through PgBouncer in transaction mode.
## Without PostgreSQL binaries (or pgbouncer) those runs are skipped with a
## warning, except under CI=true, where it is an error.
test: install test-sqlite test-postgres test-replica test-pgbouncer

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

## The auditors' reads on a real streaming replica (tests/test_replica.py).
test-replica: install
	@echo "=== replica tests: a throwaway PostgreSQL 15 primary and its streaming replica"
	@if [ -x "$${PG_BIN:-/usr/lib/postgresql/15/bin}/initdb" ]; then \
	  LCM_REPLICA_REQUIRED=1 bin/with-postgres --replica $(PY) -m pytest $(PYTEST_ARGS) tests/test_replica.py; \
	elif [ "$$CI" = "true" ]; then \
	  echo "CI: PostgreSQL 15 binaries are required (PG_BIN)" >&2; exit 1; \
	else \
	  echo "WARNING: no PostgreSQL binaries: the replica tests did not run" >&2; \
	fi

## A smoke test through Debian's pgbouncer in transaction mode, prepared
## statements and server-side cursors off: the SetNewModeNumber API, the
## audit chain and the concurrency tests. --reuse-db: pgbouncer still holds
## server connections to the test database when pytest would drop it; the
## throwaway cluster goes anyway.
PGBOUNCER_SMOKE ?= tests/test_api_set_new_mode_number.py tests/test_audit_chain.py tests/test_concurrency.py
test-pgbouncer: install
	@echo "=== smoke test through PgBouncer (transaction mode) on a throwaway PostgreSQL 15"
	@if [ -x "$${PG_BIN:-/usr/lib/postgresql/15/bin}/initdb" ] && command -v pgbouncer >/dev/null; then \
	  bin/with-postgres --pgbouncer sh -c 'DATABASE_URL=$$PGBOUNCER_URL DATABASE_PREPARED_STATEMENTS=false \
	    exec $(PY) -m pytest --reuse-db $(PYTEST_ARGS) $(PGBOUNCER_SMOKE)'; \
	elif [ "$$CI" = "true" ]; then \
	  echo "CI: PostgreSQL 15 binaries and pgbouncer are required" >&2; exit 1; \
	else \
	  echo "WARNING: no PostgreSQL binaries or no pgbouncer: the PgBouncer smoke test did not run" >&2; \
	fi

## SetNewModeNumber against the floor, SQLite, cost as data grows, profile,
## through PgBouncer, the audit chain's append ceiling (docs/benchmarks.md). A throwaway PostgreSQL 15 with fsync on; wrk on
## 127.0.0.1. About 12 minutes. BENCH_ARGS passes flags to bench/run.py,
## e.g. BENCH_ARGS="--accounts 20000 --duration 5" for a quick run.
BENCH_PG_OPTS ?= -c shared_buffers=512MB -c max_wal_size=4GB -c checkpoint_timeout=30min
bench: install
	PG_FSYNC=on PG_EXTRA_OPTS="$(BENCH_PG_OPTS)" BENCH_COMMAND="make bench$(if $(BENCH_ARGS), BENCH_ARGS='$(BENCH_ARGS)')" \
	  bin/with-postgres --pgbouncer $(PY) bench/run.py --record $(BENCH_ARGS)

## Only the audit chain's append ceiling and the replica's lag under appends
## (docs/scaling.md): about two minutes.
bench-append: install
	PG_FSYNC=on PG_EXTRA_OPTS="$(BENCH_PG_OPTS)" BENCH_COMMAND="make bench-append$(if $(BENCH_ARGS), BENCH_ARGS='$(BENCH_ARGS)')" \
	  bin/with-postgres $(PY) bench/run.py --record --phases append,replica $(BENCH_ARGS)

## Only the scale phase, at 10,000 and 1,000,000 accounts (5,000,000 audit
## entries): about 16 minutes, most of it filling the large database.
bench-scale: install
	PG_FSYNC=on PG_EXTRA_OPTS="$(BENCH_PG_OPTS)" \
	  BENCH_COMMAND="make bench-scale $(BENCH_ARGS)" \
	  bin/with-postgres $(PY) bench/run.py --record --phases scale \
	  --scale-large 1000000 $(BENCH_ARGS)

## The import's speed and memory (issue 16) on a throwaway PostgreSQL 15
## with fsync on: first import, unchanged re-import, 1% changed, without
## then with LCM_DEFAULT_REGION=US (docs/benchmarks.md, "Import"). About 40
## minutes at the default 1,000,000 rows; IMPORT_ROWS=100000 takes about 4.
IMPORT_ROWS ?= 1000000
bench-import: install
	PG_FSYNC=on PG_EXTRA_OPTS="$(BENCH_PG_OPTS)" \
	  bin/with-postgres $(PY) bench/import_accounts.py --rows $(IMPORT_ROWS) $(BENCH_ARGS)
	LCM_DEFAULT_REGION=US PG_FSYNC=on PG_EXTRA_OPTS="$(BENCH_PG_OPTS)" \
	  bin/with-postgres $(PY) bench/import_accounts.py --rows $(IMPORT_ROWS) $(BENCH_ARGS)

## An import beside the agents (issue 28): SetNewModeNumber's latency alone, then
## during an import of IMPORT_ROWS rows, on a throwaway PostgreSQL 15 with fsync
## on (docs/benchmarks.md, "An import beside the agents"). BENCH_ARGS, e.g.
## "--nice 19" (the import and its backend niced) or "--rate 40".
bench-contention: install
	PG_FSYNC=on PG_EXTRA_OPTS="$(BENCH_PG_OPTS)" \
	  bin/with-postgres $(PY) bench/import_contention.py --rows $(IMPORT_ROWS) $(BENCH_ARGS)

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
