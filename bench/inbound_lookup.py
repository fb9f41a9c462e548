"""The inbound lookup (GetCampaignsForMCDRequest, spec campaign-services.md
section 7) at scale: the database time of `lcm.actions.inbound.lookup`.

    bin/with-postgres .venv/bin/python bench/inbound_lookup.py --fill 1000000

`--fill N` migrates the (fresh) database and fills it with bench/fill.py
(N accounts, 1-4 live modes each: about 2.5 N modes); without it, the
database given by DATABASE_URL is used as it is. Then `--lookups` numbers
held by random accounts are looked up, each in three spellings (digits,
`(202) 555-0143`, `+1 202 555 0143`), through the action itself, as the
integration user; and numbers that nobody holds (a miss). Per lookup: the
time its SQL statements spent in the database (the wall time of each
`cursor.execute`, summed: execute_wrapper), their count and the whole call.
On PostgreSQL, also the server's own time (planning and execution, from
EXPLAIN ANALYZE run as each statement's first execution, on numbers not
looked up before), which leaves out the client round trip and the wait for
a CPU of a loaded machine. Then the plan of the statement.

Target (issue 31): the lookup's database time under 5 ms at 1,000,000 accounts.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")


def spellings(number: str) -> list[str]:
    a, b, c = number[:3], number[3:6], number[6:]
    return [number, f"({a}) {b}-{c}", f"+1 {a} {b} {c}"]


class SqlClock:
    """Sums the wall time of every statement run on the connection."""

    def __init__(self):
        self.seconds = 0.0
        self.statements = 0
        self.last: tuple[str, list] | None = None

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.statements += 1
            if "lcm_contactmode" in sql:
                self.last = (sql, params)


class ServerClock:
    """Runs each SELECT first under EXPLAIN (ANALYZE) (PostgreSQL): the
    server's own planning and execution time, on pages as cold as the
    lookup finds them; then the statement itself, for the action's rows."""

    def __init__(self):
        self.ms = 0.0

    def __call__(self, execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("SELECT"):
            execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params, many, context)
            (plan,) = context["cursor"].fetchone()
            plan = plan[0] if isinstance(plan, list) else plan
            self.ms += plan["Planning Time"] + plan["Execution Time"]
        return execute(sql, params, many, context)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fill", type=int, default=0, help="migrate and fill N accounts first")
    parser.add_argument("--lookups", type=int, default=300)
    parser.add_argument("--seed", type=int, default=31)
    args = parser.parse_args(argv)

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from lcm.actions import inbound

    if args.fill:
        call_command("migrate", verbosity=0)
        from bench.fill import fill

        fill(accounts=args.fill, agents=10, calls=10, dnc=0, audit_entries=0, out=None,
             dialer_token_out=None)  # fmt: skip
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM lcm_account")
        accounts = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM lcm_contactmode WHERE deleted_at IS NULL")
        modes = cur.fetchone()[0]
        cur.execute("SELECT min(id), max(id) FROM lcm_contactmode")
        low, high = cur.fetchone()
    rng = random.Random(args.seed)
    numbers = []
    with connection.cursor() as cur:
        while len(numbers) < args.lookups:
            cur.execute(
                "SELECT number FROM lcm_contactmode WHERE id = %s", [rng.randint(low, high)]
            )
            row = cur.fetchone()
            if row:
                numbers.append(row[0])
    misses = [f"19{rng.randrange(10**8):08d}" for _ in range(args.lookups // 3)]
    dialer = get_user_model().objects.get(username="benchdialer")

    def run(ani: str) -> tuple[float, int, float, int]:
        clock = SqlClock()
        started = time.perf_counter()
        with connection.execute_wrapper(clock):
            found = inbound.lookup(ani=ani, actor=dialer)
        return (
            clock.seconds * 1000,
            clock.statements,
            (time.perf_counter() - started) * 1000,
            len(found),
        )

    for number in numbers[:20]:  # warm-up: the permission cache, the plans, the pages
        run(number)
    results: dict[str, list[tuple[float, int, float, int]]] = {"hit": [], "miss": []}
    for number in numbers:
        for ani in spellings(number):
            results["hit"].append(run(ani))
    for number in misses:
        results["miss"].append(run(number))
    server = []
    if connection.vendor == "postgresql":  # numbers not looked up yet: cold pages
        fresh = []
        with connection.cursor() as cur:
            while len(fresh) < args.lookups:
                cur.execute(
                    "SELECT number FROM lcm_contactmode WHERE id = %s", [rng.randint(low, high)]
                )
                row = cur.fetchone()
                if row:
                    fresh.append(row[0])
        for number in fresh:
            clock = ServerClock()
            with connection.execute_wrapper(clock):
                inbound.lookup(ani=spellings(number)[2], actor=dialer)
            server.append(clock.ms)

    load = os.getloadavg()
    print(f"database: {connection.vendor}, {accounts:,} accounts, {modes:,} live modes")
    print(f"uptime load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(
        "| lookup | n | DB ms median | DB ms p95 | DB ms max | statements | whole call ms median |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for kind, rows in results.items():
        db = [r[0] for r in rows]
        print(
            f"| {kind} | {len(rows)} | {statistics.median(db):.2f} | {percentile(db, 0.95):.2f} "
            f"| {max(db):.2f} | {max(r[1] for r in rows)} "
            f"| {statistics.median(r[2] for r in rows):.2f} |"
        )
    if server:
        print(
            f"| hit, server time (EXPLAIN ANALYZE: planning + execution, cold numbers) "
            f"| {len(server)} | {statistics.median(server):.2f} | {percentile(server, 0.95):.2f} "
            f"| {max(server):.2f} | 1 | |"
        )
    assert all(r[3] >= 1 for r in results["hit"]), "a held number was not found"
    clock = SqlClock()
    with connection.execute_wrapper(clock):
        inbound.lookup(ani=spellings(numbers[0])[2], actor=dialer)
    if connection.vendor == "postgresql" and clock.last:
        sql, params = clock.last
        with connection.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            print("\nPlan of the matching statement (+1 spelling):")
            for (line,) in cur.fetchall():
                print("    " + line)


if __name__ == "__main__":
    main()
