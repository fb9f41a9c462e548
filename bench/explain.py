"""The plans of the statements one SetNewModeNumber and one GetContactModes
issue: latency stays flat as data grows only if no plan scans a big table.

    DATABASE_URL=postgres://… .venv/bin/python bench/explain.py --calls /tmp/calls.csv

    DATABASE_URL=postgres://… .venv/bin/python bench/explain.py --audit --entries 1000000

The second form plans the audit log's queries instead (bench/audit_scale.py
--explain-only: fills N entries if the log is empty, then EXPLAIN ANALYZE of
every query the auditors' pages, the API, the export, verify_audit,
checkpoints, proofs and erasure run; docs/audit.md "The table").

The first sends one request of each message through the project's WSGI application
(production settings), captures the statements it ran, and prints
PostgreSQL's plan (EXPLAIN, which does not run them) of each, flagging any
sequential scan of a table that grows with the data. Exits non-zero if one
does.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import sys
from pathlib import Path

if __name__ == "__main__" and "--audit" in sys.argv[1:]:
    # The audit log's queries: bench/audit_scale.py fills a realistic log
    # (entries spread over a year, agents, calls, sources) and plans them.
    import os

    scale = Path(__file__).resolve().with_name("audit_scale.py")
    rest = [a for a in sys.argv[1:] if a != "--audit"]
    os.execv(sys.executable, [sys.executable, str(scale), "--explain-only", *rest])

sys.path.insert(0, str(Path(__file__).resolve().parent))
import profile_request  # sets the production environment before Django loads

# Tables that grow with accounts, calls, agents or changes; a scan of a
# small fixed table (mode types, the chain head), or of any table while it is
# small (fewer than BIG rows), is the planner's right call.
BIG = 10_000
GROWING = (
    "lcm_account",
    "lcm_contactmode",
    "lcm_call",
    "lcm_agent",
    "lcm_modechange",
    "lcm_donotcallnumber",
    "authtoken_token",
    "auth_user",
)


def get_contact_modes_environ(call: list[str]) -> dict:
    callid, account_number, _agent, token = call
    environ = profile_request.make_request(call, delete=False)
    body = json.dumps(
        {
            "channel": "LCM",
            "topic": "WebService",
            "subtopic": "GetContactModes",
            "data": {"callid": callid, "AccountNumber": account_number},
        }
    ).encode()
    environ.update(CONTENT_LENGTH=str(len(body)), HTTP_AUTHORIZATION=f"Token {token}")
    environ["wsgi.input"] = io.BytesIO(body)
    return environ


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=Path, required=True, help="data file of bench/fill.py")
    args = parser.parse_args(argv)

    from django.core.wsgi import get_wsgi_application
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    application = get_wsgi_application()
    call = random.choice(list(csv.reader(args.calls.open())))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND relname = ANY(%s) "
            "AND reltuples >= %s",
            [list(GROWING), BIG],
        )
        big = {name for (name,) in cursor.fetchall()}
    print(f"tables of {BIG:,} rows or more: {', '.join(sorted(big)) or 'none'}")
    scans = 0
    for message, environ in (
        ("SetNewModeNumber", profile_request.make_request(call, delete=True)),
        ("GetContactModes", get_contact_modes_environ(call)),
    ):
        statuses: list[str] = []

        def start_response(status, headers, exc_info=None, statuses=statuses):
            statuses.append(status)

        with CaptureQueriesContext(connection) as ctx:
            b"".join(application(environ, start_response))
        if not statuses[0].startswith("200"):
            raise SystemExit(f"explain: {message} answered {statuses[0]}")
        print(f"== {message}")
        for query in ctx.captured_queries:
            sql = query["sql"]
            if sql.split(None, 1)[0].upper() in ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"):
                continue
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN " + sql)
                plan = [row[0] for row in cursor.fetchall()]
            bad = [
                line.strip()
                for line in plan
                if "Seq Scan on" in line and any(f" {t} " in f"{line} " for t in big)
            ]
            scans += len(bad)
            nodes = [line.strip().split("  (")[0].lstrip("-> ") for line in plan]
            verdict = "SEQ SCAN: " + "; ".join(bad) if bad else "ok"
            print(f"  {verdict:<4} {' '.join(sql.split())[:70]}…")
            print(f"       {' / '.join(n for n in nodes if 'Scan' in n or 'Insert' in n)}")
    print(f"sequential scans of big tables: {scans}")
    return 1 if scans else 0


if __name__ == "__main__":
    sys.exit(main())
