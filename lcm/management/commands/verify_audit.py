"""Verify the audit log: `python manage.py verify_audit [--full]`.

Walks the hash chain, and, when checkpoints are signed (LCM_AUDIT_SIGNING_KEY_FILE
or LCM_AUDIT_PUBLIC_KEY_FILE set), checks it against every signed checkpoint the
witness holds, with the public key: a rewrite of any entry at or before a
witnessed checkpoint fails, whatever was recomputed inside the database; a
forged or missing checkpoint fails as such. With checkpoints the walk is
incremental: from the last checkpoint a previous run verified (`--full`:
from the first entry). Exits 0 and prints the count and the head; exits 1
naming the first broken entry or checkpoint, or when the append-only
triggers are missing. `--expect SEQ:HASH` checks a head recorded by hand.

With a read replica (DATABASE_REPLICA_URL, lcm.replica) the walk reads the
replica, not the primary: it first waits (`--replica-wait`, default 30 s)
until the replica has replayed all that the primary had committed when the
run began, and fails naming the lag if it has not by then; `--replica-wait 0`
verifies the log as far as the replica has it. The append-only triggers
are checked on the primary. A replica that does not answer, or a database
lost during the walk, is one line naming it (exit 1), never a traceback.
"""

from __future__ import annotations

import re

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections

from lcm.audit import GENESIS_HASH, check_erasures, checkpoints, merkle, verify_chain
from lcm.faults import database_fault
from lcm.models import AuditCheckpoint, ModeChange
from lcm.replica import auditor_db, auditor_reads, describe, wait_for_replica

_EXPECT = re.compile(r"(\d+):([0-9a-f]{64})")


class Command(BaseCommand):
    help = "Verify the audit log: the hash chain, and the signed checkpoints of its witness."

    def add_arguments(self, parser):
        parser.add_argument(
            "--expect",
            metavar="SEQ:HASH",
            help="A head recorded earlier (as printed by a previous run): entry SEQ must "
            "still have HASH.",
        )
        parser.add_argument(
            "--full",
            action="store_true",
            help="Walk every entry, not only those after the last verified checkpoint.",
        )
        parser.add_argument(
            "--replica-wait",
            type=float,
            default=30.0,
            metavar="SECONDS",
            help="With a read replica: wait this long for it to replay what the primary has "
            "committed before verifying (0: verify what the replica has now).",
        )

    def handle(self, *args, replica_wait=30.0, **options):
        alias = auditor_db()
        if alias != DEFAULT_DB_ALIAS:
            try:
                connections[alias].ensure_connection()
            except DatabaseError as exc:
                raise CommandError(
                    f"The read replica {describe(alias)} does not answer ({_first_line(exc)}): "
                    "nothing was verified. Start it, or unset DATABASE_REPLICA_URL to verify "
                    "on the primary."
                ) from exc
        try:
            self._handle(replica_wait, **options)
        except DatabaseError as exc:
            if database_fault(exc) is None:
                raise
            raise CommandError(
                f"The database failed during the check ({_first_line(exc)}): nothing was "
                "verified. Run verify_audit again."
            ) from exc

    def _handle(self, replica_wait, **options):
        if replica_wait > 0:
            behind = wait_for_replica(replica_wait)
            if behind:
                raise CommandError(
                    f"The read replica ({auditor_db()}) is still {behind:,} bytes of WAL behind "
                    f"the primary after {replica_wait:g} s: it is not replaying (paused, or "
                    "broken?). Retry, or pass --replica-wait 0 to verify what it holds."
                )
        with auditor_reads():
            self._verify(**options)

    def _verify(self, expect=None, full=False, **options):
        expected = None
        if expect is not None:
            match = _EXPECT.fullmatch(expect.strip().lower())
            if not match:
                raise CommandError("--expect must be SEQ:HASH, e.g. 1234:9f86d08…(64 hex digits)")
            expected = int(match[1]), match[2]

        try:
            public = checkpoints.public_key()
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
        if public is None:
            report = verify_chain()
            walked_from, witnessed = 0, None
        else:
            report, walked_from, witnessed = self._verify_signed(public, full)
        if not report.ok:
            raise CommandError(
                f"Audit chain BROKEN: {report.problem}. "
                f"{walked_from + report.count} entries before it are intact."
            )
        if expected is not None:
            seq, digest = expected
            stored = ModeChange.objects.filter(seq=seq).values_list("hash", flat=True).first()
            if stored != digest:
                raise CommandError(
                    f"Audit chain REWRITTEN: the recorded head #{seq} was {digest}, the log "
                    f"now has {stored or 'no such entry'}."
                )
        # Every erased entry, walked in this run or not, must be named by its erase entry.
        erased = ModeChange.objects.filter(erased_by__isnull=False).values_list(
            "seq", "erased_by_id", "account_id"
        )
        if problem := check_erasures(list(erased)):
            raise CommandError(f"Audit chain BROKEN: {problem[0]}.")
        unrecomputable = ModeChange.objects.filter(
            erased_by__isnull=False, digests__isnull=True
        ).values_list("seq", flat=True)
        unrecomputable = sorted(unrecomputable)
        caveat = (
            f" ({len(unrecomputable)} of them erased in format 1: their content could not be "
            "recomputed, see below)"
            if unrecomputable
            else ""
        )
        self.stdout.write(
            f"Audit chain OK: {walked_from + report.count} entries, head #{report.head_seq} "
            f"{report.head_hash}{caveat}"
        )
        self._describe_erasure(
            report, walked_from, unrecomputable, witnessed.checkpoints if witnessed else {}
        )
        if witnessed is not None:
            self._describe(witnessed, walked_from, report.count)
        elif _has_checkpoints():
            self.stdout.write(
                "Signed checkpoints exist but no key is configured to check them "
                "(LCM_AUDIT_PUBLIC_KEY_FILE): they were not checked."
            )
        if report.missing_triggers:
            raise CommandError(
                "The chain is intact, but the append-only triggers are missing: "
                f"{', '.join(report.missing_triggers)}. Find out who dropped them, and re-create "
                'them (docs/audit.md, "Append-only").'
            )

    def _verify_signed(self, public, full: bool):
        try:
            witnessed = checkpoints.gather(public)
        except checkpoints.CheckpointProblem as problem:
            raise CommandError(f"Audit checkpoints BROKEN: {problem}.") from problem
        signed = witnessed.checkpoints
        rewritten = checkpoints.check_boundaries(signed)
        if rewritten is not None:
            problem, first = rewritten
            raise CommandError(
                f"Audit chain REWRITTEN: {problem}. Entries before #{first} match their "
                "checkpoints."
            )
        start, frontier = (0, merkle.Frontier()) if full else checkpoints.verified_start(signed)
        reached = {"size": start, "frontier": frontier.to_json()}

        def observe(entry) -> str | None:
            frontier.append(merkle.entry_leaf(entry.hash))
            checkpoint = signed.get(frontier.size)
            if checkpoint is None:
                return None
            if frontier.root().hex() != checkpoint["root_hash"]:
                return (
                    f"the entries up to #{frontier.size} do not give the Merkle root that "
                    f"checkpoint #{frontier.size} signed"
                )
            reached.update(size=frontier.size, frontier=frontier.to_json())
            return None

        after = (start, signed[start]["head_hash"] if start else GENESIS_HASH)
        report = verify_chain(after=after, observe=observe)
        if report.ok and reached["size"] > start:
            checkpoints.remember_verified(reached["size"], reached["frontier"])
        return report, start, witnessed

    def _describe_erasure(self, report, walked_from, unrecomputable, signed) -> None:
        """Say exactly what was and was not checked of the erased entries
        (docs/audit.md, "Erasure"): never a bare OK for them."""
        if walked_from == 0 and (epochs := _epochs(report)):
            self.stdout.write(epochs)
        erased = ModeChange.objects.filter(erased_by__isnull=False).count()
        if not erased:
            return
        self.stdout.write(
            f"Erased: the personal values of {erased} entries. Each is named by the erase "
            "entry it points to (checked)."
        )
        if report.erased_checked:
            self.stdout.write(
                f"{report.erased_checked} erased entries of format 2, 3 or 4 walked in this run "
                "were checked in full: their salted digests still give their hashes."
            )
        if not unrecomputable:
            return
        seqs = ", ".join(f"#{s}" for s in unrecomputable[:10])
        more = f" and {len(unrecomputable) - 10} more" if len(unrecomputable) > 10 else ""
        self.stdout.write(
            f"NOT CHECKED: the content of {len(unrecomputable)} erased entries of format 1 "
            f"({seqs}{more}): their values were in their hashes and are gone, so those hashes "
            "cannot be recomputed. What was checked of them: their place in the chain (each "
            "prev_hash link), and:"
        )
        attested: dict[int, list[int]] = {}
        bare = []
        for seq in unrecomputable:
            checkpoint = _attesting(seq, signed)
            if checkpoint is None:
                bare.append(seq)
            else:
                attested.setdefault(checkpoint["tree_size"], []).append(seq)
        for size, covered in sorted(attested.items()):
            self.stdout.write(
                f"  - {', '.join(f'#{s}' for s in covered[:10])}: their hashes are attested by "
                f"signed checkpoint #{size} of {signed[size]['timestamp']}, whose Merkle root "
                "the log still gives."
            )
        if bare:
            self.stdout.write(
                f"  - {', '.join(f'#{s}' for s in bare[:10])}: no signed checkpoint checked "
                "in this run covers them: only the hashes of the entries after them vouch for "
                "them (whoever can write the database could have rewritten them)."
            )

    def _describe(self, witnessed, walked_from: int, walked: int) -> None:
        if walked_from:
            self.stdout.write(
                f"Checked the {walked} entries after checkpoint #{walked_from}, verified "
                "earlier (--full checks every entry)."
            )
        latest = witnessed.latest_witnessed
        if latest is not None:
            self.stdout.write(
                f"Signed checkpoint #{latest['tree_size']} of {latest['timestamp']} (key "
                f"{latest['key_id']}), held by the witness {witnessed.witness}: the log "
                "matches it."
            )
        elif witnessed.checkpoints:
            last = witnessed.checkpoints[max(witnessed.checkpoints)]
            self.stdout.write(
                f"Signed checkpoint #{last['tree_size']} of {last['timestamp']} checked, from "
                f"{witnessed.witness}."
            )
        else:
            self.stdout.write(
                "No signed checkpoint yet: one is made every LCM_AUDIT_CHECKPOINT_EVERY entries, "
                "or by `python manage.py audit_checkpoint`."
            )
        if witnessed.behind:
            sizes = ", ".join(f"#{s}" for s in witnessed.behind[:5])
            more = f" and {len(witnessed.behind) - 5} more" if len(witnessed.behind) > 5 else ""
            self.stdout.write(
                f"WARNING: the witness is behind: {len(witnessed.behind)} signed checkpoint(s) "
                f"({sizes}{more}) are queued, not yet delivered to {witnessed.witness}. They "
                "are retried at the next checkpoint and by `python manage.py audit_checkpoint`."
            )


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _attesting(seq: int, signed: dict[int, dict]) -> dict | None:
    """The first signed checkpoint that covers entry #seq."""
    sizes = [size for size in signed if size >= seq]
    return signed[min(sizes)] if sizes else None


def _has_checkpoints() -> bool:
    """Also right on a database not yet migrated to signed checkpoints."""
    table = AuditCheckpoint._meta.db_table
    return table in connection.introspection.table_names() and AuditCheckpoint.objects.exists()


_FORMAT_NAMES = {
    1: "format 1 (their personal values are in their hashes)",
    2: "format 2 (salted digests)",
    3: "format 3 (byte layouts, one personal digest)",
    4: "format 4 (byte layouts, one personal digest with business fields)",
}


def _epochs(report) -> str | None:
    """Where each format begins, when the log holds more than the latest
    (docs/audit.md, "Format 1, format 2 and the epoch", "Format 3", "Format 4")."""
    starts = {1: 1}
    if report.format2_from:
        starts[2] = report.format2_from
    if report.format3_from:
        starts[3] = report.format3_from
    if report.format4_from:
        starts[4] = report.format4_from
    # A format whose first entry is the next format's holds no entry.
    spans = [
        (version, start)
        for version, start in sorted(starts.items())
        if not any(later == start for v, later in starts.items() if v > version)
    ]
    if len(spans) < 2:
        return None
    (first, _), rest = spans[0], spans[1:]
    return (
        f"Entries #1 to #{rest[0][1] - 1} are in {_FORMAT_NAMES[first]}; "
        + "; ".join(f"{_FORMAT_NAMES[version]} from #{start}" for version, start in rest)
        + "."
    )
