"""The audit chain's append ceiling: commits per second that only append.

    DATABASE_URL=postgres://… .venv/bin/python bench/audit_append.py \
        --processes 1,4,16 --duration 10

Every audited change ends with `lcm.audit.append_entry`, whose
``UPDATE … RETURNING`` of the single AuditChainHead row holds that row's
lock until the transaction commits: appends are serialised, one commit at
a time, whatever the number of app servers. This measures that point
alone: N processes (one connection each), each appending one entry per
transaction (`transaction.atomic()` + `append_entry`, nothing else) in a
loop for `--duration` seconds, all against one account. It prints one JSON
line per process count (``APPEND_JSON {…}``): commits, commits/s, p50/p99
latency of a commit. bench/run.py (phase ``append``) runs it against a
migrated database under each commit mode and records the table.

Run it only against a database you may fill: it creates an account
``bench-append`` and appends to the log (which cannot be emptied).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def _account_id() -> int:
    from lcm.models import Account

    account, _ = Account.objects.get_or_create(account_number="bench-append")
    return account.pk


def _worker(account_id: int, start_at: float, stop_at: float, out) -> None:
    from django.db import connection, transaction

    from lcm.audit import append_entry
    from lcm.models import ModeChange

    connection.ensure_connection()
    latencies = []
    n = 0
    while time.time() < start_at:
        time.sleep(0.001)
    while True:
        began = time.perf_counter()
        if time.time() >= stop_at:
            break
        n += 1
        with transaction.atomic():
            append_entry(
                ModeChange(
                    account_id=account_id,
                    account_number="bench-append",
                    username="bench-append",
                    source="bench",
                    mode_id=1,
                    new_number=f"20255{n % 100000:05d}",
                )
            )
        latencies.append(time.perf_counter() - began)
    connection.close()
    out.put(latencies)


def measure(processes: int, duration: float, account_id: int) -> dict:
    from django.db import connections

    connections.close_all()  # never share a connection with the forked workers
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    start_at = time.time() + 1.0  # every worker connected before the clock starts
    stop_at = start_at + duration
    workers = [
        context.Process(target=_worker, args=(account_id, start_at, stop_at, out))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    latencies = []
    for _ in workers:
        latencies += out.get()
    for worker in workers:
        worker.join()
        if worker.exitcode:
            raise SystemExit(f"audit_append: a worker failed ({worker.exitcode})")
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "processes": processes,
        "commits": len(latencies),
        "duration_s": duration,
        "commits_per_s": len(latencies) / duration,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": latencies[-1] * 1000,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", default="1,4,16", help="process counts, one row each")
    parser.add_argument("--duration", type=float, default=10, help="seconds per row")
    args = parser.parse_args(argv)
    _setup()
    account_id = _account_id()
    for processes in [int(p) for p in args.processes.split(",")]:
        row = measure(processes, args.duration, account_id)
        print("APPEND_JSON " + json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
