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
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import UTC

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
    "business_fields",
)
# Fields left out of the hashed JSON when null (entries older than them were
# sealed without the key; every other entry keeps its bytes).
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
