# lcm — two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run demo-signing test test-lane-sqlite test-lane-postgres test-sqlite test-postgres test-replica test-pgbouncer install lint format bench bench-scale bench-append bench-import bench-contention clean

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

## The demo signs its audit log (docs/audit.md, "Signed checkpoints"), so
## that proofs work out of the box: a key pair and a witness file of this
## checkout's own in .demo/ (ignored by git), named in .env, and a checkpoint
## after every entry. DEMO ONLY: a production key lives outside the checkout,
## readable by the app alone, and its witness on another machine. An .env that
## names a signing key already (yours) is left as it is.
DEMO_DIR := $(CURDIR)/.demo
DEMO_KEY := $(DEMO_DIR)/audit-signing-key.pem
demo-signing: install .env
	@mkdir -p $(DEMO_DIR)
	@if ! grep -q '^AUDIT_SIGNING_KEY_FILE=' .env; then \
	  test -f $(DEMO_KEY) || $(PY) manage.py audit_keygen $(DEMO_KEY) > /dev/null; \
	  printf '%s\n' "" "# Demo only (make run): signing on with a key and a witness inside the checkout." \
	    "AUDIT_SIGNING_KEY_FILE=$(DEMO_KEY)" "AUDIT_WITNESS=$(DEMO_DIR)/witness.jsonl" \
	    "AUDIT_CHECKPOINT_EVERY=1" >> .env; \
	fi

## Install, migrate, load the demo data, serve on http://$(HOST):$(PORT) (SQLite)
## with one background worker (manage.py db_worker: the imports) beside it;
## e.g. `make run PORT=8001`. The users, password and URLs are printed last.
run: install .env demo-signing
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable
	$(PY) manage.py seed_demo --base-url http://$(HOST):$(PORT)
	@if grep -q '^AUDIT_SIGNING_KEY_FILE=.' .env; then $(PY) manage.py audit_checkpoint; fi
	@if grep -q '^AUDIT_SIGNING_KEY_FILE=$(DEMO_KEY)$$' .env; then \
	  echo "Signing:    on, with a DEMO ONLY key: $(DEMO_KEY) (public: $(DEMO_KEY).pub.pem),"; \
	  echo "            witness $(DEMO_DIR)/witness.jsonl. Proofs: README.md, \"Proofs in the demo\"."; \
	fi
	@echo "Samples:    set BASE=http://$(HOST):$(PORT) in your second terminal (README.md)."
	@echo "Worker:     one background worker (imports) runs beside the server; Ctrl-C stops both."
	@trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py db_worker --no-reload --interval 1 & worker=$$!; \
	$(PY) manage.py runserver $(HOST):$(PORT)

## The whole suite: on SQLite and on a throwaway PostgreSQL 15, side by side
## (two lanes, one a core); then, in the SQLite lane, the auditors' replica
## tests on a primary and its streaming replica, and a smoke test through
## PgBouncer in transaction mode. Each lane's output is printed as a block
## when it ends; `make test-sqlite` (or any pass) alone prints as it goes.
## Without PostgreSQL binaries (or pgbouncer) those runs are skipped with a
## warning, except under CI=true, where it is an error.
test: install
	@echo "=== two lanes side by side: [SQLite, replica, PgBouncer] and [PostgreSQL]; each prints when it ends"
	@echo "=== property tests and schema fuzzing: $${LCM_TEST_DEPTH:-$$( [ "$$CI" = true ] && echo deep || echo quick)} (LCM_TEST_DEPTH=quick|deep; CI=true means deep)"
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory -k -j2 --output-sync=recurse test-lane-sqlite test-lane-postgres; \
	rc=$$?; echo "=== make test: $$(( $$(date +%s) - start )) s, exit $$rc"; exit $$rc

## A lane runs its passes one after the other, each even if the one before failed.
## The PostgreSQL pass is the longest (its concurrency tests), so the two
## short passes ride in the SQLite lane.
test-lane-sqlite:
	@$(MAKE) --no-print-directory test-sqlite; a=$$?; \
	$(MAKE) --no-print-directory test-replica; b=$$?; \
	$(MAKE) --no-print-directory test-pgbouncer; c=$$?; exit $$(( a || b || c ))
test-lane-postgres:
	@$(MAKE) --no-print-directory test-postgres

## Each pass has a pytest base temp of its own (bin/pytest-pass), so that
## passes side by side never clean up each other's temporary files.
PYTEST := bin/pytest-pass $(PY)

test-sqlite: install
	@echo "=== test suite on SQLite"
	env -u DATABASE_URL $(PYTEST) $(PYTEST_ARGS)

test-postgres: install
	@echo "=== test suite on PostgreSQL"
	@if [ -x "$${PG_BIN:-/usr/lib/postgresql/15/bin}/initdb" ]; then \
	  bin/with-postgres $(PYTEST) $(PYTEST_ARGS); \
	elif [ "$$CI" = "true" ]; then \
	  echo "CI: PostgreSQL 15 binaries are required (PG_BIN)" >&2; exit 1; \
	else \
	  echo "WARNING: no PostgreSQL binaries: the PostgreSQL run did not happen" >&2; \
	fi

## The auditors' reads on a real streaming replica (tests/test_replica.py).
test-replica: install
	@echo "=== replica tests: a throwaway PostgreSQL 15 primary and its streaming replica"
	@if [ -x "$${PG_BIN:-/usr/lib/postgresql/15/bin}/initdb" ]; then \
	  LCM_REPLICA_REQUIRED=1 bin/with-postgres --replica $(PYTEST) $(PYTEST_ARGS) tests/test_replica.py; \
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
	    exec $(PYTEST) --reuse-db $(PYTEST_ARGS) $(PGBOUNCER_SMOKE)'; \
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

## The import's speed and memory (issues 16, 26) on a throwaway PostgreSQL 15
## with fsync on: first import, unchanged re-import, 1% changed, each with its
## phases and followed by verify_audit --full, then the floor in the same run
## (bench/import_floor.py), without then with LCM_DEFAULT_REGION=US
## (docs/benchmarks.md, "Import"). About 40 minutes at the default 1,000,000
## rows; IMPORT_ROWS=100000 takes about 8.
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
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles .pytest_cache .ruff_cache .demo
