"""How an audit entry is sealed: its canonical bytes and its hash, by format.

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

Format 3, every entry appended since migration 0026 (`version` 3, docs/audit.md
"Format 3"): no JSON around the entry. Its personal fields together are one
digest, ``HMAC-SHA256(entry secret, personal layout)``; its hash is
``SHA-256(entry layout)``, the layout holding that digest and `prev_hash`.
A layout is a fixed sequence of fields, each the UTF-8 text of its value
prefixed by its length in 4 bytes (big-endian), a null as ``ff ff ff ff``;
integers in decimal, JSON values as their canonical JSON (below),
`created_at` as in format 1. The first field names the layout and its
version (`ENTRY_TAG`, `PERSONAL_TAG`), so a new version changes the bytes of
every entry it seals and of none before it.

Format 4, every entry appended since migration 0030 (`version` 4,
docs/audit.md "Format 4"): format 3's two layouts, tagged
``lcm-audit-entry-4`` and ``lcm-audit-personal-4``, the personal one with
`business_fields` as its last field. Format 3 entries keep their bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import operator
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime

from ..models import ModeChange

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
    "business_fields",
    "prev_hash",
)

# The contact's personal data in an entry: sealed as salted digests in
# format 2, together as the personal digest in formats 3 and 4 (their
# personal layouts: `PERSONAL3`, `PERSONAL4`), erased by
# `lcm.actions.erasure`. `business_fields` (migration 0030, format 4) is
# null on every entry written before it, and a null one is left out of
# format 2's JSON: no format 1, 2 or 3 entry's bytes changed. `client_ip`
# is not among them:
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
    "business_fields",
)
# Fields left out of the hashed JSON (formats 1 and 2) when null (entries
# older than them were sealed without the key; every other entry keeps its
# bytes).
_OMITTED_WHEN_NULL = ("modes", "do_not_call", "callback", "erasure", "details", "business_fields")
# What an erased entry holds in its personal fields (the append-only
# triggers allow exactly this change, lcm.audit.triggers).
ERASED_VALUES = {
    "old_number": "",
    "new_number": "",
    "new_number_e164": "",
    "deleted_modes": [],
    "modes": [],
    "do_not_call": None,
    "callback": None,
    "business_fields": None,
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
    """The digests the entry's hash seals in place of its personal values:
    computed from the values while the entry has its secret, the stored ones
    once they are erased. Format 2: one per field (a null field the format
    omits has none); formats 3 and 4: one, ``{"personal_digest": …}``."""
    if entry.salt is None:
        return dict(entry.digests or {})
    if entry.version in LAYOUT_FORMATS:
        secret = bytes.fromhex(entry.salt)
        return {"personal_digest": personal_digest3(secret, entry_personal(entry))}
    key = bytes.fromhex(entry.salt)  # field_salt, with the key decoded once: the hot path
    return {
        name: field_digest(hmac.digest(key, name.encode(), "sha256"), getattr(entry, name))
        for name in PERSONAL_FIELDS
        if not (name in _OMITTED_WHEN_NULL and getattr(entry, name) is None)
    }


def entry_format(entry: ModeChange) -> int:
    """1, 2, 3 or 4 (or whatever unknown `version` a forged row claims): how
    the entry was sealed. Format 3 and 4 entries say so (`version`); before it,
    format 2 entries have a secret or, once erased, their digests."""
    if entry.version is not None:
        return entry.version
    return 2 if entry.salt is not None or entry.digests is not None else 1


def is_format2(entry: ModeChange) -> bool:
    return entry_format(entry) == 2


def recomputable(entry: ModeChange) -> bool:
    """False for a format 1 entry whose values were erased: its hash was
    made over them and can no longer be recomputed."""
    return entry_format(entry) != 1 or entry.erased_by_id is None


class ContentErased(Exception):
    """A format 1 entry's values were erased: its canonical bytes are gone."""


def canonical_payload(entry: ModeChange, digests: dict[str, str] | None = None) -> dict:
    """The entry's sealed fields by name, as its proof gives them: formats 1
    and 2, the JSON object whose canonical bytes are hashed; formats 3 and 4,
    the fields of its layout (`fields3`). Raises ContentErased for an erased
    format 1 entry. `digests`: the entry's `personal_digests`, when the
    caller made them already."""
    version = entry_format(entry)
    if version in LAYOUT_FORMATS:
        return fields3(entry, digests)
    if version not in (1, 2):
        raise UnknownFormat(f"entry #{entry.seq} claims format {version}")
    payload = {name: getattr(entry, name) for name in CHAINED_FIELDS}
    # Entries written before `modes` existed were sealed without it, and only
    # do-not-call, callback and erase entries carry their fields: a null one
    # is left out, so every entry keeps the bytes it was sealed with.
    for name in _OMITTED_WHEN_NULL:
        if payload[name] is None:
            del payload[name]
    if version == 2:
        for name in PERSONAL_FIELDS:
            payload.pop(name, None)
        payload.update(personal_digests(entry) if digests is None else digests)
        payload["v"] = 2
    elif entry.erased_by_id is not None:
        raise ContentErased(f"entry #{entry.seq}'s values were erased")
    payload["created_at"] = utc_text(entry.created_at)
    return payload


def canonical_bytes(entry: ModeChange, digests: dict[str, str] | None = None) -> bytes:
    """The bytes the entry's hash is the SHA-256 of: canonical JSON in
    formats 1 and 2, the entry layout in formats 3 and 4."""
    if entry_format(entry) in LAYOUT_FORMATS:
        return entry_layout3(entry, digests)
    return _json(canonical_payload(entry, digests))


def compute_hash(entry: ModeChange, digests: dict[str, str] | None = None) -> str:
    return hashlib.sha256(canonical_bytes(entry, digests)).hexdigest()


def content_matches(entry: ModeChange) -> bool | None:
    """Does the entry's content give its hash? None: its format 1 values
    were erased, so no one can tell any more. An unknown format never does."""
    if not recomputable(entry):
        return None
    if entry.version == FORMAT3 and entry.business_fields is not None:
        return False  # format 3 seals no business fields: lcm never wrote one there
    try:
        return compute_hash(entry) == entry.hash
    except UnknownFormat:
        return False


class UnknownFormat(Exception):
    """An entry claims a format lcm never wrote."""


# --- Formats 3 and 4 ------------------------------------------------------------------

FORMAT3 = 3
ENTRY_TAG = "lcm-audit-entry-3"
PERSONAL_TAG = "lcm-audit-personal-3"
# Format 4 (migration 0030, docs/audit.md "Format 4"): format 3's layouts
# with their own tags, the personal one holding `business_fields` last.
# Every entry appended since 0030 is format 4; format 3 entries keep theirs.
FORMAT4 = 4
ENTRY_TAG4 = "lcm-audit-entry-4"
PERSONAL_TAG4 = "lcm-audit-personal-4"
LAYOUT_FORMATS = (FORMAT3, FORMAT4)  # the formats sealed as byte layouts
# The entry layout after its tag, in this order. What every entry of one
# batch shares comes first (when, what, who, from where), then what is the
# entry's own: the batch writer encodes the shared part once.
LAYOUT3 = (
    "created_at",
    "action",
    "call_id",
    "callid",
    "agent_id",
    "agent_code",
    "user_id",
    "username",
    "source",
    "client_ip",
    "request_id",
    "reverts_id",
    "erasure",
    "details",
    "seq",
    "account_id",
    "account_number",
    "mode_id",
    "personal_digest",
    "prev_hash",
)
SHARED3 = LAYOUT3[: LAYOUT3.index("seq")]
# The personal layouts after their tags, in this order.
PERSONAL3 = (
    "old_number",
    "new_number",
    "new_number_e164",
    "deleted_modes",
    "modes",
    "do_not_call",
    "callback",
)
PERSONAL4 = (*PERSONAL3, "business_fields")
PERSONAL_LAYOUTS = {FORMAT3: PERSONAL3, FORMAT4: PERSONAL4}
JSON_FIELDS = frozenset(
    {"deleted_modes", "modes", "do_not_call", "callback", "business_fields", "erasure", "details"}
)
NULL = b"\xff\xff\xff\xff"


def field_bytes(value: str | int | None) -> bytes:
    """One field of a layout: its length in 4 bytes, big-endian, then its
    UTF-8 text (an int's in decimal); a null is ``ff ff ff ff``, nothing
    after. JSON values come as their text (`json_text`)."""
    if value is None:
        return NULL
    data = value.encode() if type(value) is str else str(value).encode()
    return len(data).to_bytes(4, "big") + data


def json_text(value) -> str | None:
    """A JSON value's canonical text (as format 2's: keys sorted, no
    whitespace, non-ASCII as itself), None for a null."""
    return None if value is None else _ENCODER.encode(value)


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_ENTRY_TAG = field_bytes(ENTRY_TAG)
_PERSONAL_TAG = field_bytes(PERSONAL_TAG)
_ENTRY_TAG4 = field_bytes(ENTRY_TAG4)
_PERSONAL_TAG4 = field_bytes(PERSONAL_TAG4)
_ENTRY_TAGS = {FORMAT3: _ENTRY_TAG, FORMAT4: _ENTRY_TAG4}


def layout(tag: bytes, values: Iterable) -> bytes:
    return tag + b"".join([field_bytes(v) for v in values])


def personal_layout3(values: Iterable) -> bytes:
    """Format 3's personal layout: `PERSONAL3`'s values in order, the JSON
    ones (`deleted_modes`, `modes`, `do_not_call`, `callback`) as their text."""
    return layout(_PERSONAL_TAG, values)


def personal_layout4(values: Iterable) -> bytes:
    """Format 4's personal layout: `PERSONAL4`'s values in order (format 3's,
    then `business_fields`), the JSON ones as their text."""
    return layout(_PERSONAL_TAG4, values)


def personal_digest3(secret: bytes, personal: bytes) -> str:
    """HMAC-SHA256 keyed with the entry's 32-byte secret over its personal
    layout (format 3 or 4): without the secret the digest says nothing of
    the values; with it (an entry's proof discloses it) anyone checks them."""
    return hmac.digest(secret, personal, "sha256").hex()


def entry_personal(entry: ModeChange) -> bytes:
    """The entry's personal layout, by its format (3 or 4)."""
    values = [
        entry.old_number,
        entry.new_number,
        entry.new_number_e164,
        json_text(entry.deleted_modes),
        json_text(entry.modes),
        json_text(entry.do_not_call),
        json_text(entry.callback),
    ]
    if entry.version == FORMAT4:
        values.append(json_text(entry.business_fields))
        return personal_layout4(values)
    return personal_layout3(values)


def personal_fields(entry: ModeChange) -> tuple[str, ...]:
    """The personal fields the entry's format seals: those of its personal
    layout (formats 3, 4), else every one (format 2 leaves the null ones out)."""
    return PERSONAL_LAYOUTS.get(entry_format(entry), PERSONAL_FIELDS)


def fields3(entry: ModeChange, digests: dict[str, str] | None = None) -> dict:
    """A format 3 or 4 entry's sealed fields by name (`LAYOUT3`, the same in
    both), as its proof gives them: `created_at` as text, JSON values as
    values, and `v` its format."""
    if digests is None:
        digests = personal_digests(entry)
    fields = {name: getattr(entry, name) for name in LAYOUT3 if name != "personal_digest"}
    fields["created_at"] = utc_text(entry.created_at)
    fields["personal_digest"] = digests.get("personal_digest")
    fields["v"] = FORMAT4 if entry.version == FORMAT4 else FORMAT3
    return fields


def layout3(fields: dict) -> bytes:
    """The entry layout of `fields3`'s dict, with the tag of its `v`
    (`tools/verify_proof.py` makes the same)."""
    return layout(
        _ENTRY_TAGS[fields.get("v", FORMAT3)],
        [json_text(fields[n]) if n in JSON_FIELDS else fields[n] for n in LAYOUT3],
    )


# `layout3(fields3(entry))` without the dict, for the append's hot path
# (tests/test_audit_format3.py checks both give the same bytes).
_SHARED_PLAIN = operator.attrgetter(*SHARED3[1:-2])  # action … reverts_id
_OWN_PLAIN = operator.attrgetter("seq", "account_id", "account_number", "mode_id")


def entry_layout3(entry: ModeChange, digests: dict[str, str] | None = None) -> bytes:
    """The entry layout of a format 3 or 4 entry (the same fields; the tag
    names the format)."""
    if digests is None:
        digests = personal_digests(entry)
    values = (
        utc_text(entry.created_at),
        *_SHARED_PLAIN(entry),
        json_text(entry.erasure),
        json_text(entry.details),
        *_OWN_PLAIN(entry),
        digests.get("personal_digest"),
        entry.prev_hash,
    )
    tag = _ENTRY_TAG4 if entry.version == FORMAT4 else _ENTRY_TAG
    return tag + b"".join([field_bytes(v) for v in values])


def seal3(entry: ModeChange) -> dict[str, str]:
    """Make `entry` a format 3 entry with a fresh secret; returns its digests
    for `compute_hash`. What lcm wrote from migration 0026 to 0030: appends
    now write format 4 (`seal4`); tests and benchmarks write format 3 with it."""
    entry.version = FORMAT3
    entry.salt = new_secret()
    return personal_digests(entry)


def seal4(entry: ModeChange) -> dict[str, str]:
    """Make `entry` a format 4 entry with a fresh secret, as every append
    since migration 0030 does; returns its digests for `compute_hash` (made
    before the chain head's lock: they depend on nothing it holds)."""
    entry.version = FORMAT4
    entry.salt = new_secret()
    return personal_digests(entry)


def new_secret() -> str:
    return secrets.token_hex(32)
