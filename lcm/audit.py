"""The audit chain: how a ModeChange is appended and how its hash is made.

Canonical serialisation (documented in docs/audit.md): the entry's chained
fields as a JSON object with sorted keys, no spaces, UTF-8, `created_at` in
UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``; ``hash = sha256(that).hexdigest()``.
`prev_hash` is one of the fields, so each hash seals its predecessor; the
first entry's `prev_hash` is 64 zeros.
"""

from __future__ import annotations

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
    serialises writers.)
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE lcm_auditchainhead SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash"
        )
        entry.seq, entry.prev_hash = cursor.fetchone()
        entry.created_at = timezone.now()
        entry.hash = compute_hash(entry)
        entry.save(force_insert=True)
        cursor.execute("UPDATE lcm_auditchainhead SET hash = %s WHERE id = 1", [entry.hash])
    return entry


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
    return entries
