#!/usr/bin/env python3
"""Check lcm audit proofs offline: standard library + `cryptography` only.

A regulator runs this on their own machine, with the log's public key (from
`manage.py audit_keygen`), on what lcm handed out:

    verify_proof.py --public-key audit.pub.pem proof.json
        an entry's proof (GET /api/lcm/mode-changes/<seq>/proof/): the entry
        hashes to its `hash`, the inclusion proof leads from it to the root
        of the checkpoint, and the checkpoint's signature is the key's. For
        a format 2 or 3 entry, the personal values given match the salted
        digests it seals; for an erased format 1 entry only the hash can be
        proved (said so in the output).
    verify_proof.py --public-key audit.pub.pem consistency.json
        a consistency proof (GET /api/lcm/checkpoints/consistency/): both
        checkpoints are signed and the later tree extends the earlier one.
    verify_proof.py --public-key audit.pub.pem --checkpoints witness.jsonl export.csv
        a CSV export of the whole log (or of entries #1 to #n): the rows
        chain (each prev_hash is the previous row's hash), and for every
        signed checkpoint the witness file holds within the export, the
        Merkle root of the exported hashes is the signed root.

Prints OK with what was proved and exits 0; prints FAILED with the reason
and exits 1. Nothing here imports lcm or Django: the formats are in
docs/audit.md ("The chain", "Format 3", "Proofs"), the tree is RFC 6962 /
RFC 9162 §2.1.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import hmac
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

GENESIS = "0" * 64
CHECKPOINT_FIELDS = ("log", "tree_size", "root_hash", "head_hash", "timestamp", "signature")


class Failed(Exception):
    pass


# --- RFC 6962 / 9162 --------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_of(leaves: list[bytes]) -> bytes:
    """MTH (RFC 6962 §2.1) of a list of leaf hashes."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    stack: list[tuple[int, bytes]] = []  # (size, hash) of perfect subtrees
    for leaf in leaves:
        size, digest = 1, leaf
        while stack and stack[-1][0] == size:
            digest = node_hash(stack.pop()[1], digest)
            size *= 2
        stack.append((size, digest))
    digest = stack.pop()[1]
    while stack:
        digest = node_hash(stack.pop()[1], digest)
    return digest


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> None:
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        raise Failed(f"leaf index {index} is outside a tree of {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise Failed("the inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise Failed("the inclusion proof is shorter than the tree is deep")
    if r != root:
        raise Failed("the inclusion proof does not lead to the checkpoint's root hash")


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]
) -> None:
    """RFC 9162 §2.1.4.2."""
    if not 0 < first <= second:
        raise Failed(f"no consistency between tree sizes {first} and {second}")
    if first == second:
        if proof:
            raise Failed("a proof between equal trees must be empty")
        if first_root != second_root:
            raise Failed("the two checkpoints of the same size have different roots")
        return
    if not proof:
        raise Failed("the consistency proof is empty")
    if first & (first - 1) == 0:
        proof = [first_root, *proof]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            raise Failed("the consistency proof is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise Failed("the consistency proof is too short")
    if fr != first_root:
        raise Failed("the consistency proof does not lead to the first checkpoint's root")
    if sr != second_root:
        raise Failed("the consistency proof does not lead to the second checkpoint's root")


# --- lcm's formats ----------------------------------------------------------------


def _hex32(value, what: str) -> bytes:
    if not isinstance(value, str) or len(value) != 64:
        raise Failed(f"{what} is not 64 hex digits")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise Failed(f"{what} is not 64 hex digits") from None


def check_checkpoint(checkpoint, key: Ed25519PublicKey) -> dict:
    """The signed text is documented in docs/audit.md ("Signed checkpoints")."""
    if not isinstance(checkpoint, dict) or any(f not in checkpoint for f in CHECKPOINT_FIELDS):
        raise Failed(f"a checkpoint needs the fields {', '.join(CHECKPOINT_FIELDS)}")
    size = checkpoint["tree_size"]
    if not isinstance(size, int) or size < 0:
        raise Failed("the checkpoint's tree_size is not a number")
    _hex32(checkpoint["root_hash"], "the checkpoint's root_hash")
    _hex32(checkpoint["head_hash"], "the checkpoint's head_hash")
    body = (
        f"lcm audit checkpoint v1\nlog {checkpoint['log']}\ntree_size {size}\n"
        f"root_hash {checkpoint['root_hash']}\nhead_hash {checkpoint['head_hash']}\n"
        f"timestamp {checkpoint['timestamp']}\n"
    ).encode()
    try:
        key.verify(base64.b64decode(checkpoint["signature"], validate=True), body)
    except (InvalidSignature, ValueError, TypeError):
        raise Failed(
            f"checkpoint #{size}'s signature does not verify with this public key: it was "
            "altered or forged"
        ) from None
    return checkpoint


def canonical_bytes(entry: dict) -> bytes:
    """lcm.audit.canonical_bytes, from the entry's fields as the proof gives them."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def field_digest(salt: bytes, value) -> str:
    """A format 2 entry seals each personal field as SHA-256(salt || canonical JSON)."""
    return hashlib.sha256(salt + canonical_bytes(value)).hexdigest()


# Format 3 (docs/audit.md, "Format 3"): two byte layouts. A layout is its tag
# then its fields, in this order, each the UTF-8 text of the value (an
# integer in decimal, a JSON value as its canonical JSON) prefixed by its
# length in 4 bytes big-endian; a null is ff ff ff ff and nothing more.
ENTRY_TAG = "lcm-audit-entry-3"
PERSONAL_TAG = "lcm-audit-personal-3"
ENTRY_LAYOUT = (
    "created_at", "action", "call_id", "callid", "agent_id", "agent_code", "user_id",
    "username", "source", "client_ip", "request_id", "reverts_id", "erasure", "details",
    "seq", "account_id", "account_number", "mode_id", "personal_digest", "prev_hash",
)  # fmt: skip
PERSONAL_LAYOUT = (
    "old_number", "new_number", "new_number_e164", "deleted_modes", "modes", "do_not_call",
    "callback",
)  # fmt: skip
JSON_VALUES = {"deleted_modes", "modes", "do_not_call", "callback", "erasure", "details"}


def field_bytes(name: str, value) -> bytes:
    if value is None:
        return b"\xff\xff\xff\xff"
    if name in JSON_VALUES:
        text = canonical_bytes(value)
    elif isinstance(value, bool) or not isinstance(value, int | str):
        raise Failed(f"the entry's {name!r} is neither text, a number nor null")
    else:
        text = str(value).encode()
    return len(text).to_bytes(4, "big") + text


def layout(tag: str, names: tuple[str, ...], values: dict) -> bytes:
    missing = [name for name in names if name not in values]
    if missing:
        raise Failed(f"the entry lacks the fields {', '.join(missing)}")
    return field_bytes("", tag) + b"".join(field_bytes(n, values[n]) for n in names)


def entry_hash(entry: dict) -> str:
    """The entry's hash: SHA-256 of its canonical JSON (formats 1 and 2) or
    of its entry layout (format 3)."""
    if entry.get("v") == 3:
        extra = sorted(set(entry) - {*ENTRY_LAYOUT, "v"})
        if extra:
            raise Failed(
                f"entry #{entry.get('seq')} does not match its hash: its fields were altered "
                f"(format 3 seals no field {', '.join(extra)})"
            )
        return hashlib.sha256(layout(ENTRY_TAG, ENTRY_LAYOUT, entry)).hexdigest()
    return hashlib.sha256(canonical_bytes(entry)).hexdigest()


def check_personal3(entry: dict, personal: dict) -> int:
    """Format 3: HMAC-SHA256, keyed with the entry's secret, of the personal
    layout of the disclosed values is the `personal_digest` the hash seals."""
    secrets = {str(disclosed.get("salt")) for disclosed in personal.values()}
    if len(secrets) != 1:
        raise Failed("a format 3 entry's personal values must come with one secret")
    secret = _hex32(secrets.pop(), "the entry's secret")
    values = {name: disclosed["value"] for name, disclosed in personal.items()}
    digest = hmac.new(secret, layout(PERSONAL_TAG, PERSONAL_LAYOUT, values), "sha256")
    if digest.hexdigest() != entry.get("personal_digest"):
        raise Failed(
            f"the personal values given are not those entry #{entry.get('seq')} sealed "
            "(their digest differs)"
        )
    return len(personal)


def check_personal(entry: dict, personal) -> int:
    """The disclosed values of a format 2 or 3 entry match the digests its hash seals."""
    if not isinstance(personal, dict):
        raise Failed("the proof's personal values are not an object")
    for name, disclosed in personal.items():
        if not isinstance(disclosed, dict) or "value" not in disclosed:
            raise Failed(f"the personal value {name!r} has no value and salt")
    if entry.get("v") == 3:
        return check_personal3(entry, personal)
    if entry.get("v") != 2:
        raise Failed("personal values are given, but the entry is not in format 2 or 3")
    for name, disclosed in personal.items():
        if not isinstance(disclosed, dict) or "value" not in disclosed:
            raise Failed(f"the personal value {name!r} has no value and salt")
        salt = _hex32(disclosed.get("salt"), f"the salt of {name!r}")
        if entry.get(name) != field_digest(salt, disclosed["value"]):
            raise Failed(
                f"the value given for {name!r} is not the one entry #{entry.get('seq')} sealed "
                "(its salted digest differs)"
            )
    return len(personal)


def check_entry_proof(proof: dict, key: Ed25519PublicKey) -> str:
    checkpoint = check_checkpoint(proof.get("checkpoint"), key)
    entry = proof.get("entry")
    erased_note = f" ({proof['erased']})" if proof.get("erased") else ""
    if proof.get("content_erased") and entry is None:
        # Format 1, values erased: only the hash's place in the tree is provable.
        seq = proof.get("seq")
        digest = _hex32(proof.get("hash"), "the proof's hash").hex()
        what = (
            f"entry #{seq}'s hash {digest} is in the log of checkpoint "
            f"#{checkpoint['tree_size']}, signed {checkpoint['timestamp']}; its content was "
            f"erased{erased_note} and was NOT checked"
        )
    else:
        if not isinstance(entry, dict):
            raise Failed("the proof has no entry")
        digest = entry_hash(entry)
        if digest != proof.get("hash"):
            raise Failed(
                f"entry #{entry.get('seq')} does not match its hash: its fields were altered "
                f"(they hash to {digest[:12]}…, the proof says {str(proof.get('hash'))[:12]}…)"
            )
        seq = entry.get("seq")
        what = (
            f"entry #{seq} ({digest}) is in the log of checkpoint #{checkpoint['tree_size']}, "
            f"signed {checkpoint['timestamp']}"
        )
        if "personal" in proof:
            count = check_personal(entry, proof["personal"])
            what += f"; its {count} personal values match the digests it seals"
        elif entry.get("v") in (2, 3):
            what += f"; its personal values are sealed as salted digests{erased_note}"
    index = proof.get("leaf_index")
    if not isinstance(seq, int) or index != seq - 1:
        raise Failed(f"the leaf index {index} is not that of entry #{seq}")
    if proof.get("tree_size") != checkpoint["tree_size"]:
        raise Failed("the proof's tree size is not the checkpoint's")
    path = [_hex32(h, "a proof hash") for h in proof.get("inclusion_proof") or []]
    verify_inclusion(
        index,
        checkpoint["tree_size"],
        leaf_hash(bytes.fromhex(digest)),
        path,
        bytes.fromhex(checkpoint["root_hash"]),
    )
    return what


def check_consistency(proof: dict, key: Ed25519PublicKey) -> str:
    first = check_checkpoint(proof.get("first"), key)
    second = check_checkpoint(proof.get("second"), key)
    path = [_hex32(h, "a proof hash") for h in proof.get("consistency_proof") or []]
    verify_consistency(
        first["tree_size"],
        second["tree_size"],
        bytes.fromhex(first["root_hash"]),
        bytes.fromhex(second["root_hash"]),
        path,
    )
    return (
        f"checkpoint #{second['tree_size']} ({second['timestamp']}) extends checkpoint "
        f"#{first['tree_size']} ({first['timestamp']}): the first {first['tree_size']} entries "
        "are unchanged"
    )


def check_csv(path: str, checkpoints_path: str, key: Ed25519PublicKey) -> str:
    with open(path, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    if not rows or any(k not in rows[0] for k in ("seq", "prev_hash", "hash")):
        raise Failed(f"{path} is not an lcm audit export (columns seq, prev_hash, hash)")
    try:
        rows.sort(key=lambda row: int(row["seq"]))
    except ValueError:
        raise Failed(f"{path}: a seq is not a number") from None
    hashes = []
    previous = GENESIS
    for expected, row in enumerate(rows, start=1):
        if int(row["seq"]) != expected:
            raise Failed(
                f"the export is not the log from entry #1: entry #{expected} is not in it "
                "(export the log unfiltered)"
            )
        if row["prev_hash"] != previous:
            raise Failed(f"entry #{expected} does not follow entry #{expected - 1}")
        hashes.append(leaf_hash(_hex32(row["hash"], f"entry #{expected}'s hash")))
        previous = row["hash"]
    checkpoints = {}
    with open(checkpoints_path, encoding="utf-8") as file:
        text = file.read().strip()
    items = (
        json.loads(text)
        if text.startswith("[")
        else [json.loads(line) for line in text.splitlines() if line.strip()]
    )
    for item in items:
        item = item.get("checkpoint", item) if isinstance(item, dict) else item
        checkpoint = check_checkpoint(item, key)
        checkpoints[checkpoint["tree_size"]] = checkpoint
    covered = sorted(size for size in checkpoints if 0 < size <= len(hashes))
    if not covered:
        raise Failed(f"no signed checkpoint in {checkpoints_path} lies within the export")
    for size in covered:
        if root_of(hashes[:size]).hex() != checkpoints[size]["root_hash"]:
            raise Failed(
                f"the first {size} exported entries do not give the root signed in checkpoint "
                f"#{size}: the export (or the log) was altered"
            )
    last = checkpoints[covered[-1]]
    return (
        f"{len(rows)} entries chain from #1; entries #1 to #{last['tree_size']} are exactly "
        f"those of checkpoint #{last['tree_size']}, signed {last['timestamp']} "
        f"({len(covered)} checkpoint(s) checked)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--public-key", required=True, help="the log's public key (PEM)")
    parser.add_argument("--checkpoints", help="with a CSV: signed checkpoints (JSON lines)")
    parser.add_argument("file", help="a proof (JSON) or, with --checkpoints, a CSV export")
    args = parser.parse_args(argv)
    try:
        try:
            with open(args.public_key, "rb") as file:
                key = serialization.load_pem_public_key(file.read())
        except (OSError, ValueError) as error:
            raise Failed(f"cannot read the public key {args.public_key}: {error}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise Failed(f"{args.public_key} is not an Ed25519 public key")
        if args.checkpoints:
            message = check_csv(args.file, args.checkpoints, key)
        else:
            try:
                with open(args.file, encoding="utf-8") as file:
                    proof = json.load(file)
            except (OSError, ValueError) as error:
                raise Failed(f"cannot read the proof {args.file}: {error}") from None
            if not isinstance(proof, dict):
                raise Failed("the proof is not a JSON object")
            if "consistency_proof" in proof:
                message = check_consistency(proof, key)
            else:
                message = check_entry_proof(proof, key)
    except Failed as failure:
        print(f"FAILED: {failure}")
        return 1
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"FAILED: unreadable input: {error}")
        return 1
    print(f"OK: {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
