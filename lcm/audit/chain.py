"""The audit chain: appending entries and walking the chain to verify it.

How each entry is sealed (its bytes and hash, formats 1 to 4) is
`lcm.audit.seal`; this module numbers entries, links each to the one before
(`prev_hash`), inserts them under the chain head's lock, and verifies the
whole. Appends write format 4. A batch writer (the import) appends rows
built as tuples in the table's column order (`append_rows`), never model
instances: the same column list (`COLUMNS`) as the single-row INSERT.
After an append it calls `lcm.audit.checkpoints.after_append` (the
checkpoint module's one entry point for appends; it imports nothing from here).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import os
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from .. import bulk, cursors
from ..models import AuditChainHead, ModeChange
from . import checkpoints, seal
from .seal import (
    ERASED_VALUES,
    FORMAT3,
    FORMAT4,
    GENESIS_HASH,
    compute_hash,
    content_matches,
    entry_format,
    seal4,
)
from .triggers import missing


def append_entry(entry: ModeChange) -> ModeChange:
    """Give `entry` the next sequence number and hash, and insert it.

    Must run inside the caller's transaction, as its last write: the
    ``UPDATE … RETURNING`` on the single AuditChainHead row takes that row's
    lock until commit, so concurrent appends form one gap-free chain, and a
    rollback returns the number. (On SQLite the IMMEDIATE transaction already
    serialises writers.) Take the number, then insert the entry and move the
    head's hash: on PostgreSQL one statement (`_insert_moving_head`), on
    SQLite two. The entry's salted digests depend on nothing the head holds,
    so they are made before its lock is taken (docs/scaling.md, "Faults":
    every other writer waits while one holds it).
    """
    digests = seal4(entry)  # format 4
    with cursors.cursor() as cursor:
        cursor.execute(
            "UPDATE lcm_auditchainhead SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash"
        )
        entry.seq, entry.prev_hash = cursor.fetchone()
        entry.created_at = timezone.now()
        entry.hash = compute_hash(entry, digests)
        if connection.vendor == "postgresql":
            cursor.execute(_insert_moving_head(), [*bulk.insert_params(entry), entry.hash])
            _inserted(entry, cursor.fetchone()[0])
        else:
            _insert(cursor, entry)
            cursor.execute(_MOVE_HEAD, [entry.hash])
    checkpoints.after_append(entry.seq, entry.seq)  # no statement: an on_commit hook
    return entry


_MOVE_HEAD = "UPDATE lcm_auditchainhead SET hash = %s WHERE id = 1"


@functools.cache
def _insert_moving_head() -> str:
    """PostgreSQL: the entry's INSERT and the head's new hash in one round
    trip, a data-modifying CTE (SQLite has none), answering the entry's id.
    The head row is already this transaction's (locked by the UPDATE that
    took the number)."""
    return (
        f"WITH entry AS ({bulk.insert_statement(ModeChange)}) "  # noqa: S608 (constants)
        f"{_MOVE_HEAD} RETURNING (SELECT id FROM entry)"
    )


def _insert(cursor, entry: ModeChange) -> None:
    """`entry.save(force_insert=True)`, minus the ORM's work of compiling the
    same INSERT on every call: the statement is built once, and each value
    goes to the database as the field's own `get_db_prep_save` makes it
    (`lcm.bulk.insert_params`)."""
    cursor.execute(bulk.insert_statement(ModeChange), bulk.insert_params(entry))
    if connection.features.can_return_columns_from_insert:
        _inserted(entry, cursor.fetchone()[0])
    else:
        _inserted(entry, cursor.lastrowid)


def _inserted(entry: ModeChange, pk: int) -> None:
    entry.pk = pk
    entry._state.adding = False
    entry._state.db = connection.alias


def erase_personal_fields(entries, digests: dict, *, erased_by: ModeChange) -> None:
    """Blank the personal fields of `entries` (lcm.actions.erasure), keeping
    each one's digests (`digests`: entry pk → digests, None for format 1)
    and naming the erase entry. One UPDATE per entry: the append-only
    triggers let exactly this through (lcm.audit.triggers)."""
    for entry in entries:
        ModeChange.objects.filter(pk=entry.pk).update(
            **ERASED_VALUES, salt=None, digests=digests.get(entry.pk), erased_by=erased_by
        )


def append_entries(entries: list[ModeChange]) -> list[ModeChange]:
    """Append many entries at once, in list order: one lock of the head.

    For bulk writers (imports). Same contract as `append_entry`: inside the
    caller's transaction, as its last write. The head moves by
    ``len(entries)`` in one ``UPDATE … RETURNING``; the entries are hashed
    here in order, each sealing the one before, inserted at once
    (`lcm.bulk.insert_many`: COPY on PostgreSQL, so their `pk` stays unset)
    and the head's hash set to the last one's.
    """
    if not entries:
        return entries
    digests = [seal4(entry) for entry in entries]  # before the head's lock, as in `append_entry`
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE lcm_auditchainhead SET seq = seq + %s WHERE id = 1 RETURNING seq, hash",
            [len(entries)],
        )
        last_seq, prev_hash = cursor.fetchone()
        now = timezone.now()
        pairs = zip(entries, digests, strict=True)
        for seq, (entry, sealed) in enumerate(pairs, start=last_seq - len(entries) + 1):
            entry.seq, entry.prev_hash, entry.created_at = seq, prev_hash, now
            entry.hash = prev_hash = compute_hash(entry, sealed)
        bulk.insert_many(entries)
        cursor.execute("UPDATE lcm_auditchainhead SET hash = %s WHERE id = 1", [prev_hash])
    checkpoints.after_append(entries[0].seq, entries[-1].seq)
    return entries


# --- The tuple path: a batch of rows, no model instances -----------------------------

# The columns of an entry's INSERT, in order: the single-row INSERT
# (`bulk.insert_statement`, `bulk.insert_params`) and the batch's COPY
# (`append_rows`) both name exactly these.
COLUMNS = tuple(field.column for field in bulk.insert_fields(ModeChange))
_AT = {name: i for i, name in enumerate(COLUMNS)}


@dataclass(frozen=True)
class BatchAuthor:
    """What every entry of a batch shares: its action and who made it
    (an import: `import`, the importing user and the source app)."""

    action: str
    username: str = ""
    source: str = ""
    user_id: int | None = None


class Appended(NamedTuple):
    """An entry `append_rows` appended (its row is not read back)."""

    seq: int
    account_id: int
    hash: str


# A subject: one entry's own values, in this order (the personal ones as
# values, `modes` as a list):
# (account_id, account_number, mode_id, old_number, new_number, new_number_e164, modes)
Subject = tuple


def _subject_rows(author: BatchAuthor, subjects: Sequence[Subject]) -> tuple[list, list]:
    """Before the head's lock: each entry's secret, personal digest and row
    (the seq, `created_at`, `prev_hash` and `hash` left to `_chain_rows`).
    Values as the database takes them: JSON as its text (which PostgreSQL's
    COPY parses into jsonb and SQLite stores), the secret in hex."""
    template = [None] * len(COLUMNS)
    template[_AT["action"]] = author.action
    template[_AT["user_id"]] = author.user_id
    template[_AT["username"]] = author.username
    template[_AT["source"]] = author.source
    for name in ("callid", "agent_code", "request_id"):
        template[_AT[name]] = ""
    template[_AT["deleted_modes"]] = "[]"
    template[_AT["version"]] = FORMAT4
    at_account, at_key, at_mode = _AT["account_id"], _AT["account_number"], _AT["mode_id"]
    at_old, at_new, at_e164 = _AT["old_number"], _AT["new_number"], _AT["new_number_e164"]
    at_modes, at_salt = _AT["modes"], _AT["salt"]
    encode, field, digest = seal._ENCODER.encode, seal.field_bytes, seal.personal_digest3
    # The personal layout: tag, old, new, e164, deleted_modes "[]", modes, then
    # do_not_call, callback and business_fields, null.
    tag, empty, tail = seal._PERSONAL_TAG4, field("[]"), seal.NULL * 3
    keys = os.urandom(32 * len(subjects))  # every entry's secret, in one call
    rows, digests = [], []
    for i, (account_id, key, mode_id, old, new, e164, modes) in enumerate(subjects):
        secret = keys[32 * i : 32 * i + 32]
        modes_text = encode(modes)
        personal = b"".join(
            (tag, field(old), field(new), field(e164), empty, field(modes_text), tail)
        )
        row = template.copy()
        row[at_account], row[at_key], row[at_mode] = account_id, key, mode_id
        row[at_old], row[at_new], row[at_e164] = old, new, e164
        row[at_modes], row[at_salt] = modes_text, secret.hex()
        rows.append(row)
        digests.append(digest(secret, personal))
    return rows, digests


def _chain_rows(
    author: BatchAuthor,
    rows: list,
    digests: list[str],
    *,
    first_seq: int,
    prev_hash: str,
    now: datetime,
) -> str:
    """Under the head's lock: number the rows from `first_seq`, link and
    hash them (format 4's entry layout, the shared part encoded once);
    returns the last hash."""
    field, sha256 = seal.field_bytes, hashlib.sha256
    shared = {name: None for name in seal.SHARED3}
    shared.update(
        created_at=seal.utc_text(now),
        action=author.action,
        callid="",
        agent_code="",
        user_id=author.user_id,
        username=author.username,
        source=author.source,
        request_id="",
    )
    prefix = seal._ENTRY_TAG4 + b"".join([field(shared[name]) for name in seal.SHARED3])
    created_at = connection.ops.adapt_datetimefield_value(now)
    at_seq, at_created = _AT["seq"], _AT["created_at"]
    at_prev, at_hash = _AT["prev_hash"], _AT["hash"]
    at_account, at_key, at_mode = _AT["account_id"], _AT["account_number"], _AT["mode_id"]
    for seq, (row, digest) in enumerate(zip(rows, digests, strict=True), start=first_seq):
        layout = b"".join(
            (prefix, field(seq), field(row[at_account]), field(row[at_key]), field(row[at_mode]),
             field(digest), field(prev_hash))
        )  # fmt: skip
        row[at_seq], row[at_created], row[at_prev] = seq, created_at, prev_hash
        row[at_hash] = prev_hash = sha256(layout).hexdigest()
    return prev_hash


def batch_rows(
    author: BatchAuthor, subjects: Sequence[Subject], *, first_seq: int, prev_hash: str, now
) -> list:
    """The rows `append_rows` inserts for `subjects`, numbered from
    `first_seq` after `prev_hash` (its Python work alone: bench/audit_seal.py)."""
    rows, digests = _subject_rows(author, subjects)
    _chain_rows(author, rows, digests, first_seq=first_seq, prev_hash=prev_hash, now=now)
    return rows


def append_rows(author: BatchAuthor, subjects: Sequence[Subject]) -> list[Appended]:
    """Append one entry per subject, in order: the tuple path of a batch
    writer (`lcm.actions.modes.write_batch`). Same contract as
    `append_entries` (inside the caller's transaction, as its last write;
    one lock of the head), the same entries, sealed in format 4, without a
    `ModeChange` instance: each row is a list in `COLUMNS` order, inserted
    by COPY on PostgreSQL (`bulk.insert_rows`)."""
    if not subjects:
        return []
    rows, digests = _subject_rows(author, subjects)  # before the head's lock
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE lcm_auditchainhead SET seq = seq + %s WHERE id = 1 RETURNING seq, hash",
            [len(rows)],
        )
        last_seq, prev_hash = cursor.fetchone()
        first_seq = last_seq - len(rows) + 1
        head = _chain_rows(
            author, rows, digests, first_seq=first_seq, prev_hash=prev_hash, now=timezone.now()
        )
        bulk.insert_rows(ModeChange._meta.db_table, COLUMNS, rows)
        cursor.execute(_MOVE_HEAD, [head])
    checkpoints.after_append(first_seq, last_seq)
    at_seq, at_account, at_hash = _AT["seq"], _AT["account_id"], _AT["hash"]
    return [Appended(row[at_seq], row[at_account], row[at_hash]) for row in rows]


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
    # Erasure (docs/audit.md): format 2 entries walked whose values were
    # erased (their digests still give the hash: fully checked), format 1
    # entries walked whose values were erased (their hash could not be
    # recomputed, only their place in the chain checked), and the first
    # format 2 entry walked.
    erased_checked: int = 0
    erased_unrecomputable: tuple[int, ...] = ()
    format2_from: int | None = None
    format3_from: int | None = None  # the first format 3 entry walked
    format4_from: int | None = None  # the first format 4 entry walked

    @property
    def ok(self) -> bool:
        return self.problem is None


REORDER_SEARCH = 10_000
_FORMATS = {
    1: "values in the hash",
    2: "salted digests in JSON",
    FORMAT3: "byte layouts",
    FORMAT4: "byte layouts with business fields",
}


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
    that hash (a verified signed checkpoint: `lcm.audit.checkpoints`); `observe`
    sees each entry that passed and may return a problem to stop at it.

    Streams the entries (`iterator`), so memory stays flat on any size. The
    head is read first and only entries up to it are walked: appends that
    commit meanwhile are not errors, they are simply left for the next run.
    """
    head = AuditChainHead.objects.get(pk=1)
    count = 0
    previous_seq, previous_hash = after

    erased_checked = 0
    unrecomputable: list[int] = []
    erased: list[tuple[int, int, int]] = []  # (seq, erased_by_id, account_id)
    # The format of the entries walked so far never goes down: the first
    # entry of each format is its epoch (formats 2, 3 and 4: migrations
    # 0018, 0026 and 0030). A walk from a checkpoint starts at the format before it.
    latest = 1
    format2_from = format3_from = format4_from = None

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
            version = entry_format(entry)
            if version not in _FORMATS:
                return broken(
                    f"entry #{entry.seq} (id {entry.pk}) claims format {version}, which lcm "
                    "never wrote: it was not written by lcm",
                    entry.seq,
                )
            if version < latest:
                began = {FORMAT4: format4_from, FORMAT3: format3_from}.get(latest, format2_from)
                return broken(
                    f"entry #{entry.seq} (id {entry.pk}) is in format {version} "
                    f"({_FORMATS[version]}) after format {latest} began at #{began}: it was not "
                    "written by lcm",
                    entry.seq,
                )
            if version > latest:
                latest = version
                if version >= 2:
                    format2_from = format2_from or entry.seq
                if version == FORMAT3:
                    format3_from = entry.seq
                if version == FORMAT4:
                    format4_from = entry.seq
            matches = content_matches(entry)
            if matches is False:
                return broken(_describe_mismatch(entry), entry.seq)
            if entry.erased_by_id is not None:
                erased.append((entry.seq, entry.erased_by_id, entry.account_id))
                if matches is None:
                    unrecomputable.append(entry.seq)
                else:
                    erased_checked += 1
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
    if problem := check_erasures(erased):
        return broken(*problem)
    return ChainReport(
        count,
        previous_seq,
        previous_hash,
        missing_triggers=tuple(missing(connection)),
        erased_checked=erased_checked,
        erased_unrecomputable=tuple(unrecomputable),
        format2_from=format2_from,
        format3_from=format3_from,
        format4_from=format4_from,
    )


def check_erasures(erased: list[tuple[int, int, int]]) -> tuple[str, int] | None:
    """Every erased entry must be named by the erase entry it points to: an
    entry of action `erase`, on the same account, later in the chain (so
    sealed with the rest), whose record lists its seq. Values blanked any
    other way are reported. One query per 1,000 erase entries."""
    by_id: dict[int, ModeChange] = {}
    wanted = sorted({erased_by for _, erased_by, _ in erased})
    for i in range(0, len(wanted), 1000):
        by_id.update(ModeChange.objects.in_bulk(wanted[i : i + 1000]))
    for seq, erased_by, account_id in erased:
        record = by_id.get(erased_by)
        listed = (record.erasure or {}).get("entries", []) if record else []
        if (
            record is None
            or record.action != ModeChange.Action.ERASE
            or record.account_id != account_id
            or record.seq <= seq
            or seq not in listed
        ):
            return (
                f"entry #{seq}'s values were blanked without an erasure: the erase entry it "
                "points to does not record erasing it",
                seq,
            )
    return None
