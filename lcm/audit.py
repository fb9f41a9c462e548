"""The audit chain: how a ModeChange is appended and how its hash is made.

Canonical serialisation (documented in docs/audit.md): the entry's chained
fields as a JSON object with sorted keys, no spaces, UTF-8, `created_at` in
UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``; ``hash = sha256(that).hexdigest()``.
`prev_hash` is one of the fields, so each hash seals its predecessor; the
first entry's `prev_hash` is 64 zeros.
"""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import UTC

from django.db import connection
from django.utils import timezone

from .models import ModeChange

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
    "reverts_id",
    "client_ip",
    "request_id",
    "prev_hash",
)


def canonical_bytes(entry: ModeChange) -> bytes:
    payload = {name: getattr(entry, name) for name in CHAINED_FIELDS}
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
    return entry


def _insert(cursor, entry: ModeChange) -> None:
    """`entry.save(force_insert=True)`, minus the ORM's work of compiling the
    same INSERT on every call: the statement is built once, and each value
    goes through its field's own `get_db_prep_save`, as the ORM does."""
    sql, fields = _insert_statement()
    cursor.execute(sql, [f.get_db_prep_save(getattr(entry, f.attname), connection) for f in fields])
    if connection.features.can_return_columns_from_insert:
        entry.pk = cursor.fetchone()[0]
    else:
        entry.pk = cursor.lastrowid
    entry._state.adding = False
    entry._state.db = connection.alias


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
