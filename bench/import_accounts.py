"""How fast, and in how much memory, `manage.py import_accounts` runs.

Generates an N-row CSV (streamed to disk, never held in memory), migrates
the database that DATABASE_URL names, loads the mode types (seed_demo),
adds a fourth mode type, then times three runs of the real command in a
child process:

1. the first import: every account and mode is new (and audited);
2. the same file again: nothing changes, nothing is written;
3. the file with 1% of the rows' Mode1 changed: exactly those entries.

Rows have 1 to 4 modes (2.5 on average), every number valid (US numbers
without +, UK and Spanish ones with +), no Country column. After each run
it counts the audit entries the run appended (and checks them: N·2.5 for
the first, 0, then N/100). For each it prints wall time, rows per second
and the child's peak RSS (``wait4``'s ``ru_maxrss``). Run it on a throwaway
PostgreSQL, with or without a default region (`make bench-import`):

    bin/with-postgres .venv/bin/python bench/import_accounts.py --rows 100000
    LCM_DEFAULT_REGION=US bin/with-postgres .venv/bin/python bench/import_accounts.py

Default N is 1,000,000. Record the figures in docs/benchmarks.md ("Import").
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


AREAS = ("212", "213", "312", "415", "617", "202", "305", "404")


def numbers(i: int) -> list[str]:
    """Row i's modes: 1 to 4 valid numbers (i % 4 + 1 of them)."""
    us = f"{AREAS[i % 8]}{200 + (i // 8) % 800:03d}{(i * 7) % 10000:04d}"
    out = [us]
    if i % 4 >= 1:
        out.append(f"+44 20 7{i % 10000000:07d}")
    if i % 4 >= 2:
        out.append(f"+34 91{i % 10000000:07d}")
    if i % 4 >= 3:
        out.append(f"+1 {AREAS[(i + 3) % 8]} {300 + i % 700:03d} {i % 10000:04d}")
    return out


def generate(path: Path, rows: int, *, changed_every: int = 0) -> int:
    """Write `rows` accounts with 1 to 4 modes; with `changed_every`, every
    so many rows' Mode1 holds another valid number. Returns the number of
    mode cells."""
    modes = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(
            ["AccountNumber", "FirstName", "LastName", "Campaign", "Mode1", "Mode2", "Mode3",
             "Mode4"]
        )  # fmt: skip
        for i in range(rows):
            cells = numbers(i)
            if changed_every and i % changed_every == 0:
                cells[0] = f"{AREAS[(i + 1) % 8]}{cells[0][3:]}"
            modes += len(cells)
            cells += [""] * (4 - len(cells))
            out.writerow(
                [f"{i % 97}|{i // 1000}|{i % 1000}|0|0|44|1", "Ada", f"Customer{i}",
                 f"C{i % 97}", *cells]
            )  # fmt: skip
    return modes


def manage(*args: str, env: dict) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def audit_entries(env: dict) -> int:
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "from lcm.models import ModeChange; print(ModeChange.objects.count())"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return int(out.stdout.split()[-1])


def timed_import(path: Path, env: dict, args) -> tuple[float, float, int]:
    """Run the command as a child; (seconds, peak RSS in MiB, exit status)."""
    command = [sys.executable, "manage.py", "import_accounts", str(path),
               "--progress-every", "100000", "--verbosity", "2"]  # fmt: skip
    if args.batch_size:
        command += ["--batch-size", str(args.batch_size)]
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_maxrss / 1024, child.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to import (1,000,000)")
    parser.add_argument(
        "--batch-size", type=int, help="rows per transaction (the command's default)"
    )
    parser.add_argument(
        "--no-floor", dest="floor", action="store_false", help="skip bench/import_floor.py"
    )
    args = parser.parse_args()

    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-not-secret",
        "LOG_LEVEL": "WARNING",
    }
    database = env.get("DATABASE_URL", "")
    if not database.startswith("postgres"):
        print(
            "warning: DATABASE_URL is not PostgreSQL; run under bin/with-postgres", file=sys.stderr
        )

    # The mode types come with the demo, whose fictional numbers a strict
    # default region refuses: set up without it, import with it.
    setup = {k: v for k, v in env.items() if k != "LCM_DEFAULT_REGION"}
    manage("migrate", "--noinput", env=setup)
    manage("seed_demo", "--password", "bench-pass-123", env=setup)
    manage(
        "shell", "-c",
        "from lcm.models import ModeType; ModeType.objects.get_or_create(id=4, "
        "defaults={'name': 'Other'})",
        env=env,
    )  # fmt: skip

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "accounts.csv"
        changed = Path(folder) / "accounts-1pct-changed.csv"
        started = time.perf_counter()
        modes = generate(path, args.rows)
        generate(changed, args.rows, changed_every=100)
        size = path.stat().st_size / 2**20
        print(
            f"generated {args.rows:,} rows ({modes:,} modes, {size:,.0f} MiB) and its 1% "
            f"changed copy in {time.perf_counter() - started:,.1f} s"
        )

        results = []
        runs = (
            ("first import (all new, audited)", path, modes),
            ("re-import (unchanged)", path, 0),
            ("re-import (1% changed)", changed, len(range(0, args.rows, 100))),
        )
        for label, file, expected in runs:  # each followed by verify_audit --full
            before = audit_entries(env)
            seconds, rss, status = timed_import(file, env, args)
            if status != 0:
                sys.exit(f"import_accounts exited {status}")
            written = audit_entries(env) - before
            if written != expected:
                sys.exit(f"{label}: {written:,} audit entries written, expected {expected:,}")
            verify_started = time.perf_counter()
            verify = subprocess.run(
                [sys.executable, "manage.py", "verify_audit", "--full"],
                cwd=ROOT, env=env, capture_output=True,
            )  # fmt: skip
            chain = "OK" if verify.returncode == 0 else f"BROKEN (exit {verify.returncode})"
            chain += f" in {time.perf_counter() - verify_started:,.1f} s"
            results.append((label, seconds, rss, written, chain))

    print()
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load {' '.join(f'{x:.1f}' for x in os.getloadavg())}, "
        f"Python {platform.python_version()}, database {database.split('@')[-1] or 'sqlite'}"
    )
    print(
        f"N = {args.rows:,} rows, {modes:,} modes, batch size "
        f"{args.batch_size or 'default'}, LCM_DEFAULT_REGION={env.get('LCM_DEFAULT_REGION', '')!r}"
    )
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    for label, seconds, rss, written, chain in results:
        print(
            f"{label:34} {seconds:8,.1f} s  {args.rows / seconds:10,.0f} rows/s  "
            f"peak RSS {rss:,.0f} MiB  {written:,} entries  verify_audit --full {chain}"
        )
    if args.floor:
        # The floor in the same run (bench/import_floor.py): plain COPY of the
        # same rows, so product / floor is read off side by side.
        floor = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "import_floor.py"), "--rows", str(args.rows)],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        print(floor.stdout, end="")
        first = results[0][1]
        for line in floor.stdout.splitlines():
            if line.startswith("floor ") and " s " in line:
                seconds = float(line.split(":")[1].split(" s ")[0].replace(",", ""))
                print(f"  first import / {line.split(':')[0]}: {first / seconds:,.1f}x")


if __name__ == "__main__":
    main()
