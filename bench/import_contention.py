"""Does an import starve the agents? The API's latency alone, then during an import.

    PG_FSYNC=on bin/with-postgres .venv/bin/python bench/import_contention.py --rows 100000
    make bench-contention                      # the same, 1,000,000 rows (issue 28)

On the database DATABASE_URL names (a throwaway PostgreSQL: it is migrated
and filled): `bench/fill.py` makes `--accounts` accounts with their calls
and agents, and the product runs under gunicorn (`--workers` sync workers,
production settings). A load of SetNewModeNumber requests at a fixed rate
(`--rate` a second, spread over `--threads` client threads, each request
on a random call of the data set with its agent's token) runs for
`--idle-seconds` alone, then while `manage.py import_accounts` imports a
`--rows`-row file of new accounts (bench/import_accounts.py's rows: 2.5
modes a row, every mode audited) in a child process, until it ends.

Prints, for each phase, the requests answered, their p50, p99 and worst
latency, and any answer that was not a 200; then the import's time and
rows/s, the ratio of the p99s (issue 28's target: under 3x), and whether
the audit chain verifies. Latency is measured from the moment each request
was due, so a request held up behind a slow one counts its wait.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.import_accounts import generate  # noqa: E402
from tests.processes import Gunicorn, production_env  # noqa: E402

WEBSERVICE = "/api/lcm/webservice/"


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"manage.py {args[0]} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


class Load:
    """SetNewModeNumber at `rate` requests a second in all, each thread on
    its own schedule; every answer recorded as (due, latency, status)."""

    def __init__(self, port: int, calls: list[list[str]], rate: float, threads: int):
        self.port, self.calls = port, calls
        self.interval = threads / rate if rate else 0.0
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.answers: list[tuple[float, float, int | None, str]] = []
        self.threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)
        ]
        for thread in self.threads:
            thread.start()

    def _run(self, i: int) -> None:
        rng = random.Random(i)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        due = time.monotonic() + rng.random() * self.interval
        while not self.stopping.is_set():
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            callid, account, agent, token = rng.choice(self.calls)
            body = {
                "channel": "LCM",
                "topic": "WebService",
                "subtopic": "SetNewModeNumber",
                "source": "bench",
                "data": {
                    "callid": callid,
                    "AccountNumber": account,
                    "ModeID": rng.randint(1, 4),
                    "ContactNumber": f"3{rng.randint(0, 999_999_999):09d}",
                    "DeleteOtherModes": False,
                    "AgentID": agent,
                },
            }
            try:
                conn.request(
                    "POST",
                    WEBSERVICE,
                    json.dumps(body),
                    {"Content-Type": "application/json", "Authorization": f"Token {token}"},
                )
                response = conn.getresponse()
                text = response.read().decode()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                status, text = None, repr(exc)
            latency = time.monotonic() - due
            with self.lock:
                self.answers.append((due, latency, status, text[:200] if status != 200 else ""))
            due += self.interval

    def between(self, start: float, end: float) -> list[tuple[float, float, int | None, str]]:
        with self.lock:
            return [a for a in self.answers if start <= a[0] < end]

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(70)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(label: str, answers) -> dict:
    if not answers:
        return {"phase": label, "requests": 0, "p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0,
                "not_200": 0}  # fmt: skip
    latencies = [a[1] for a in answers]
    failures = [a for a in answers if a[2] != 200]
    row = {
        "phase": label,
        "requests": len(answers),
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
        "not_200": len(failures),
    }
    if failures:
        row["first_failure"] = f"{failures[0][2]} {failures[0][3]}"
    return row


IMPORT_APP = "lcm-bench-import"  # the import's application_name (PGAPPNAME)


def renice_backend(database: str, nice: int) -> None:
    """Give the import's PostgreSQL backend the import's nice value, once it
    has connected (within 30 s)."""
    import psycopg

    with psycopg.connect(database, autocommit=True) as db:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pids = [pid for (pid,) in db.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s", [IMPORT_APP]
            )]  # fmt: skip
            if pids:
                for pid in pids:
                    os.setpriority(os.PRIO_PROCESS, pid, nice)
                return
            time.sleep(0.05)
    sys.exit("bench: the import's backend never connected")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to import")
    parser.add_argument("--accounts", type=int, default=10_000, help="the API's accounts")
    parser.add_argument("--calls", type=int, default=500, help="active calls the load uses")
    parser.add_argument("--rate", type=float, default=40.0, help="API requests a second")
    parser.add_argument("--threads", type=int, default=8, help="client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--batch-size", type=int, help="the import's (its default if unset)")
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="run the import, and its PostgreSQL backend, at this nice value (0: as the API)",
    )
    args = parser.parse_args(argv)

    database = os.environ.get("DATABASE_URL", "")
    if not database.startswith("postgres"):
        sys.exit("bench: DATABASE_URL must be a PostgreSQL database (bin/with-postgres)")
    env = production_env(database, CONN_MAX_AGE="600")
    started_at = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())

    with tempfile.TemporaryDirectory() as folder:
        calls_file = Path(folder) / "calls.csv"
        accounts_file = Path(folder) / "accounts.csv"
        manage(env, "migrate", "--noinput", "-v", "0")
        subprocess.run(
            [sys.executable, str(ROOT / "bench" / "fill.py"), "--accounts", str(args.accounts),
             "--agents", str(min(args.calls, 200)), "--calls", str(args.calls),
             "--audit-entries", "0", "--dnc", "0", "--out", str(calls_file)],
            cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        with calls_file.open() as f:
            calls = [row for row in csv.reader(f) if row and row[0] != "callid"]
        modes = generate(accounts_file, args.rows)
        command = [sys.executable, "manage.py", "import_accounts", str(accounts_file),
                   "--progress-every", "0"]  # fmt: skip
        if args.batch_size:
            command += ["--batch-size", str(args.batch_size)]

        server = Gunicorn(env, workers=args.workers)
        load = None
        try:
            load = Load(server.port, calls, args.rate, args.threads if args.rate else 0)
            if args.rate:  # --rate 0: the import alone
                time.sleep(5)  # warm-up: connections opened, statements prepared
            idle_start = time.monotonic()
            time.sleep(args.idle_seconds if args.rate else 0)
            import_start = time.monotonic()
            child = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**env, "PGAPPNAME": IMPORT_APP},
                stdout=subprocess.DEVNULL,
                preexec_fn=(lambda: os.nice(args.nice)) if args.nice else None,
            )
            if args.nice:
                renice_backend(database, args.nice)
            _, status, usage = os.wait4(child.pid, 0)
            import_end = time.monotonic()
            load.stop()
            if os.waitstatus_to_exitcode(status) != 0:
                sys.exit(f"bench: import_accounts exited {os.waitstatus_to_exitcode(status)}")
        finally:
            if load is not None:
                load.stop()
            server.stop()
        idle = summary("alone", load.between(idle_start, import_start))
        during = summary("during the import", load.between(import_start, import_end))
        verify = subprocess.run(
            [sys.executable, "manage.py", "verify_audit"], cwd=ROOT, env=env, capture_output=True
        )

    seconds = import_end - import_start
    print(
        f"\n{started_at}; machine: {os.cpu_count()} CPUs ({platform.machine()}), "
        f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        f"Python {platform.python_version()}"
    )
    print(
        f"API: {args.rate:g} SetNewModeNumber/s over {args.threads} threads, {args.workers} "
        f"gunicorn workers, {args.accounts:,} accounts; import: {args.rows:,} new rows "
        f"({modes:,} audited modes), batch size {args.batch_size or 'default'}"
    )
    print("| phase | requests | p50 | p99 | worst | not 200 |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in (idle, during):
        print(
            f"| {row['phase']} | {row['requests']:,} | {row['p50_ms']:.1f} ms | "
            f"{row['p99_ms']:.1f} ms | {row['max_ms']:.1f} ms | {row['not_200']} |"
        )
    print(
        f"import: {seconds:,.1f} s, {args.rows / seconds:,.0f} rows/s, peak RSS "
        f"{usage.ru_maxrss / 1024:,.0f} MiB; p99 during / alone: "
        f"{during['p99_ms'] / idle['p99_ms'] if idle['p99_ms'] else 0:.2f}x (target < 3x); "
        f"import at nice {args.nice}; audit chain "
        f"{'intact' if verify.returncode == 0 else 'BROKEN'}"
    )
    for row in (idle, during):
        if row.get("first_failure"):
            print(f"first failure {row['phase']}: {row['first_failure']}")
    print("BENCH_JSON " + json.dumps({"idle": idle, "during": during, "import_s": seconds}))


if __name__ == "__main__":
    main()
