"""ComplianceCheck at 100 contacts (campaign-services.md section 5): what one
request costs, through the real stack (DRF's test client: authentication,
envelope, handler, action, database), on a throwaway database.

    .venv/bin/python bench/compliance_check.py --requests 200
    bin/with-postgres .venv/bin/python bench/compliance_check.py --requests 200

It makes a test database (SQLite, or PostgreSQL through DATABASE_URL), loads
the demo (`seed_demo`: campaign Spring, its state rows), adds 99 Spring
contacts with a live mode each (Dallas, Miami, Oklahoma City and Washington
numbers, so every state row is read; one put on the do-not-call list), then sends
`--requests` ComplianceCheck envelopes of 100 contacts (all three checks) as
the integration user, after `--warmup` unmeasured ones. It prints one JSON
line (``COMPLIANCE_JSON {…}``): the statements per request (the same for 1
or 100 contacts: tests/test_api_compliance.py pins them) and the latency's
p50/p95/max in milliseconds, with the machine's load (`uptime`). The test
database is dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
AREAS = ["214555", "305555", "405555", "202555"]  # TX, FL, OK, DC


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    import django

    django.setup()


def _contacts() -> list[dict]:
    from lcm.actions.do_not_call import add_number
    from lcm.actions.imports import import_accounts
    from lcm.imports import ImportMode, ImportRow
    from lcm.models import ModeType
    from lcm.numbers import clean_for_mode

    office = ModeType.objects.get(pk=2)
    rows = []
    for n in range(99):
        raw = f"{AREAS[n % 4]}{n:04d}"
        names = {"campaign_id": "Spring", "country": "US", "first_name": "Bench"}
        clean = clean_for_mode(raw, office, country="US")
        rows.append(
            ImportRow(
                line=n + 1,
                account_number=f"bench|{n}",
                names=names,
                modes={2: ImportMode(office, clean, raw)},
            )
        )
    import_accounts(rows=rows, source="bench")
    add_number(number=f"{AREAS[1]}{1:04d}", reason="bench: one contact on the list")
    keys = ["5|3|1|0|0|44|1", *(f"bench|{n}" for n in range(99))]
    return [
        {"requestid": f"r{n}", "lcmkey": key, "uniqueid1": str(n)} for n, key in enumerate(keys)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    _setup()

    import io

    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_test_environment
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        call_command("seed_demo", password="bench-pass-123", stdout=io.StringIO())
        contacts = _contacts()
        from django.contrib.auth import get_user_model

        token, _ = Token.objects.get_or_create(user=get_user_model().objects.get(username="dialer"))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        body = {
            "channel": "LCM",
            "topic": "WebService",
            "subtopic": "ComplianceCheck",
            "data": {
                "campaignname": "Spring",
                "greenzonecheck": True,
                "statelawcheck": True,
                "voicemailcheck": True,
                "contacts": contacts,
            },
        }

        def send():
            response = client.post("/api/lcm/webservice/", body, format="json")
            assert response.status_code == 200, response.content
            return response.json()["message"]["response"]["contacts"]

        for _ in range(args.warmup):
            send()
        statements = []

        def count(execute, sql, params, many, context):
            statements.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            results = send()
        errors = [r["error"] for r in results if "error" in r]
        assert len(results) == 100 and not errors, errors[:3]
        latencies = []
        for _ in range(args.requests):
            start = time.perf_counter()
            send()
            latencies.append((time.perf_counter() - start) * 1000)
        latencies.sort()
        uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
        print(
            "COMPLIANCE_JSON "
            + json.dumps(
                {
                    "database": connection.vendor,
                    "contacts": len(results),
                    "requests": args.requests,
                    "statements_per_request": len(statements),
                    "p50_ms": round(statistics.median(latencies), 2),
                    "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1], 2),
                    "max_ms": round(latencies[-1], 2),
                    "states": sorted({r["State"] for r in results}),
                    "dnc": sum(r["DNC"] for r in results),
                    "uptime": uptime,
                }
            )
        )
    finally:
        from lcm.audit import triggers as audit_triggers

        with connection.cursor():
            audit_triggers.uninstall(connection)  # the log refuses a DROP of its rows
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
