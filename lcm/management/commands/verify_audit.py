"""Verify the audit chain: `python manage.py verify_audit`.

Exits 0 and prints the entry count and the head hash when every entry is
intact; record that line outside the database (a ticket, a signed e-mail),
then a later run with `--expect SEQ:HASH` proves the history up to it was
not rewritten. Exits 1 naming the first entry that was altered, removed,
inserted or reordered, or when the append-only triggers are missing.
"""

from __future__ import annotations

import re

from django.core.management.base import BaseCommand, CommandError

from lcm.audit import verify_chain
from lcm.models import ModeChange

_EXPECT = re.compile(r"(\d+):([0-9a-f]{64})")


class Command(BaseCommand):
    help = "Walk the hash-chained audit log and report the first broken entry."

    def add_arguments(self, parser):
        parser.add_argument(
            "--expect",
            metavar="SEQ:HASH",
            help="A head recorded earlier (as printed by a previous run): entry SEQ must "
            "still have HASH.",
        )

    def handle(self, *args, expect=None, **options):
        expected = None
        if expect is not None:
            match = _EXPECT.fullmatch(expect.strip().lower())
            if not match:
                raise CommandError("--expect must be SEQ:HASH, e.g. 1234:9f86d08…(64 hex digits)")
            expected = int(match[1]), match[2]

        report = verify_chain()
        if not report.ok:
            raise CommandError(
                f"Audit chain BROKEN: {report.problem}. "
                f"{report.count} entries before it are intact."
            )
        if expected is not None:
            seq, digest = expected
            stored = ModeChange.objects.filter(seq=seq).values_list("hash", flat=True).first()
            if stored != digest:
                raise CommandError(
                    f"Audit chain REWRITTEN: the recorded head #{seq} was {digest}, the log "
                    f"now has {stored or 'no such entry'}."
                )
        self.stdout.write(
            f"Audit chain OK: {report.count} entries, head #{report.head_seq} {report.head_hash}"
        )
        if report.missing_triggers:
            raise CommandError(
                "The chain is intact, but the append-only triggers are missing: "
                f"{', '.join(report.missing_triggers)}. Find out who dropped them, and re-create "
                'them (docs/audit.md, "Append-only").'
            )
