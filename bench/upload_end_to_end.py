"""A list uploaded over HTTP and imported by the background job, end to end:
the time from the first byte of the upload to the job's `done`, as the
dialer's integration sees it (`POST /api/lcm/imports/`, multipart, then
polling the job's URL).

Migrates the database that DATABASE_URL names, loads the mode types
(seed_demo, plus a fourth), generates an N-row CSV (bench/import_accounts.py's
rows: 1 to 4 valid modes, 2.5 on average), starts gunicorn (2 workers) and
one `manage.py db_worker`, uploads the file streamed from disk, and polls
the status every second (a progress line every --progress seconds). Prints
`uptime` before and after, the upload's time, the job's time (202 to done),
rows per second, the job's counts and the database's (accounts, live modes,
audit entries), `manage.py verify_audit --full`'s verdict, and the peak RSS
of the worker process and of the web server (gunicorn's master and its
workers, ``wait4``).
Run it on a throwaway PostgreSQL:

    bin/with-postgres .venv/bin/python bench/upload_end_to_end.py --rows 100000

Record the figures in docs/benchmarks.md ("Exports as background jobs",
"An upload end to end").
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.import_accounts import generate, manage  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def database_counts(env: dict) -> str:
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "from lcm.models import Account, ContactMode, ModeChange; "
         "print(Account.objects.count(), "
         "ContactMode.objects.filter(deleted_at__isnull=True).count(), "
         "ModeChange.objects.count())"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    accounts, modes, entries = (int(n) for n in out.stdout.split()[-3:])
    return f"accounts {accounts:,}, modes {modes:,}, audit entries {entries:,}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--progress", type=float, default=60.0, help="seconds between progress lines (60)"
    )
    args = parser.parse_args()
    print(f"uptime before: {uptime()}", flush=True)

    folder = Path(tempfile.mkdtemp(prefix="lcm-upload-bench-"))
    port = free_port()
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-not-secret",
        "LOG_LEVEL": "WARNING",
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LCM_IMPORT_DIR": str(folder / "imports"),
        "LCM_API_THROTTLE_RATE": "100000/min",
    }
    database = env.get("DATABASE_URL", "")
    manage("migrate", "--noinput", env=env)
    manage("seed_demo", "--password", "bench-pass-123", env=env)
    token = subprocess.run(
        [sys.executable, "manage.py", "drf_create_token", "dialer"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    ).stdout.split()[2]  # fmt: skip
    manage(
        "shell", "-c",
        "from lcm.models import ModeType; ModeType.objects.get_or_create(id=4, "
        "defaults={'name': 'Other'})",
        env=env,
    )  # fmt: skip
    path = folder / "accounts.csv"
    generate(path, args.rows)
    size = path.stat().st_size

    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2",
         "--timeout", "600"],
        cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-reload", "--interval", "1"],
        cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Token {token}"}
    try:
        for _ in range(120):
            try:
                if requests.get(base + "/healthz", timeout=5).status_code < 500:
                    break
            except requests.RequestException:  # not listening yet, or still booting
                time.sleep(0.5)
        started = time.perf_counter()
        with path.open("rb") as file:
            reply = requests.post(
                base + "/api/lcm/imports/", files={"file": ("accounts.csv", file)},
                headers=headers, timeout=600,
            )  # fmt: skip
        uploaded = time.perf_counter() - started
        if reply.status_code != 202:
            sys.exit(f"upload: {reply.status_code} {reply.text[:300]}")
        print(f"upload: 202 in {uploaded:,.1f} s", flush=True)
        url = reply.json()["url"]
        shown = time.perf_counter()
        while True:
            time.sleep(1)
            status = requests.get(url, headers=headers, timeout=30).json()
            if status["state"] in ("done", "failed", "cancelled"):
                break
            if time.perf_counter() - shown >= args.progress:
                shown = time.perf_counter()
                print(
                    f"  {shown - started:,.0f} s: {status['state']}, "
                    f"through {status.get('through', 0):,}, rejected {status['rejected']:,}",
                    flush=True,
                )
        done = time.perf_counter() - started
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        _, _, web = os.wait4(server.pid, 0)
        os.killpg(worker.pid, signal.SIGINT)
        _, _, usage = os.wait4(worker.pid, 0)
    after = uptime()
    counted = database_counts(env)
    verified = subprocess.run(
        [sys.executable, "manage.py", "verify_audit", "--full"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip

    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, database {database.split('@')[-1] or 'sqlite'}"
    )
    print(f"uptime after: {after}")
    print(f"file: {args.rows:,} rows, {size / 2**20:,.1f} MiB")
    print(f"upload (202 with the job's URL): {uploaded:,.1f} s")
    job = done - uploaded
    print(f"job (202 to done): {job:,.1f} s ({args.rows / job:,.0f} rows/s)")
    print(
        f"upload to done: {done:,.1f} s ({args.rows / done:,.0f} rows/s), state {status['state']}, "
        f"rows {status['rows']:,}, rejected {status['rejected']:,}, "
        f"accounts created {status['accounts_created']:,}, modes added {status['modes_added']:,}"
    )
    if status["state"] == "failed":
        print(f"failed: {status.get('error')}")
    print(f"database: {counted}")
    verdict = (verified.stdout + verified.stderr).strip().splitlines()
    print(f"verify_audit --full: exit {verified.returncode}: {verdict[-1] if verdict else ''}")
    print(f"worker peak RSS: {usage.ru_maxrss / 1024:,.0f} MiB")
    print(f"web server peak RSS (gunicorn, largest process): {web.ru_maxrss / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()
