"""The audit chain: how a ModeChange is appended and how its hash is made.

Canonical serialisation (documented in docs/audit.md): the entry's chained
fields as a JSON object with sorted keys, no spaces, UTF-8, `created_at` in
UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``; ``hash = sha256(that).hexdigest()``.
`prev_hash` is one of the fields, so each hash seals its predecessor; the
first entry's `prev_hash` is 64 zeros.

Two formats (docs/audit.md, "Erasure"). Format 1, every entry written before
migration 0018: the personal fields' values are in the hashed JSON. Format 2,
from then on: each personal field (`PERSONAL_FIELDS`) is hashed as its salted
digest, ``sha256(salt_f || canonical JSON of the value)`` with
``salt_f = HMAC-SHA256(entry secret, field name)``, and the JSON carries
``"v": 2``. The values and the entry's secret stay in the row; erasing them
(`lcm.actions.erasure`) keeps the digests, so the hash, the chain and every
signed checkpoint still verify without them.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from . import bulk, cursors
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
    "erasure",
    "details",
    "prev_hash",
)

# The contact's personal data in an entry: sealed as salted digests in
# format 2, erased by `lcm.actions.erasure`. `client_ip` is not among them:
# it is the address of the agent's desktop or the dialer that sent the
# request, not the contact's (docs/audit.md, "Erasure").
PERSONAL_FIELDS = (
    "old_number",
    "new_number",
    "new_number_e164",
    "deleted_modes",
    "modes",
    "do_not_call",
    "callback",
)
# Fields left out of the hashed JSON when null (entries older than them were
# sealed without the key; every other entry keeps its bytes).
_OMITTED_WHEN_NULL = ("modes", "do_not_call", "callback", "erasure", "details")
# What an erased entry holds in its personal fields (the append-only
# triggers allow exactly this change, lcm.audit_triggers).
ERASED_VALUES = {
    "old_number": "",
    "new_number": "",
    "new_number_e164": "",
    "deleted_modes": [],
    "modes": [],
    "do_not_call": None,
    "callback": None,
}


# json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
# with the encoder made once: dumps makes a new one per call when given
# options, and an append encodes eight times (its digests and its bytes).
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _json(value) -> bytes:
    return _ENCODER.encode(value).encode()


def field_salt(secret: str, field: str) -> bytes:
    """The salt of one personal field: disclosing it (to prove that field's
    value) reveals nothing about the entry's other fields."""
    return hmac.digest(bytes.fromhex(secret), field.encode(), "sha256")


def field_digest(salt: bytes, value) -> str:
    return hashlib.sha256(salt + _json(value)).hexdigest()


def personal_digests(entry: ModeChange) -> dict[str, str]:
    """The digests format 2 seals: computed from the values while the entry
    has its secret, the stored ones once they are erased. A null field that
    the format omits has none."""
    if entry.salt is None:
        return dict(entry.digests or {})
    key = bytes.fromhex(entry.salt)  # field_salt, with the key decoded once: the hot path
    return {
        name: field_digest(hmac.digest(key, name.encode(), "sha256"), getattr(entry, name))
        for name in PERSONAL_FIELDS
        if not (name in _OMITTED_WHEN_NULL and getattr(entry, name) is None)
    }


def is_format2(entry: ModeChange) -> bool:
    return entry.salt is not None or entry.digests is not None


def recomputable(entry: ModeChange) -> bool:
    """False for a format 1 entry whose values were erased: its hash was
    made over them and can no longer be recomputed."""
    return is_format2(entry) or entry.erased_by_id is None


class ContentErased(Exception):
    """A format 1 entry's values were erased: its canonical bytes are gone."""


def canonical_payload(entry: ModeChange, digests: dict[str, str] | None = None) -> dict:
    """The JSON object whose canonical bytes are hashed. Raises ContentErased
    for an erased format 1 entry. `digests`: the entry's `personal_digests`,
    when the caller made them already."""
    payload = {name: getattr(entry, name) for name in CHAINED_FIELDS}
    # Entries written before `modes` existed were sealed without it, and only
    # do-not-call, callback and erase entries carry their fields: a null one
    # is left out, so every entry keeps the bytes it was sealed with.
    for name in _OMITTED_WHEN_NULL:
        if payload[name] is None:
            del payload[name]
    if is_format2(entry):
        for name in PERSONAL_FIELDS:
            payload.pop(name, None)
        payload.update(personal_digests(entry) if digests is None else digests)
        payload["v"] = 2
    elif entry.erased_by_id is not None:
        raise ContentErased(f"entry #{entry.seq}'s values were erased")
    payload["created_at"] = entry.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return payload


def canonical_bytes(entry: ModeChange) -> bytes:
    return _json(canonical_payload(entry))


def compute_hash(entry: ModeChange, digests: dict[str, str] | None = None) -> str:
    return hashlib.sha256(_json(canonical_payload(entry, digests))).hexdigest()


def content_matches(entry: ModeChange) -> bool | None:
    """Does the entry's content give its hash? None: its format 1 values
    were erased, so no one can tell any more."""
    if not recomputable(entry):
        return None
    return compute_hash(entry) == entry.hash


def new_secret() -> str:
    return secrets.token_hex(32)


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
    entry.salt = new_secret()
    digests = personal_digests(entry)
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
    triggers let exactly this through (lcm.audit_triggers)."""
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
    digests = []
    for entry in entries:  # before the head's lock, as in `append_entry`
        entry.salt = new_secret()
        digests.append(personal_digests(entry))
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

    erased_checked = 0
    unrecomputable: list[int] = []
    erased: list[tuple[int, int, int]] = []  # (seq, erased_by_id, account_id)
    format2_from = None

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
            if is_format2(entry):
                format2_from = format2_from or entry.seq
            elif format2_from is not None:
                return broken(
                    f"entry #{entry.seq} (id {entry.pk}) is in format 1 (values in the hash) "
                    f"after format 2 began at #{format2_from}: it was not written by lcm",
                    entry.seq,
                )
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


# Last: lcm.checkpoints imports this module (the hash), and appends call it.
from . import checkpoints  # noqa: E402
