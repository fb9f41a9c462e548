"""The audit subsystem: an append-only, hash-chained, signed log (docs/audit.md).

By topic, each module importing only those below it (no cycle):

- `seal`: how one entry is sealed: its canonical bytes and hash in each
  format (1: JSON with the values; 2: JSON with salted digests; 3: byte
  layouts with one personal digest, what appends write).
- `merkle`: the log as an RFC 6962 tree (pure functions).
- `triggers`: the database triggers that keep `lcm_modechange` append-only.
- `checkpoints`: signed tree heads, proofs' storage, witnesses. Appends call
  its one entry point, `checkpoints.after_append`; it imports only `seal`.
- `chain`: appending entries under the chain head's lock (one instance, a
  list, or a batch's rows as tuples: `append_rows`), and verifying the chain.
- `filters`, `export`: how auditors filter the log and export it (CSV).

The names other modules use are re-exported here: ``from lcm.audit import
append_entry`` is the append's one door.
"""

from .chain import (
    COLUMNS,
    REORDER_SEARCH,
    Appended,
    BatchAuthor,
    ChainReport,
    append_entries,
    append_entry,
    append_rows,
    batch_rows,
    check_erasures,
    erase_personal_fields,
    streaming_reads,
    verify_chain,
)
from .seal import (
    CHAINED_FIELDS,
    ERASED_VALUES,
    FORMAT3,
    FORMAT4,
    GENESIS_HASH,
    PERSONAL_FIELDS,
    ContentErased,
    UnknownFormat,
    canonical_bytes,
    canonical_payload,
    compute_hash,
    content_matches,
    entry_format,
    field_digest,
    field_salt,
    is_format2,
    new_secret,
    personal_digests,
    recomputable,
)

__all__ = [
    "CHAINED_FIELDS",
    "COLUMNS",
    "ERASED_VALUES",
    "FORMAT3",
    "FORMAT4",
    "GENESIS_HASH",
    "PERSONAL_FIELDS",
    "REORDER_SEARCH",
    "Appended",
    "BatchAuthor",
    "ChainReport",
    "ContentErased",
    "UnknownFormat",
    "append_entries",
    "append_entry",
    "append_rows",
    "batch_rows",
    "canonical_bytes",
    "canonical_payload",
    "check_erasures",
    "compute_hash",
    "content_matches",
    "entry_format",
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
