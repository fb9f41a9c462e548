"""The audit subsystem: an append-only, hash-chained, signed log (docs/audit.md).

By topic, each module importing only those below it (no cycle):

- `seal`: how one entry is sealed: its canonical bytes and hash in each
  format, the personal fields' salted digests.
- `merkle`: the log as an RFC 6962 tree (pure functions).
- `triggers`: the database triggers that keep `lcm_modechange` append-only.
- `checkpoints`: signed tree heads, proofs' storage, witnesses. Appends call
  its one entry point, `checkpoints.after_append`; it imports only `seal`.
- `chain`: appending entries under the chain head's lock, and verifying the
  chain.
- `filters`, `export`: how auditors filter the log and export it (CSV).

The names other modules use are re-exported here: ``from lcm.audit import
append_entry`` is the append's one door.
"""

from .chain import (
    REORDER_SEARCH,
    ChainReport,
    append_entries,
    append_entry,
    check_erasures,
    erase_personal_fields,
    streaming_reads,
    verify_chain,
)
from .seal import (
    CHAINED_FIELDS,
    ERASED_VALUES,
    GENESIS_HASH,
    PERSONAL_FIELDS,
    ContentErased,
    canonical_bytes,
    canonical_payload,
    compute_hash,
    content_matches,
    field_digest,
    field_salt,
    is_format2,
    new_secret,
    personal_digests,
    recomputable,
)

__all__ = [
    "CHAINED_FIELDS",
    "ERASED_VALUES",
    "GENESIS_HASH",
    "PERSONAL_FIELDS",
    "REORDER_SEARCH",
    "ChainReport",
    "ContentErased",
    "append_entries",
    "append_entry",
    "canonical_bytes",
    "canonical_payload",
    "check_erasures",
    "compute_hash",
    "content_matches",
    "erase_personal_fields",
    "field_digest",
    "field_salt",
    "is_format2",
    "new_secret",
    "personal_digests",
    "recomputable",
    "streaming_reads",
    "verify_chain",
]
