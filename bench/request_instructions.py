"""Instructions per SetNewModeNumber: a CPU figure that load cannot blur.

    DATABASE_URL=… .venv/bin/python bench/request_instructions.py --calls /tmp/calls.csv

CPU *time* per request (bench/profile_request.py) moves by ±15% on a busy
2-core machine: caches and the other core's load change it run to run. The
number of instructions this process executes does not. This runs the
project's WSGI application in-process (as profile_request.py does, the same
requests, 1 in 4 with DeleteOtherModes, seeded) twice under valgrind's
callgrind, with --small and --large requests after the same warm-up, and
prints (large - small) / (large - small requests): the instructions one
request costs, start-up and warm-up cancelled out. PostgreSQL runs outside
valgrind: only our process (Django, DRF, lcm, psycopg) is counted.

Comparing two commits: fill a database for each with bench/fill.py and run
this in each checkout; the figures are comparable across machines with the
same Python and libraries (docs/benchmarks.md).

``--server`` picks what serves the same requests: ``product`` (the
default), ``drf`` and ``django`` (the floor's statements in a minimal DRF
view and in a plain Django view, under the product's settings and
middleware: bench/layers.py), or ``floor`` (bench/floor.py, no framework).
``--server all`` measures the four, so a report separates Django's cost,
DRF's and ours.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import random
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
WARM_UP = 50
SERVERS = ("product", "drf", "django", "floor")
# The bench views' paths (bench/layers.py); the product's is profile_request's.
LAYER_PATHS = {"drf": "/api/bench/drf/", "django": "/api/bench/django/"}


def run(calls_file: Path, requests: int, server: str = "product") -> None:
    """The measured program: warm up, then `requests` requests."""
    if server in LAYER_PATHS:
        os.environ["DJANGO_SETTINGS_MODULE"] = "bench.layers_settings"
    spec = importlib.util.spec_from_file_location("profile_request", HERE / "profile_request.py")
    profile_request = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(profile_request)  # sets the environment, as profiling does

    if server == "floor":
        sys.path.insert(0, str(HERE))
        from floor import application
    else:
        from django.core.wsgi import get_wsgi_application

        application = get_wsgi_application()
    calls = list(csv.reader(calls_file.open()))
    random.seed(1)
    statuses: list[str] = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    def one(delete: bool) -> None:
        request = profile_request.make_request(random.choice(calls), delete=delete)
        request["PATH_INFO"] = LAYER_PATHS.get(server, request["PATH_INFO"])
        b"".join(application(request, start_response))

    for _ in range(WARM_UP):
        one(False)
    for i in range(requests):
        one(i % 4 == 0)
    bad = [s for s in statuses if not s.startswith("200")]
    if bad:
        raise SystemExit(f"request_instructions: {len(bad)} requests failed, e.g. {bad[0]}")


def instructions(calls_file: Path, requests: int, server: str) -> int:
    result = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "--calls",
            str(calls_file),
            "--run",
            str(requests),
            "--server",
            server,
        ],
        capture_output=True,
        text=True,
        env=os.environ,
        check=False,
    )
    found = re.search(r"Collected : (\d+)", result.stderr)
    if result.returncode or not found:
        raise SystemExit(f"request_instructions: valgrind failed:\n{result.stderr[-3000:]}")
    return int(found.group(1))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=Path, required=True, help="data file of bench/fill.py")
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=300)
    parser.add_argument("--server", choices=[*SERVERS, "all"], default="product")
    parser.add_argument("--run", type=int, help=argparse.SUPPRESS)  # the measured program
    args = parser.parse_args(argv)
    if args.run is not None:
        run(args.calls, args.run, args.server)
        return
    for server in SERVERS if args.server == "all" else (args.server,):
        small = instructions(args.calls, args.small, server)
        large = instructions(args.calls, args.large, server)
        per_request = (large - small) / (args.large - args.small)
        print(
            f"instructions per SetNewModeNumber (1 in 4 with DeleteOtherModes), {server}: "
            f"{per_request / 1e6:.2f} M  ({args.small} vs {args.large} requests under callgrind)",
            flush=True,
        )


if __name__ == "__main__":
    main()
