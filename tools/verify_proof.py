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
    verify_proof.py --public-key audit.pub.pem --as-of answer.json
        an as-of answer with its bundle (GET /api/lcm/accounts/<key>/as-of/
        ?at=…&proof=1, or a call's as-dialled/?proof=1): every entry is
        proved, the account's listed entries are all there, and replaying
        them gives the answer (the section "As-of bundles" at the end).

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
# Format 4 (docs/audit.md, "Format 4"): the same two layouts with their own
# tags, the personal one with business_fields (a JSON value) last.
ENTRY_TAG4 = "lcm-audit-entry-4"
PERSONAL_TAG4 = "lcm-audit-personal-4"
PERSONAL_LAYOUT4 = (*PERSONAL_LAYOUT, "business_fields")
JSON_VALUES4 = JSON_VALUES | {"business_fields"}
LAYOUTS = {
    3: (ENTRY_TAG, PERSONAL_TAG, PERSONAL_LAYOUT),
    4: (ENTRY_TAG4, PERSONAL_TAG4, PERSONAL_LAYOUT4),
}


def field_bytes(name: str, value) -> bytes:
    if value is None:
        return b"\xff\xff\xff\xff"
    if name in JSON_VALUES4:
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
    of its entry layout (formats 3 and 4, each with its tag)."""
    version = entry.get("v")
    if version in LAYOUTS:
        extra = sorted(set(entry) - {*ENTRY_LAYOUT, "v"})
        if extra:
            raise Failed(
                f"entry #{entry.get('seq')} does not match its hash: its fields were altered "
                f"(format {version} seals no field {', '.join(extra)})"
            )
        return hashlib.sha256(layout(LAYOUTS[version][0], ENTRY_LAYOUT, entry)).hexdigest()
    return hashlib.sha256(canonical_bytes(entry)).hexdigest()


def check_personal3(entry: dict, personal: dict) -> int:
    """Formats 3 and 4: HMAC-SHA256, keyed with the entry's secret, of the
    personal layout of the disclosed values (format 4's ends with
    business_fields) is the `personal_digest` the hash seals."""
    version = entry.get("v")
    _, tag, names = LAYOUTS[version]
    secrets = {str(disclosed.get("salt")) for disclosed in personal.values()}
    if len(secrets) != 1:
        raise Failed(f"a format {version} entry's personal values must come with one secret")
    extra = sorted(set(personal) - set(names))
    if extra:
        raise Failed(f"a format {version} entry seals no personal value {', '.join(extra)}")
    secret = _hex32(secrets.pop(), "the entry's secret")
    values = {name: disclosed["value"] for name, disclosed in personal.items()}
    digest = hmac.new(secret, layout(tag, names, values), "sha256")
    if digest.hexdigest() != entry.get("personal_digest"):
        raise Failed(
            f"the personal values given are not those entry #{entry.get('seq')} sealed "
            "(their digest differs)"
        )
    return len(personal)


def check_personal(entry: dict, personal) -> int:
    """The disclosed values of a format 2, 3 or 4 entry match the digests its hash seals."""
    if not isinstance(personal, dict):
        raise Failed("the proof's personal values are not an object")
    for name, disclosed in personal.items():
        if not isinstance(disclosed, dict) or "value" not in disclosed:
            raise Failed(f"the personal value {name!r} has no value and salt")
    if entry.get("v") in LAYOUTS:
        return check_personal3(entry, personal)
    if entry.get("v") != 2:
        raise Failed("personal values are given, but the entry is not in format 2, 3 or 4")
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
        elif entry.get("v") in (2, 3, 4):
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
    parser.add_argument("--as-of", action="store_true", help="the file is an as-of answer")
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
        elif args.as_of:
            message = check_as_of(args.file, key)
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


# === As-of bundles (issue 32) =========================================================
# Everything of `--as-of` is below: the replay rules of docs/audit.md ("As-of
# reads"), written again from the entries alone. Nothing above depends on it.

DNC_ACTIONS = ("dnc", "dnc_change", "dnc_lift")
MODE_ACTIONS = ("set", "revert", "restore", "import", "settings")
STATE_FIELDS = (
    "number",
    "e164",
    "pewc",
    "pewc_source",
    "pewc_by",
    "pewc_at",
    "time_zone",
    "window",
)
PERSONAL = ("old_number", "new_number", "new_number_e164", "deleted_modes", "modes",
            "do_not_call", "callback", "business_fields")  # fmt: skip


def _instant(text: str):
    import datetime

    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _proved_records(proof: dict, key: Ed25519PublicKey) -> tuple[dict, list[dict]]:
    """Each entry of the bundle checked (hash, personal values, inclusion in the
    signed tree, seq order), as the record the replay reads."""
    checkpoint = check_checkpoint(proof.get("checkpoint"), key)
    root, size = bytes.fromhex(checkpoint["root_hash"]), checkpoint["tree_size"]
    records, previous = [], 0
    for item in proof.get("entries") or []:
        entry = item.get("entry")
        if not isinstance(entry, dict):
            raise Failed(f"entry #{item.get('seq')} has no content to replay")
        digest = entry_hash(entry)  # any format: 1 and 2 as JSON, 3 and 4 as their layouts
        seq = entry.get("seq")
        if digest != item.get("hash") or seq != item.get("seq"):
            raise Failed(
                f"entry #{item.get('seq')} does not match its hash: its fields were altered"
            )
        if not isinstance(seq, int) or seq <= previous:
            raise Failed(
                f"entry #{seq} comes after entry #{previous}: the bundle's entries are not in "
                "seq order (reordered)"
            )
        if item.get("leaf_index") != seq - 1:
            raise Failed(f"the leaf index of entry #{seq} is not {seq - 1}")
        path = [_hex32(h, "a proof hash") for h in item.get("inclusion_proof") or []]
        verify_inclusion(seq - 1, size, leaf_hash(bytes.fromhex(digest)), path, root)
        values = dict(entry)
        sealed = entry.get("v") in (2, 3, 4)  # personal values sealed as digests
        if sealed:
            for name in PERSONAL:
                values.pop(name, None)
            values.pop("personal_digest", None)
            if "personal" in item:
                check_personal(entry, item["personal"])
                values.update({n: v["value"] for n, v in item["personal"].items()})
        values.setdefault("modes", None)
        values.setdefault("do_not_call", None)
        values.setdefault("details", None)
        values["erased"] = sealed and "personal" not in item
        records.append(values)
        previous = seq
    return checkpoint, records


def _replay(records: list[dict], at, account_id: int, campaign: str):
    """Rules 1 and 2: each mode's state and who set each field; the blocks."""
    modes, blocks, erased = {}, {}, False
    for r in records:
        seq = r["seq"]
        if r["erased"] and r["account_id"] == account_id:
            erased = True
            if r["action"] in MODE_ACTIONS and r["mode_id"]:
                modes[r["mode_id"]] = (None, {"*": seq})
            continue
        if r["action"] in DNC_ACTIONS:
            event = r["do_not_call"] or {}
            row = event.get("entry")
            if event.get("event") == "block":
                blocks[row] = dict(event, e164=r["new_number_e164"], account_id=r["account_id"],
                                   seq=seq, by=seq, lifted=False)  # fmt: skip
            elif row in blocks and event.get("event") == "change":
                blocks[row]["expires_at"] = (event.get("after") or {}).get("expires_at")
                blocks[row]["by"] = seq
            elif row in blocks and event.get("event") == "lift":
                blocks[row]["lifted"] = True
            continue
        if r["account_id"] != account_id or r["action"] == "campaign":
            continue
        if r["modes"] is None:
            after = None
            if r["new_number"]:
                after = {"number": r["new_number"], "e164": r["new_number_e164"], "pewc": False,
                         "pewc_source": "", "pewc_by": "", "pewc_at": None, "time_zone": "",
                         "window": None}  # fmt: skip
            touched = [(r["mode_id"], after)]
            touched += [(d["mode_id"], None) for d in r["deleted_modes"] or []]
        else:
            touched = [(m["mode_id"], m["after"]) for m in r["modes"]]
        for mode_id, after in touched:
            if after is None:
                modes.pop(mode_id, None)
                continue
            state, set_by = modes.get(mode_id, (None, {}))
            set_by = dict(set_by) if state is not None else {}
            for name in STATE_FIELDS:
                if state is None or state.get(name) != after.get(name) or name not in set_by:
                    set_by[name] = seq
            modes[mode_id] = (dict(after), set_by)

    def counts(block) -> bool:
        starts, expires = block.get("starts_at"), block.get("expires_at")
        return (
            not block["lifted"]
            and block.get("campaign", "") in ("", campaign)
            and (starts is None or _instant(starts) <= at)
            and (expires is None or _instant(expires) > at)
        )

    live = [b for b in blocks.values() if counts(b)]
    return modes, live, erased


def _same_number(keys: dict, a: tuple[str, str], b: tuple[str, str]) -> bool:
    """lcm.numbers.same_number: equal E.164 forms when both countries are
    known, else meeting national keys (the bundle's `national_keys`, derived
    by phonenumbers; a number whose country is unknown also matches by its
    digits)."""
    if a[1] and b[1]:
        return a[1] == b[1]

    def candidates(number, e164):
        found = {keys.get(number)}
        if not e164:
            found.add(number)
        return found - {None}

    return bool(candidates(*a) & candidates(*b))


def _callable(zones: list[str], window: list[str], at) -> bool:
    import zoneinfo

    if not zones:
        return False
    start, end = window
    for name in zones:
        local = at.astimezone(zoneinfo.ZoneInfo(name)).strftime("%H:%M")
        if not start <= local < end:
            return False
    return True


def check_as_of(path: str, key: Ed25519PublicKey) -> str:
    with open(path, encoding="utf-8") as file:
        answer = json.load(file)
    proof = answer.get("proof") if isinstance(answer, dict) else None
    if not isinstance(proof, dict):
        raise Failed("the file is not an as-of answer with its proof (ask with proof=1)")
    checkpoint, records = _proved_records(proof, key)
    at, account_id = _instant(proof["at"]), proof["account_id"]
    if answer.get("at") != proof["at"] or answer.get("account") != proof["account"]:
        raise Failed("the answer and its bundle name another account or instant")
    # The account's entries: exactly those listed, each before the instant.
    listed = proof.get("account_seqs") or []
    mine = [r["seq"] for r in records if r["account_id"] == account_id]
    for seq in listed:
        if seq not in mine:
            raise Failed(
                f"entry #{seq} of the account, which the bundle lists, is missing: an entry "
                "was left out"
            )
    for r in records:
        if _instant(r["created_at"]) > at:
            raise Failed(f"entry #{r['seq']} was written after the instant {proof['at']}")
        if r["account_id"] == account_id:
            if r["seq"] not in listed:
                raise Failed(f"entry #{r['seq']} of the account is not in its list of entries")
            if r["account_number"] != proof["account"]:
                raise Failed(f"entry #{r['seq']} names another account")
        elif r["action"] not in (*DNC_ACTIONS, "campaign"):
            raise Failed(f"entry #{r['seq']} is neither the account's nor a do-not-call entry")
    if answer.get("replayed") != listed:
        raise Failed("the answer's replayed entries are not the bundle's list")
    # Rule 3's campaign: the cited campaign entry must say what the answer used.
    configuration = proof.get("configuration") or {}
    campaign = configuration.get("campaign", "")
    rules = configuration.get("campaign_rules") or {}
    notes = []
    if rules.get("set_by") is not None:
        cited = next((r for r in records if r["seq"] == rules["set_by"]), None)
        after = ((cited or {}).get("details") or {}).get("after") or {}
        if cited is None or (cited.get("details") or {}).get("campaign") != campaign:
            raise Failed(f"the campaign entry #{rules['set_by']} is not in the bundle")
        window = [after.get("window_start"), after.get("window_end")]
        if (
            (window if after.get("window_start") else None) != rules.get("window")
            or after.get("every_mode_type", True) != rules.get("every_mode_type")
            or after.get("requires_consent", False) != rules.get("requires_consent")
            or sorted(str(m["ModeID"]) for m in after.get("modes", [])) != sorted(rules["modes"])
        ):
            raise Failed(f"the campaign's rules are not those entry #{rules['set_by']} records")
    else:
        notes.append("the campaign's rules (no campaign entry in the log) are as stated")
    modes, blocks, erased = _replay(records, at, account_id, campaign)
    keys = proof.get("national_keys") or {}
    contact = [b for b in blocks if b.get("scope") == "contact" and b["account_id"] == account_id]
    contact_by = min((b["seq"] for b in contact), default=None)
    contact_set_by = next((b["by"] for b in contact if b["seq"] == contact_by), None)
    expected_top = {"DNCContact": bool(contact), "DNCContactSetBy": contact_set_by}
    for name, value in expected_top.items():
        if answer.get(name) != value:
            raise Failed(f"the answer says {name} {answer.get(name)!r}; the entries give {value!r}")
    given = {m["ModeID"]: m for m in answer.get("Contactmodes") or []}
    if sorted(given) != sorted(modes):
        raise Failed(
            f"the answer has modes {sorted(given)}; the entries give modes {sorted(modes)}"
        )
    stated_zones = 0
    for mode_id, (state, set_by) in sorted(modes.items()):
        shown = given[mode_id]
        if state is None:
            if shown.get("CValue") is not None:
                raise Failed(f"mode {mode_id} shows a value its erased entry no longer holds")
            continue
        number = (state["number"], state["e164"])
        hits = [b for b in blocks if b.get("scope") == "number"
                and _same_number(keys, number, (b.get("number", ""), b["e164"]))]  # fmt: skip
        first = min(hits, key=lambda b: b["seq"]) if hits else None
        mode_rule = (rules.get("modes") or {}).get(str(mode_id)) or {}
        type_window = ((configuration.get("mode_types") or {}).get(str(mode_id)) or {}).get(
            "window"
        ) or ["08:00", "21:00"]
        if state["window"]:
            window, window_by = state["window"], set_by["window"]
        elif mode_rule.get("window"):
            window, window_by = mode_rule["window"], rules.get("set_by")
        elif rules.get("window"):
            window, window_by = rules["window"], rules.get("set_by")
        else:
            window, window_by = type_window, None
        zones = shown.get("TimeZones") or []
        if state["time_zone"] and zones != [state["time_zone"]]:
            raise Failed(
                f"mode {mode_id}'s zone is {state['time_zone']}, set by #{set_by['time_zone']}"
            )
        if not state["time_zone"]:
            stated_zones += 1
        enabled = rules.get("every_mode_type", True) or str(mode_id) in (rules.get("modes") or {})
        consent_missing = rules.get("requires_consent") and not state["pewc"]
        dnc = first is not None or bool(contact)
        callable_then = not dnc and enabled and not consent_missing
        callable_then = callable_then and _callable(zones, window, at)
        expected = {
            "CValue": state["number"],
            "E164": state["e164"],
            "PEWC": state["pewc"],
            "PEWCSource": state["pewc_source"],
            "PEWCBy": state["pewc_by"],
            "PEWCAt": state["pewc_at"],
            "Window": list(window),
            "DNCNumber": first is not None,
            "DNCContact": bool(contact),
            "DNC": dnc,
            "Callable": callable_then,
        }
        expected_by = {
            "CValue": set_by["number"],
            "E164": set_by["e164"],
            "PEWC": set_by["pewc"],
            "PEWCSource": set_by["pewc_source"],
            "PEWCBy": set_by["pewc_by"],
            "PEWCAt": set_by["pewc_at"],
            "Window": window_by,
            "DNCNumber": first["by"] if first else None,
            "DNCContact": contact_set_by,
        }
        for name, value in expected.items():
            if shown.get(name) != value:
                raise Failed(
                    f"mode {mode_id}: the answer says {name} {shown.get(name)!r}; the entries "
                    f"give {value!r}"
                )
        for name, value in expected_by.items():
            if (shown.get("set_by") or {}).get(name) != value:
                raise Failed(
                    f"mode {mode_id}: the answer says {name} was set by "
                    f"#{(shown.get('set_by') or {}).get(name)}; the entries give #{value}"
                )
    if stated_zones:
        notes.append(
            f"{stated_zones} mode(s)' zones derived from the number or the account (not in the "
            "log) are as stated"
        )
    if erased:
        notes.append("the account was erased: its modes' values are gone, as the answer says")
    return (
        f"the as-of answer for account {proof['account']} at {proof['at']} follows from "
        f"{len(records)} entries, each in the log of checkpoint #{checkpoint['tree_size']} "
        f"signed {checkpoint['timestamp']}; the account's {len(listed)} listed entries are all "
        "there" + "".join(f"; {note}" for note in notes)
    )


if __name__ == "__main__":
    sys.exit(main())
