"""The import's floor: the same rows as bench/import_accounts.py written by
plain ``COPY`` through psycopg, no Django, no validation; each audit row
sealed as `lcm.audit` seals format 4 (one HMAC-SHA256 over its personal
layout, one SHA-256 over its entry layout, chained by `prev_hash`).

    bin/with-postgres .venv/bin/python bench/import_floor.py --rows 100000

Run after `migrate` (make bench-import runs it in the same run as the
product). The tables are copies of the migrated ones in a schema of their
own, made with ``CREATE TABLE … (LIKE … INCLUDING ALL)``: the same columns,
defaults, primary keys, unique and other indexes, no foreign keys and no
triggers. Durable commits (one COPY and one COMMIT per 5,000 accounts,
fsync as the server has it). Printed rows:

1. accounts + modes (every index the product's tables have);
2. + one audit row per number (lcm_modechange's indexes of today, without
   its foreign keys and triggers);
3. + one audit row per account instead of per number.

The product's distance to these is Python and Django's work, and (row 2 to
the product) the audit table's FKs and triggers.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from import_accounts import numbers  # the same rows

BATCH = 5000


def _field(value) -> bytes:
    """A format 3/4 layout field: 4-byte big-endian length, UTF-8 text."""
    if value is None:
        return b"\xff\xff\xff\xff"
    data = str(value).encode()
    return len(data).to_bytes(4, "big") + data


PERSONAL_TAG, ENTRY_TAG = _field("lcm-audit-personal-4"), _field("lcm-audit-entry-4")


def setup(conn) -> None:
    with conn.cursor() as cur:
        cur.execute("DROP SCHEMA IF EXISTS floor CASCADE")
        cur.execute("CREATE SCHEMA floor")
        for table in ("lcm_account", "lcm_contactmode", "lcm_modechange"):
            cur.execute(f"CREATE TABLE floor.{table} (LIKE public.{table} INCLUDING ALL)")
    conn.commit()


ACCOUNT_COLUMNS = ("id", "account_number", "first_name", "last_name", "campaign", "country",
                   "time_zone", "zip_code", "created_at", "import_fingerprint",
                   "import_fingerprint_seq")  # fmt: skip
MODE_COLUMNS = ("account_id", "mode_type_id", "number", "number_e164", "number_national",
                "number_as_given", "has_consent", "consent_source", "consent_by", "time_zone",
                "changed_at", "changed_by", "deleted_by")  # fmt: skip
ENTRY_COLUMNS = ("seq", "created_at", "action", "account_id", "account_number", "callid",
                 "agent_code", "username", "source", "mode_id", "old_number", "new_number",
                 "new_number_e164", "deleted_modes", "modes", "client_ip", "request_id",
                 "prev_hash", "hash", "salt", "version")  # fmt: skip


def run(conn, rows: int, *, audit: str) -> float:
    """Seconds to write `rows` accounts, their modes and (audit: "none",
    "number", "account") their audit rows."""
    setup(conn)
    now = datetime.now(UTC)
    seq = 0
    prev = "0" * 64
    # The entry layout's part every entry of a run shares (created_at … details).
    shared = ENTRY_TAG + b"".join(_field(v) for v in (
        now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "import", None, "", None, "", None, "bench",
        "import", None, "", None, None, None))  # fmt: skip
    started = time.perf_counter()
    with conn.cursor() as cur:
        for start in range(0, rows, BATCH):
            accounts, modes, entries = [], [], []
            for i in range(start, min(rows, start + BATCH)):
                key = f"{i % 97}|{i // 1000}|{i % 1000}|0|0|44|1"
                accounts.append((i + 1, key, "Ada", f"Customer{i}", f"C{i % 97}", "", "", "", now,
                                 "f" * 32, 0))  # fmt: skip
                cells = numbers(i)
                states = []
                for mode_id, cell in enumerate(cells, start=1):
                    digits = "".join(c for c in cell if c.isdigit() or c == "+")
                    modes.append((i + 1, mode_id, digits, digits, digits[-10:], cell, False, "",
                                  "", "", now, "import", ""))  # fmt: skip
                    states.append({"mode_id": mode_id, "before": None, "after": {"number": digits}})
                per = [states] if audit == "account" else [[s] for s in states]
                for touched in per if audit != "none" else []:
                    seq += 1
                    number = touched[0]["after"]["number"]
                    text = json.dumps(touched, sort_keys=True, separators=(",", ":"))
                    secret = os.urandom(32)
                    personal = hmac.digest(secret, PERSONAL_TAG + b"".join(_field(v) for v in (
                        "", number, number, "[]", text, None, None, None)),
                        "sha256").hex()  # fmt: skip
                    own = (seq, i + 1, key, touched[0]["mode_id"], personal, prev)
                    layout = shared + b"".join([_field(v) for v in own])
                    digest = hashlib.sha256(layout).hexdigest()
                    entries.append((seq, now, "import", i + 1, key, "", "", "bench", "import",
                                    touched[0]["mode_id"], "", number, number, "[]", text,
                                    None, "", prev, digest, secret.hex(), 4))  # fmt: skip
                    prev = digest
            for table, columns, values in (
                ("lcm_account", ACCOUNT_COLUMNS, accounts),
                ("lcm_contactmode", MODE_COLUMNS, modes),
                ("lcm_modechange", ENTRY_COLUMNS, entries),
            ):
                if values:
                    with cur.copy(f"COPY floor.{table} ({', '.join(columns)}) FROM STDIN") as copy:
                        for value in values:
                            copy.write_row(value)
            conn.commit()
    seconds = time.perf_counter() - started
    with conn.cursor() as cur:
        cur.execute("DROP SCHEMA floor CASCADE")
    conn.commit()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    with psycopg.connect(url) as conn:
        for label, audit in (
            ("accounts + modes (their indexes, no FKs)", "none"),
            ("+ audit row per number (today's indexes, no FKs, no triggers)", "number"),
            ("+ audit row per account instead", "account"),
        ):
            seconds = run(conn, args.rows, audit=audit)
            print(f"floor {label}: {seconds:,.1f} s ({args.rows / seconds:,.0f} rows/s)")


if __name__ == "__main__":
    main()
