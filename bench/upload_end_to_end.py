"""A list uploaded over HTTP and imported by the background job, end to end:
the time from the first byte of the upload to the job's `done`, as the
dialer's integration sees it (`POST /api/lcm/imports/`, multipart, then
polling the job's URL).

Migrates the database that DATABASE_URL names, loads the mode types
(seed_demo, plus a fourth), generates an N-row CSV (bench/import_accounts.py's
rows: 1 to 4 valid modes, 2.5 on average), starts gunicorn (2 workers) and
one `manage.py db_worker`, uploads the file streamed from disk, and polls
the status every second. Prints the upload's time, the job's time (202 to done), rows per
second, the counts, and the peak RSS of the worker process (``wait4``).
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()

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
        url = reply.json()["url"]
        while True:
            time.sleep(1)
            status = requests.get(url, headers=headers, timeout=30).json()
            if status["state"] in ("done", "failed", "cancelled"):
                break
        done = time.perf_counter() - started
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        os.killpg(worker.pid, signal.SIGINT)
        _, _, usage = os.wait4(worker.pid, 0)

    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, database {database.split('@')[-1] or 'sqlite'}"
    )
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    print(f"file: {args.rows:,} rows, {size / 2**20:,.1f} MiB")
    print(f"upload (202 with the job's URL): {uploaded:,.1f} s")
    job = done - uploaded
    print(f"job (202 to done): {job:,.1f} s ({args.rows / job:,.0f} rows/s)")
    print(
        f"upload to done: {done:,.1f} s ({args.rows / done:,.0f} rows/s), state {status['state']}, "
        f"rows {status['rows']:,}, rejected {status['rejected']:,}, "
        f"accounts created {status['accounts_created']:,}, modes added {status['modes_added']:,}"
    )
    print(f"worker peak RSS: {usage.ru_maxrss / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()
