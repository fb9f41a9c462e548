"""The audit chain: how a ModeChange is appended and how its hash is made.

Canonical serialisation (documented in docs/audit.md): the entry's chained
fields as a JSON object with sorted keys, no spaces, UTF-8, `created_at` in
UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``; ``hash = sha256(that).hexdigest()``.
`prev_hash` is one of the fields, so each hash seals its predecessor; the
first entry's `prev_hash` is 64 zeros.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC

from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.utils import timezone

from .models import AuditChainHead, ModeChange

GENESIS_HASH = "0" * 64

# Every stored field but `hash` itself (and the surrogate `id`).
CHAINED_FIELDS = (
    "seq",
    "created_at",
    "action",
    "account_id",
    "account_number",
    "call_id",
    "callid",
    "agent_id",
    "agent_code",
    "user_id",
    "username",
    "source",
    "mode_id",
    "old_number",
    "new_number",
    "new_number_e164",
    "deleted_modes",
    "modes",
    "do_not_call",
    "reverts_id",
    "callback",
    "client_ip",
    "request_id",
    "prev_hash",
)


def canonical_bytes(entry: ModeChange) -> bytes:
    payload = {name: getattr(entry, name) for name in CHAINED_FIELDS}
    if payload["modes"] is None:
        # Entries written before `modes` existed were sealed without it:
        # they keep their bytes, so their hashes (and the chain) still hold.
        del payload["modes"]
    if payload["do_not_call"] is None:
        # Likewise: only do-not-call entries carry it; the others keep their bytes.
        del payload["do_not_call"]
    if payload["callback"] is None:
        # Only callback entries carry it (lcm.actions.callbacks): every other
        # entry, old or new, is sealed without the key.
        del payload["callback"]
    payload["created_at"] = entry.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def compute_hash(entry: ModeChange) -> str:
    return hashlib.sha256(canonical_bytes(entry)).hexdigest()


def append_entry(entry: ModeChange) -> ModeChange:
    """Give `entry` the next sequence number and hash, and insert it.

    Must run inside the caller's transaction, as its last write: the
    ``UPDATE … RETURNING`` on the single AuditChainHead row takes that row's
    lock until commit, so concurrent appends form one gap-free chain, and a
    rollback returns the number. (On SQLite the IMMEDIATE transaction already
    serialises writers.) Three statements: take the number, insert the entry,
    move the head's hash.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE lcm_auditchainhead SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash"
        )
        entry.seq, entry.prev_hash = cursor.fetchone()
        entry.created_at = timezone.now()
        entry.hash = compute_hash(entry)
        _insert(cursor, entry)
        cursor.execute("UPDATE lcm_auditchainhead SET hash = %s WHERE id = 1", [entry.hash])
    checkpoints.after_append(entry.seq, entry.seq)  # no statement: an on_commit hook
    return entry


def _insert(cursor, entry: ModeChange) -> None:
    """`entry.save(force_insert=True)`, minus the ORM's work of compiling the
    same INSERT on every call: the statement is built once, and each value
    goes to the database as the field's own `get_db_prep_save` makes it
    (`insert_params`)."""
    sql, _fields = _insert_statement()
    cursor.execute(sql, insert_params(entry))
    if connection.features.can_return_columns_from_insert:
        entry.pk = cursor.fetchone()[0]
    else:
        entry.pk = cursor.lastrowid
    entry._state.adding = False
    entry._state.db = connection.alias


def insert_params(entry: ModeChange) -> list:
    """The INSERT's parameters: each field's `get_db_prep_save` of its value,
    except where that returns the value unchanged — a str for a text column,
    an int for an integer column or a foreign key, None — which is passed as
    is (that call is most of an append's Python time otherwise).
    tests/test_audit_chain.py checks the result equals the ORM's."""
    params = []
    for attname, as_is, prep in _preparers():
        value = getattr(entry, attname)
        params.append(value if type(value) in as_is else prep(value, connection))
    return params


@functools.cache
def _preparers() -> list[tuple[str, tuple[type, ...], Callable]]:
    _sql, fields = _insert_statement()
    preparers = []
    for field in fields:
        if isinstance(field, models.ForeignKey | models.IntegerField):
            as_is = (int, type(None))  # exactly int: a bool goes through the field
        elif type(field) in (models.CharField, models.TextField):
            as_is = (str, type(None))
        else:
            as_is = ()  # dates, JSON, addresses: always through the field
        preparers.append((field.attname, as_is, field.get_db_prep_save))
    return preparers


@functools.cache
def _insert_statement() -> tuple[str, list]:
    meta = ModeChange._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    sql = (
        # Identifiers from the model's metadata, quoted; every value a parameter.
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    if connection.features.can_return_columns_from_insert:
        sql += f" RETURNING {quote(meta.pk.column)}"
    return sql, fields


def append_entries(entries: list[ModeChange]) -> list[ModeChange]:
    """Append many entries at once, in list order: one lock of the head.

    For bulk writers (imports). Same contract as `append_entry`: inside the
    caller's transaction, as its last write. The head moves by
    ``len(entries)`` in one ``UPDATE … RETURNING``; the entries are hashed
    here in order, each sealing the one before, inserted with one
    ``bulk_create`` and the head's hash set to the last one's.
    """
    if not entries:
        return entries
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE lcm_auditchainhead SET seq = seq + %s WHERE id = 1 RETURNING seq, hash",
            [len(entries)],
        )
        last_seq, prev_hash = cursor.fetchone()
        now = timezone.now()
        for seq, entry in enumerate(entries, start=last_seq - len(entries) + 1):
            entry.seq, entry.prev_hash, entry.created_at = seq, prev_hash, now
            entry.hash = prev_hash = compute_hash(entry)
        ModeChange.objects.bulk_create(entries, batch_size=1000)
        cursor.execute("UPDATE lcm_auditchainhead SET hash = %s WHERE id = 1", [prev_hash])
    checkpoints.after_append(entries[0].seq, entries[-1].seq)
    return entries


# --- Reading the whole log ---------------------------------------------------


def streaming_reads(using: str = DEFAULT_DB_ALIAS):
    """Where to run `.iterator()` over much of the log.

    On PostgreSQL, a transaction: Django's server-side cursor then streams
    rows as the query produces them. Outside one it is declared WITH HOLD,
    and PostgreSQL runs the whole query to completion before the first row.
    On SQLite, no transaction: in IMMEDIATE mode it would hold the write
    lock (and stop every change) for the whole read.
    """
    if connections[using].vendor == "postgresql":
        return transaction.atomic(using=using)
    return nullcontext()


# --- Verification ------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    """What `verify_chain` found. `problem` names the first bad entry."""

    count: int
    head_seq: int
    head_hash: str
    problem: str | None = None
    bad_seq: int | None = None
    missing_triggers: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.problem is None


REORDER_SEARCH = 10_000


def _describe_mismatch(entry: ModeChange) -> str:
    """Why an entry's content does not match its hash: it was moved here from
    another position (its hash matches it under another sequence number near
    this one), or its fields were edited."""
    original = copy.copy(entry)
    for distance in range(1, REORDER_SEARCH + 1):
        for candidate in (entry.seq - distance, entry.seq + distance):
            if candidate < 1:
                continue
            original.seq = candidate
            if compute_hash(original) == entry.hash:
                return (
                    f"entry #{entry.seq} (id {entry.pk}) was reordered: it was written as "
                    f"#{candidate}"
                )
    return (
        f"entry #{entry.seq} (id {entry.pk}) was altered: its content does not match its "
        f"hash {entry.hash[:12]}…"
    )


def verify_chain(
    *,
    chunk_size: int = 5000,
    after: tuple[int, str] = (0, GENESIS_HASH),
    observe: Callable[[ModeChange], str | None] | None = None,
) -> ChainReport:
    """Walk the audit chain in sequence order and report the first break.

    Checks, entry by entry: sequence numbers run 1, 2, 3… without a gap
    (removed entries), each `hash` matches the entry's content (altered or
    reordered entries), each `prev_hash` is the previous entry's hash
    (inserted or removed entries); then that the AuditChainHead row agrees
    with the last entry (entries removed from, or appended past, the end).

    `after` = (seq, hash) starts the walk past entry #seq, trusted to have
    that hash (a verified signed checkpoint: `lcm.checkpoints`); `observe`
    sees each entry that passed and may return a problem to stop at it.

    Streams the entries (`iterator`), so memory stays flat on any size. The
    head is read first and only entries up to it are walked: appends that
    commit meanwhile are not errors, they are simply left for the next run.
    """
    from .audit_triggers import missing

    head = AuditChainHead.objects.get(pk=1)
    count = 0
    previous_seq, previous_hash = after

    def broken(problem: str, seq: int | None) -> ChainReport:
        return ChainReport(count, previous_seq, previous_hash, problem, seq)

    entries = ModeChange.objects.filter(seq__gt=previous_seq, seq__lte=head.seq).order_by("seq")
    with streaming_reads(entries.db):  # a read replica's, under lcm.replica.auditor_reads
        for entry in entries.iterator(chunk_size=chunk_size):
            expected_seq = previous_seq + 1
            if entry.seq != expected_seq:
                gap = (
                    f"entry #{expected_seq} was"
                    if entry.seq == expected_seq + 1
                    else f"entries #{expected_seq} to #{entry.seq - 1} were"
                )
                return broken(
                    f"{gap} removed: the chain jumps from #{previous_seq} to "
                    f"#{entry.seq} (id {entry.pk})",
                    expected_seq,
                )
            if compute_hash(entry) != entry.hash:
                return broken(_describe_mismatch(entry), entry.seq)
            if entry.prev_hash != previous_hash:
                return broken(
                    f"entry #{entry.seq} (id {entry.pk}) does not follow entry "
                    f"#{previous_seq}: an entry was inserted, removed or reordered before it "
                    f"(prev_hash {entry.prev_hash[:12]}…, #{previous_seq} has "
                    f"{previous_hash[:12]}…)",
                    entry.seq,
                )
            if observe is not None and (problem := observe(entry)):
                return broken(problem, entry.seq)
            count += 1
            previous_seq, previous_hash = entry.seq, entry.hash

    if head.seq != previous_seq:
        return broken(
            f"entry #{previous_seq + 1} was removed: the chain head is at #{head.seq} but the "
            f"last entry is #{previous_seq}",
            previous_seq + 1,
        )
    if head.hash != previous_hash:
        return broken(
            f"entry #{previous_seq} does not match the chain head: the head records hash "
            f"{head.hash[:12]}…, the entry has {previous_hash[:12]}…",
            previous_seq,
        )
    # Entries past the head were not appended through the chain. Read the
    # entries before the head again: an append commits both at once.
    last_seq = ModeChange.objects.order_by("-seq").values_list("seq", flat=True).first()
    head_now = AuditChainHead.objects.get(pk=1)
    if last_seq is not None and last_seq > head_now.seq:
        beyond = ModeChange.objects.filter(seq__gt=head_now.seq).order_by("seq").first()
        return broken(
            f"entry #{beyond.seq} (id {beyond.pk}) was inserted: it lies past the chain head "
            f"#{head_now.seq}",
            beyond.seq,
        )
    return ChainReport(
        count, previous_seq, previous_hash, missing_triggers=tuple(missing(connection))
    )


# Last: lcm.checkpoints imports this module (the hash), and appends call it.
from . import checkpoints  # noqa: E402
