"""The CPU cost of sealing audit entries, in µs per entry (no database).

    env -u DATABASE_URL .venv/bin/python bench/audit_seal.py
    DATABASE_URL=postgres://bench@localhost/none .venv/bin/python bench/audit_seal.py

(The PostgreSQL URL is never connected to: it only makes the column values
be prepared as PostgreSQL takes them.) Two typical entries: a
SetNewModeNumber that sets mode 1 and deletes mode 2, and an import's entry
(one mode added, `modes` before null and after). For each, the best of 5
runs of `--number` entries:

- `seal`: what `lcm.audit` computes per entry, in each format it can write
  (format 2: a fresh secret, 7 salted digests and the hash over canonical
  JSON; format 3: a fresh secret, one HMAC over the personal fields' byte
  layout and one SHA-256 over the entry's; format 4, what appends write
  since migration 0030: format 3 with `business_fields` last in the
  personal layout);
- `batch row`: the import's Python cost per entry from its mode change to
  the row COPY sends: a `ModeChange` instance filled, sealed and turned into
  parameters (`lcm.bulk.insert_params`: what `write_batch` did before the
  tuple path), and the tuple path (`lcm.audit.batch_rows`, what it does
  now): the row built as a list in the table's column order, sealed in
  format 4 (format 3 before migration 0030), in batches of 1,000.

Prints a Markdown table and `uptime` (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import timeit
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")

import django  # noqa: E402

django.setup()

from lcm import audit, bulk  # noqa: E402
from lcm.audit import seal  # noqa: E402
from lcm.models import ModeChange  # noqa: E402

STATE = {
    "number": "3005550111",
    "e164": "+13005550111",
    "pewc": False,
    "pewc_source": "",
    "pewc_by": "",
    "pewc_at": None,
    "time_zone": "America/New_York",
    "window": None,
}
NOW = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)


def set_entry() -> ModeChange:
    return ModeChange(
        seq=123_456, created_at=NOW, action="set", account_id=1,
        account_number="5|3|1|0|0|44|1", call_id=1, callid="12345", agent_id=1,
        agent_code="testagent", user_id=2, username="testagent", source="agentapp", mode_id=1,
        old_number="6491462346", new_number="3005550111", new_number_e164="+13005550111",
        deleted_modes=[{"mode_id": 2, "number": "2025550143"}],
        modes=[{"mode_id": 1, "before": dict(STATE, number="6491462346"), "after": STATE},
               {"mode_id": 2, "before": dict(STATE, number="2025550143"), "after": None}],
        client_ip="10.0.0.7", request_id="r1", prev_hash="0" * 64,
    )  # fmt: skip


def import_entry() -> ModeChange:
    return ModeChange(
        seq=123_456, created_at=NOW, action="import", account_id=77,
        account_number="77|1|1|0|0|44|7", user_id=2, username="importer", source="import",
        mode_id=1, old_number="", new_number="3005550111", new_number_e164="+13005550111",
        deleted_modes=[], modes=[{"mode_id": 1, "before": None, "after": STATE}],
        prev_hash="0" * 64,
    )  # fmt: skip


def seal_formats() -> dict:
    """Each format's seal of one entry, as `lcm.audit` makes it."""

    def format2(entry):
        entry.version = None
        entry.salt = audit.new_secret()
        entry.hash = audit.compute_hash(entry, audit.personal_digests(entry))

    def format3(entry):
        entry.hash = audit.compute_hash(entry, seal.seal3(entry))

    def format4(entry):
        entry.hash = audit.compute_hash(entry, seal.seal4(entry))

    return {
        "format 2: secret, 7 salted digests, hash over JSON": format2,
        "format 3: secret, 1 HMAC, 1 SHA-256 over byte layouts": format3,
        "format 4: format 3 with business_fields (appends since 0030)": format4,
    }


def instance_path(entry: ModeChange, seal_entry):
    """What the batch writer did per entry before the tuple path: a
    ModeChange instance, filled, sealed, turned into COPY parameters."""
    template = entry

    def run():
        e = ModeChange(
            action=template.action, user_id=template.user_id, username=template.username,
            source=template.source,
        )  # fmt: skip
        e.account_id, e.account_number = template.account_id, template.account_number
        e.mode_id, e.old_number = template.mode_id, template.old_number
        e.new_number, e.new_number_e164 = template.new_number, template.new_number_e164
        e.deleted_modes, e.modes = template.deleted_modes, template.modes
        e.seq, e.prev_hash, e.created_at = template.seq, template.prev_hash, template.created_at
        seal_entry(e)
        return bulk.insert_params(e)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--number", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    def best(fn) -> float:
        runs = timeit.repeat(fn, number=args.number, repeat=args.repeat)
        return min(runs) / args.number * 1e6

    from django.db import connection

    print(f"vendor {connection.vendor}; best of {args.repeat} runs of {args.number:,} entries")
    print("| what, per entry | SetNewModeNumber entry | import entry |\n|---|---:|---:|")
    formats = seal_formats()
    for name, seal_entry in formats.items():
        cells = []
        for make in (set_entry, import_entry):
            entry = make()
            cells.append(best(lambda e=entry, s=seal_entry: s(e)))
        print(f"| seal, {name} | {cells[0]:.1f} µs | {cells[1]:.1f} µs |")
    for name, seal_entry in formats.items():
        cells = [best(instance_path(make(), seal_entry)) for make in (set_entry, import_entry)]
        print(f"| batch row, ModeChange instance, {name[:8]} | {cells[0]:.1f} µs | "
              f"{cells[1]:.1f} µs |")  # fmt: skip
    # The tuple path writes import entries only (no call, no other mode deleted).
    entry = import_entry()
    author = audit.BatchAuthor(
        action=entry.action, user_id=entry.user_id, username=entry.username, source=entry.source
    )
    subject = (entry.account_id, entry.account_number, entry.mode_id, entry.old_number,
               entry.new_number, entry.new_number_e164, entry.modes)  # fmt: skip
    subjects = [subject] * 1000
    batches = max(1, args.number // 1000)

    def tuples():
        audit.batch_rows(author, subjects, first_seq=1, prev_hash="0" * 64, now=NOW)

    per = min(timeit.repeat(tuples, number=batches, repeat=args.repeat)) / (batches * 1000) * 1e6
    print(f"| batch row, tuple path (`lcm.audit.batch_rows`), format 4 | - | {per:.1f} µs |")
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__":
    main()
