"""The first import with its batches overlapped (`lcm.actions.imports.WRITERS`
= 2) against one batch at a time (1), on the same file, each into a fresh
copy of the same migrated database: wall time, the command's own CPU (its
rusage: every thread) and PostgreSQL's (the cluster's processes, reaped
backends included), per row. CPU is what compares on a shared machine.

    PG_FSYNC=on bin/with-postgres .venv/bin/python bench/import_overlap.py --rows 20000

`--writers 1,2,2,1` runs those in that order (each into its own copy).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from import_accounts import ROOT, generate, manage

TICK = os.sysconf("SC_CLK_TCK")

CHILD = """
import sys, django
django.setup()
from lcm.actions import imports
imports.WRITERS = int(sys.argv[2])
from django.core.management import call_command
call_command("import_accounts", sys.argv[1], progress_every=0, verbosity=1)
"""


def sql(env: dict, statement: str) -> str:
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "from django.db import connection\n"
         "connection.ensure_connection(); connection.connection.autocommit = True\n"
         "with connection.cursor() as c:\n"
         f"    c.execute({statement!r})\n"
         "    rows = c.fetchall() if c.description else []\n"
         "for r in rows: print('\\t'.join(str(x) for x in r))"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def postgres_cpu(postmaster: int) -> float:
    """Seconds of CPU of the cluster: the postmaster, its living children,
    and the children it reaped (its cutime/cstime)."""

    def fields(pid: int) -> list[str]:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()

    own = fields(postmaster)
    total = sum(int(x) for x in own[11:15])  # utime stime cutime cstime
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == postmaster:
            continue
        try:
            f = fields(int(entry))
        except OSError:
            continue
        if int(f[1]) == postmaster:
            total += int(f[11]) + int(f[12])
    return total / TICK


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--writers", default="1,2", help="runs, in order (1,2)")
    args = parser.parse_args()
    env = {**os.environ, "DEBUG": "false", "SECRET_KEY": "bench-only-not-secret",
           "LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "config.settings"}  # fmt: skip
    url = env["DATABASE_URL"]
    setup = {k: v for k, v in env.items() if k != "LCM_DEFAULT_REGION"}
    base = {**setup, "DATABASE_URL": with_database(url, "bench_base")}
    sql(setup, "CREATE DATABASE bench_base")
    manage("migrate", "--noinput", env=base)
    manage("seed_demo", "--password", "bench-pass-123", env=base)
    manage("shell", "-c", "from lcm.models import ModeType; ModeType.objects.get_or_create("
           "id=4, defaults={'name': 'Other'})", env=base)  # fmt: skip
    directory = sql(setup, "SHOW data_directory")
    postmaster = int(Path(directory, "postmaster.pid").read_text().split()[0])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "accounts.csv"
        modes = generate(path, args.rows)
        for i, writers in enumerate(int(w) for w in args.writers.split(",")):
            name = f"bench_run{i}"
            sql(setup, f"CREATE DATABASE {name} TEMPLATE bench_base")
            run_env = {**env, "DATABASE_URL": with_database(url, name)}
            pg_before = postgres_cpu(postmaster)
            started = time.perf_counter()
            child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(writers)],
                                     cwd=ROOT, env=run_env, stdout=subprocess.DEVNULL)  # fmt: skip
            _, status, usage = os.wait4(child.pid, 0)
            wall = time.perf_counter() - started
            time.sleep(0.5)  # the backend's exit reaped
            pg = postgres_cpu(postmaster) - pg_before
            if os.waitstatus_to_exitcode(status):
                sys.exit(f"import exited {os.waitstatus_to_exitcode(status)}")
            python = usage.ru_utime + usage.ru_stime
            per = 1e6 / args.rows
            load = " ".join(f"{x:.2f}" for x in os.getloadavg())
            print(f"writers={writers}: {args.rows:,} rows ({modes:,} modes) {wall:,.1f} s "
                  f"({args.rows / wall:,.0f} rows/s); Python CPU {python * per:,.0f} µs/row, "
                  f"PostgreSQL CPU {pg * per:,.0f} µs/row; peak RSS "
                  f"{usage.ru_maxrss / 1024:,.0f} MiB; load {load}", flush=True)  # fmt: skip
            sql(setup, f"DROP DATABASE {name}")
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__":
    main()
