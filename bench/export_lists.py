"""How fast, and in how much memory, a background export of a whole list
runs (lcm.actions.export_jobs: the console's and the API's "export").

Migrates the database that DATABASE_URL names, fills it with bench/fill.py
(N accounts with 1 to 4 live modes each, 2.5 on average, and D do-not-call
numbers), then for each list queues an export job and times the real worker
(`manage.py db_worker --batch`, a child process) until the job is done:
wall time (the worker's start-up included), the job's own time (its
started_at to finished_at), rows per second, and the worker's peak RSS
(``wait4``'s ``ru_maxrss``). For scale, the same worker's time and peak RSS
with an empty queue (its start-up).
Run it on a throwaway PostgreSQL:

    bin/with-postgres .venv/bin/python bench/export_lists.py --accounts 1000000

Record the figures in docs/benchmarks.md ("Exports as background jobs").
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKER = ["db_worker", "--batch", "--no-reload", "--no-startup-delay", "--interval", "0"]


def manage(*args: str, env: dict) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
        capture_output=True, text=True,
    )  # fmt: skip
    return done.stdout


def shell(code: str, env: dict) -> str:
    return manage("shell", "-c", code, env=env).strip().splitlines()[-1]


def timed_worker(env: dict) -> tuple[float, float]:
    """Run the worker until the queue is empty; (seconds, peak RSS in MiB)."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "manage.py", *WORKER], cwd=ROOT, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"db_worker exited {os.waitstatus_to_exitcode(status)}")
    return seconds, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--dnc", type=int, default=100_000)
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="lcm-export-bench-")
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-not-secret",
        "LOG_LEVEL": "WARNING",
        "LCM_IMPORT_DIR": folder,
    }
    database = env.get("DATABASE_URL", "")
    if not database.startswith("postgres"):
        print(
            "warning: DATABASE_URL is not PostgreSQL; run under bin/with-postgres", file=sys.stderr
        )

    manage("migrate", "--noinput", env=env)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "bench/fill.py", "--accounts", str(args.accounts), "--agents", "10",
         "--calls", "10", "--dnc", str(args.dnc), "--audit-entries", "0"],
        cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    print(f"filled {args.accounts:,} accounts, {args.dnc:,} do-not-call numbers "
          f"in {time.perf_counter() - started:,.1f} s")  # fmt: skip
    shell(
        "from django.contrib.auth import get_user_model; U = get_user_model(); "
        "U.objects.filter(username='benchexport').exists() or "
        "U.objects.create_superuser('benchexport', None, 'bench-pass-123'); print('ok')",
        env,
    )
    idle_seconds, idle_rss = timed_worker(env)

    results = []
    for name in ("accounts", "do_not_call"):
        job = shell(
            "from django.contrib.auth import get_user_model; "
            "from lcm.actions import export_jobs; "
            f"print(export_jobs.start({name!r}, get_user_model().objects.get("
            "username='benchexport')).pk)",
            env,
        )
        seconds, rss = timed_worker(env)
        state, rows, size, path, run = shell(
            f"from lcm.models import ExportJob; j = ExportJob.objects.get(pk={job}); "
            "print(j.state, j.rows, j.size, j.path, "
            "(j.finished_at - j.started_at).total_seconds())",
            env,
        ).split()
        if state != "done":
            sys.exit(f"export {job} of {name}: {state}")
        lines = sum(1 for _ in open(path, "rb"))  # noqa: SIM115
        if lines != int(rows) + 1:
            sys.exit(f"export {job}: {lines} lines for {rows} rows")
        results.append((name, int(rows), int(size), seconds, float(run), rss))
        Path(path).unlink()

    print()
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, database {database.split('@')[-1] or 'sqlite'}"
    )
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    print(f"worker with an empty queue: {idle_seconds:,.1f} s, peak RSS {idle_rss:,.0f} MiB")
    for name, rows, size, seconds, run, rss in results:
        print(
            f"export {name:12} {rows:>10,} rows  {size / 2**20:8,.1f} MiB  {seconds:7,.1f} s  "
            f"{rows / seconds:9,.0f} rows/s  (the job itself {run:,.1f} s)  "
            f"worker peak RSS {rss:,.0f} MiB"
        )


if __name__ == "__main__":
    main()
