"""How fast, and in how much memory, `manage.py import_accounts` runs.

Generates an N-row CSV (streamed to disk, never held in memory), migrates
the database that DATABASE_URL names, loads the mode types (seed_demo),
then times two runs of the real command in a child process:

1. the first import: every account and mode is new (and audited);
2. the same file again: nothing changes, nothing is written.

For each it prints wall time, rows per second and the child's peak RSS
(``wait4``'s ``ru_maxrss``). Run it on a throwaway PostgreSQL:

    bin/with-postgres .venv/bin/python bench/import_accounts.py --rows 100000

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


def generate(path: Path, rows: int) -> int:
    """Write `rows` accounts; every row has Mode1, one in two Mode2, one in
    four Mode3. Returns the number of mode cells."""
    modes = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(
            ["AccountNumber", "FirstName", "LastName", "Campaign", "Mode1", "Mode2", "Mode3"]
        )
        for i in range(rows):
            mode2 = f"303{i:07d}" if i % 2 == 0 else ""
            mode3 = f"+44 20 {i:08d}" if i % 4 == 0 else ""
            modes += 1 + bool(mode2) + bool(mode3)
            out.writerow(
                [
                    f"{i % 97}|{i // 1000}|{i % 1000}|0|0|44|1",
                    "Ada",
                    f"Customer{i}",
                    f"C{i % 97}",
                    f"202{i:07d}",
                    mode2,
                    mode3,
                ]
            )
    return modes


def manage(*args: str, env: dict) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def timed_import(path: Path, env: dict, batch_size: int) -> tuple[float, float, int]:
    """Run the command as a child; (seconds, peak RSS in MiB, exit status)."""
    command = [
        sys.executable,
        "manage.py",
        "import_accounts",
        str(path),
        "--batch-size",
        str(batch_size),
        "--progress-every",
        "100000",
    ]
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_maxrss / 1024, child.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to import (1,000,000)")
    parser.add_argument("--batch-size", type=int, default=1000, help="rows per transaction")
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

    manage("migrate", "--noinput", env=env)
    manage("seed_demo", "--password", "bench-pass-123", env=env)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "accounts.csv"
        started = time.perf_counter()
        modes = generate(path, args.rows)
        size = path.stat().st_size / 2**20
        print(
            f"generated {args.rows:,} rows ({modes:,} modes, {size:,.0f} MiB)"
            f" in {time.perf_counter() - started:,.1f} s"
        )

        results = []
        for label in ("first import (all new, audited)", "re-import (unchanged)"):
            seconds, rss, status = timed_import(path, env, args.batch_size)
            if status != 0:
                sys.exit(f"import_accounts exited {status}")
            results.append((label, seconds, rss))

    print()
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, database {database.split('@')[-1] or 'sqlite'}"
    )
    print(f"N = {args.rows:,} rows, {modes:,} modes, batch size {args.batch_size}")
    for label, seconds, rss in results:
        print(
            f"{label:34} {seconds:8,.1f} s  {args.rows / seconds:10,.0f} rows/s  "
            f"peak RSS {rss:,.0f} MiB"
        )


if __name__ == "__main__":
    main()
