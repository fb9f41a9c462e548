"""Where one SetNewModeNumber's time goes: SQL statements and a cProfile.

    DATABASE_URL=… .venv/bin/python bench/profile_request.py --calls /tmp/calls.csv

Against a database filled by bench/fill.py, with production settings
(DEBUG off, persistent connection), this calls the project's WSGI
application in-process, the way gunicorn does, minus the socket:

1. lists the SQL statements one SetNewModeNumber issues, with their count;
2. runs ``--requests`` requests (after a warm-up) under cProfile, timing
   this process's CPU (not the wait for PostgreSQL), and prints the CPU per
   request split by layer (our code, DRF, Django's ORM and query compiler,
   Django's database layer, the rest of Django, psycopg, the standard
   library) and the functions with the most CPU of their own.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import json
import os
import pstats
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
os.environ.setdefault("CONN_MAX_AGE", "600")
os.environ.setdefault("LOG_LEVEL", "WARNING")

# Which layer a function belongs to, by the path of its source file.
LAYERS = [
    ("lcm (our code)", ("/lcm/", "/config/")),
    ("DRF", ("/rest_framework/",)),
    ("Django ORM + SQL compiler", ("/django/db/models/",)),
    ("Django DB backend", ("/django/db/backends/", "/django/db/transaction", "/django/db/utils")),
    ("Django request/response/middleware", ("/django/",)),
    ("psycopg (driver, socket calls)", ("/psycopg/", "psycopg", "{method 'execute' of")),
]


def layer_of(filename: str, name: str) -> str:
    for layer, needles in LAYERS:
        if any(n in filename or n in name for n in needles):
            return layer
    return "Python stdlib + other"


def make_request(call: list[str], *, delete: bool) -> dict:
    callid, account_number, agent_id, token = call
    body = json.dumps(
        {
            "channel": "LCM",
            "topic": "WebService",
            "subtopic": "SetNewModeNumber",
            "source": "profile",
            "data": {
                "callid": callid,
                "AccountNumber": account_number,
                "ModeID": random.randint(1, 4),
                "ContactNumber": f"3{random.randint(0, 999_999_999):09d}",
                "DeleteOtherModes": delete,
                "AgentID": agent_id,
            },
        }
    ).encode()
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/lcm/webservice/",
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_AUTHORIZATION": f"Token {token}",
        "HTTP_HOST": "127.0.0.1",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=Path, required=True, help="data file of bench/fill.py")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--dump", type=Path, help="also save the profile here (pstats; e.g. for print_callers)"
    )
    args = parser.parse_args(argv)

    from django.core.wsgi import get_wsgi_application
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    application = get_wsgi_application()
    calls = list(csv.reader(args.calls.open()))
    statuses: list[str] = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    def one(delete: bool = False) -> None:
        b"".join(application(make_request(random.choice(calls), delete=delete), start_response))

    for _ in range(50):  # warm up: connection, prepared statements, caches
        one()

    for delete in (False, True):
        with CaptureQueriesContext(connection) as ctx:
            one(delete)
        print(
            f"\n== SQL of one SetNewModeNumber, DeleteOtherModes={str(delete).lower()}: "
            f"{len(ctx.captured_queries)} statements, BEGIN and COMMIT included"
        )
        for number, query in enumerate(ctx.captured_queries, 1):
            print(f"{number:2}. {' '.join(query['sql'].split())[:220]}")

    statuses.clear()
    started, cpu_started = time.perf_counter(), time.process_time()
    for i in range(args.requests):
        one(i % 4 == 0)
    n = args.requests
    print(
        f"\n== {n} requests in-process, no profiler: "
        f"{(time.perf_counter() - started) / n * 1000:.2f} ms wall, "
        f"{(time.process_time() - cpu_started) / n * 1000:.2f} ms of this process's CPU "
        "per request"
    )

    # CPU time, not wall time: the database's share of the wait is not ours
    # to spend, and on a shared machine wall time is mostly other processes.
    profiler = cProfile.Profile(time.process_time)
    started = time.process_time()
    profiler.enable()
    for i in range(args.requests):
        one(i % 4 == 0)
    profiler.disable()
    elapsed = time.process_time() - started
    bad = [s for s in statuses if not s.startswith("200")]
    if bad:
        raise SystemExit(f"profile: {len(bad)} requests failed, e.g. {bad[0]}")

    stats = pstats.Stats(profiler)
    if args.dump:
        stats.dump_stats(args.dump)
    per_layer: dict[str, float] = defaultdict(float)
    total = 0.0
    for (filename, _line, name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        per_layer[layer_of(filename, name)] += tottime
        total += tottime
    n = args.requests
    print(
        f"\n== cProfile (CPU time) of {n} requests (1 in 4 with DeleteOtherModes): "
        f"{elapsed / n * 1000:.2f} ms of CPU per request under the profiler"
    )
    print(f"{'layer':<40} {'CPU ms/request':>14} {'share':>7}")
    for layer, seconds in sorted(per_layer.items(), key=lambda kv: -kv[1]):
        print(f"{layer:<40} {seconds / n * 1000:14.3f} {seconds / total:7.1%}")
    print(f"\n== top {args.top} functions by own CPU time")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.top)
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[-6000:])


if __name__ == "__main__":
    main()
