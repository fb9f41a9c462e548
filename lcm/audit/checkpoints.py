"""Signed checkpoints of the audit log, their witness, and proofs.

A checkpoint is (log name, tree size, Merkle root, hash of the last entry,
time), signed with Ed25519 by the key in `LCM_AUDIT_SIGNING_KEY_FILE`. The key
stays on the application servers and never enters the database, so someone
who can write the database can rewrite entries and recompute every hash,
but cannot sign a checkpoint that agrees with the rewrite; the witness,
outside the database, keeps the copies `verify_audit` checks against.

When: every `LCM_AUDIT_CHECKPOINT_EVERY` entries (an append that crosses a
multiple registers `on_commit(checkpoint_after_commit)`: no statement is
added to the change's own transaction), after `LCM_AUDIT_CHECKPOINT_MINUTES` of
appends without one (the same hook, timed per process), and whenever
`manage.py audit_checkpoint` runs (cron, for a log that went quiet).

The signed text (UTF-8, `checkpoint_body`), one field a line:

    lcm audit checkpoint v1
    log <AUDIT_LOG_NAME>
    tree_size <n>
    root_hash <64 hex>
    head_hash <64 hex>
    timestamp <YYYY-MM-DDTHH:MM:SS.ffffffZ>
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..conf import lcm_settings
from ..models import AuditChainHead, AuditCheckpoint, AuditTreeNode, AuditTreeState, ModeChange
from . import merkle
from .seal import GENESIS_HASH, content_matches

log = logging.getLogger("lcm.audit.checkpoints")

BODY_HEADER = "lcm audit checkpoint v1"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


# --- Keys ----------------------------------------------------------------------


def _ed25519():
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return ed25519


def _read_key(setting: str, path: str, *, private: bool):
    from cryptography.hazmat.primitives import serialization

    where = f"{setting}={path}"
    kind = "private" if private else "public"
    file = Path(path)
    if not file.is_absolute():
        raise ImproperlyConfigured(f"{where}: give an absolute path to the Ed25519 {kind} key.")
    if not file.exists():
        raise ImproperlyConfigured(
            f"{where}: no such file. Make a key pair with `python manage.py audit_keygen`, "
            "or unset the variable to turn signing off (docs/audit.md)."
        )
    try:
        data = file.read_bytes()
    except OSError as error:
        raise ImproperlyConfigured(
            f"{where} cannot be read ({error.strerror}): the application's user must be "
            "able to read it."
        ) from error
    try:
        if private:
            key = serialization.load_pem_private_key(data, password=None)
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, _unsupported()) as error:
        raise ImproperlyConfigured(
            f"{where} is not a PEM {kind} key without a password ({error}). Make one with "
            "`python manage.py audit_keygen`."
        ) from error
    expected = _ed25519().Ed25519PrivateKey if private else _ed25519().Ed25519PublicKey
    if not isinstance(key, expected):
        raise ImproperlyConfigured(
            f"{where} holds a {type(key).__name__.lstrip('_')}, not an Ed25519 {kind} key. "
            "Make one with `python manage.py audit_keygen`."
        )
    return key


def _unsupported():
    from cryptography.exceptions import UnsupportedAlgorithm

    return UnsupportedAlgorithm


_keys: dict = {}


def signing_key():
    """The Ed25519 private key, or None when signing is off. Raises
    ImproperlyConfigured (with the reason) for a bad key file."""
    path = lcm_settings.LCM_AUDIT_SIGNING_KEY_FILE
    if not path:
        return None
    if ("private", path) not in _keys:
        _keys["private", path] = _read_key("LCM_AUDIT_SIGNING_KEY_FILE", path, private=True)
    return _keys["private", path]


def public_key():
    """The key checkpoints are verified with: AUDIT_PUBLIC_KEY_FILE, else
    the public half of the signing key; None when neither is set."""
    path = lcm_settings.LCM_AUDIT_PUBLIC_KEY_FILE
    if path:
        if ("public", path) not in _keys:
            _keys["public", path] = _read_key("LCM_AUDIT_PUBLIC_KEY_FILE", path, private=False)
        return _keys["public", path]
    private = signing_key()
    return private.public_key() if private else None


def key_id(public) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def check_configuration() -> None:
    """Start-up check (AppConfig.ready via the system check, and config.wsgi):
    a bad key file or witness stops the process with the reason."""
    if lcm_settings.LCM_AUDIT_SIGNING_KEY_FILE:
        signing_key()
        witness = lcm_settings.LCM_AUDIT_WITNESS
        if not witness:
            raise ImproperlyConfigured(
                "LCM_AUDIT_SIGNING_KEY_FILE is set but LCM_AUDIT_WITNESS is not: checkpoints "
                "must be handed to a witness outside the database (a file path or an https:// URL)."
            )
    if lcm_settings.LCM_AUDIT_PUBLIC_KEY_FILE:
        public_key()
    _witness_kind(lcm_settings.LCM_AUDIT_WITNESS)


def _witness_kind(witness: str) -> str | None:
    if not witness:
        return None
    if witness.startswith("https://"):
        return "https"
    if witness.startswith("/"):
        return "file"
    raise ImproperlyConfigured(
        f"LCM_AUDIT_WITNESS={witness}: give an absolute file path or an https:// URL."
    )


# --- Checkpoint text -----------------------------------------------------------


def as_json(checkpoint: AuditCheckpoint) -> dict:
    """The checkpoint as the witness, the API and tools/verify_proof.py see it."""
    return {
        "log": checkpoint.log,
        "tree_size": checkpoint.tree_size,
        "root_hash": checkpoint.root_hash,
        "head_hash": checkpoint.head_hash,
        "timestamp": checkpoint.timestamp.astimezone(UTC).strftime(TIME_FORMAT),
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
    }


def checkpoint_body(data: dict) -> bytes:
    return (
        f"{BODY_HEADER}\nlog {data['log']}\ntree_size {data['tree_size']}\n"
        f"root_hash {data['root_hash']}\nhead_hash {data['head_hash']}\n"
        f"timestamp {data['timestamp']}\n"
    ).encode()


def signature_ok(data: dict, public) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        public.verify(base64.b64decode(data["signature"], validate=True), checkpoint_body(data))
    except (InvalidSignature, ValueError, KeyError, TypeError):
        return False
    return True


# --- Making checkpoints --------------------------------------------------------


class CheckpointRefused(Exception):
    """The log does not chain up to the head: nothing is signed."""


def _store_node(nodes: list):
    def on_node(level: int, index: int, digest: bytes) -> None:
        if level >= merkle.STORED_LEVEL:
            nodes.append(AuditTreeNode(level=level, index=index, hash=digest.hex()))

    return on_node


def make_checkpoint() -> AuditCheckpoint | None:
    """Sign a checkpoint over every committed entry, unless the latest one
    already covers them (then None). Resumes from the frontier of the last
    checkpoint, so the cost is that of the entries since. Each new entry is
    re-hashed and its link checked first: the key never signs a broken chain.
    The state row's lock serialises concurrent checkpointers; appends never
    wait for it."""
    key = signing_key()
    if key is None:
        return None
    with transaction.atomic():
        state, _ = AuditTreeState.objects.select_for_update().get_or_create(pk=1)
        head = AuditChainHead.objects.get(pk=1)
        if head.seq == state.size:
            return None
        if head.seq < state.size:
            raise CheckpointRefused(
                f"the chain head #{head.seq} is behind the last checkpoint #{state.size}"
            )
        nodes: list[AuditTreeNode] = []
        frontier = merkle.Frontier.from_json(state.size, state.frontier, _store_node(nodes))
        previous = (
            GENESIS_HASH
            if state.size == 0
            else ModeChange.objects.filter(seq=state.size).values_list("hash", flat=True).first()
        )
        expected = state.size + 1
        entries = ModeChange.objects.filter(seq__gt=state.size, seq__lte=head.seq).order_by("seq")
        for entry in entries.iterator(chunk_size=2000):
            if entry.seq != expected or entry.prev_hash != previous:
                raise CheckpointRefused(f"entry #{expected} does not follow #{expected - 1}")
            # An erased format 1 entry (None) can only be checked by its link.
            if content_matches(entry) is False:
                raise CheckpointRefused(f"entry #{entry.seq} does not match its hash")
            frontier.append(merkle.entry_leaf(entry.hash))
            previous, expected = entry.hash, expected + 1
        if frontier.size != head.seq or previous != head.hash:
            raise CheckpointRefused(f"the entries do not reach the chain head #{head.seq}")
        AuditTreeNode.objects.bulk_create(nodes, ignore_conflicts=True)
        checkpoint = AuditCheckpoint(
            log=lcm_settings.LCM_AUDIT_LOG_NAME,
            tree_size=head.seq,
            root_hash=frontier.root().hex(),
            head_hash=head.hash,
            timestamp=timezone.now(),
            key_id=key_id(key.public_key()),
        )
        data = as_json(checkpoint)
        checkpoint.signature = base64.b64encode(key.sign(checkpoint_body(data))).decode()
        checkpoint.save(force_insert=True)
        state.size, state.frontier = frontier.size, frontier.to_json()
        state.save(update_fields=["size", "frontier"])
    _mark_checkpointed()
    return checkpoint


# Per process: when this process last saw a checkpoint made. The timed
# trigger needs no query: at worst each process adds one checkpoint per period.
_last_checkpoint = time.monotonic()


def _mark_checkpointed() -> None:
    global _last_checkpoint
    _last_checkpoint = time.monotonic()


def after_append(first_seq: int, last_seq: int) -> None:
    """Called by `lcm.audit.append_entry`/`append_entries` inside the change's
    transaction: registers the checkpoint for after the commit when the
    appended entries cross a multiple of AUDIT_CHECKPOINT_EVERY, or when this
    process has made none for AUDIT_CHECKPOINT_MINUTES. Issues no statement."""
    if not lcm_settings.LCM_AUDIT_SIGNING_KEY_FILE:
        return
    every = max(lcm_settings.LCM_AUDIT_CHECKPOINT_EVERY, 1)
    due = last_seq // every > (first_seq - 1) // every
    if (
        not due
        and time.monotonic() - _last_checkpoint >= lcm_settings.LCM_AUDIT_CHECKPOINT_MINUTES * 60
    ):
        due = True
    if due:
        _mark_checkpointed()  # one trigger per period, even if the commit fails
        transaction.on_commit(checkpoint_after_commit, robust=True)


def checkpoint_after_commit() -> None:
    """Never lets a failure reach the request whose change already committed:
    what is not checkpointed now is the next trigger's (or cron's) work."""
    try:
        make_checkpoint()
        deliver_pending()
    except Exception:
        log.exception("audit checkpoint failed; `manage.py audit_checkpoint` retries")


# --- The witness ---------------------------------------------------------------


class WitnessUnavailable(Exception):
    pass


def _send(data: dict) -> None:
    witness = lcm_settings.LCM_AUDIT_WITNESS
    line = json.dumps(data, sort_keys=True, separators=(",", ":"))
    if _witness_kind(witness) == "file":
        try:
            # O_APPEND: each line is one write at the end, whoever else appends.
            fd = os.open(witness, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, (line + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as error:
            raise WitnessUnavailable(f"{witness}: {error.strerror}") from error
        return
    request = urllib.request.Request(  # noqa: S310 (https:// only: _witness_kind)
        witness, data=line.encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with _open_https(request) as response:
            if not 200 <= response.status < 300:
                raise WitnessUnavailable(f"{witness} answered {response.status}")
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise WitnessUnavailable(f"{witness}: {error}") from error


def _open_https(request):
    """urlopen with certificate verification always on; AUDIT_WITNESS_CA_FILE
    trusts a private CA (a witness run by the compliance team)."""
    context = ssl.create_default_context(cafile=lcm_settings.LCM_AUDIT_WITNESS_CA_FILE or None)
    return urllib.request.urlopen(  # noqa: S310 (https:// only: _witness_kind)
        request, timeout=lcm_settings.LCM_AUDIT_WITNESS_TIMEOUT, context=context
    )


def deliver_pending() -> int:
    """Hand every queued checkpoint to the witness, oldest first; stop at the
    first failure (the rest stay queued, in order, for the next try). A
    witness may receive a checkpoint twice (a crash between sending and
    marking): readers keep one per tree size."""
    if not lcm_settings.LCM_AUDIT_WITNESS:
        return 0
    sent = 0
    for checkpoint in AuditCheckpoint.objects.filter(witnessed_at=None).order_by("tree_size"):
        try:
            _send(as_json(checkpoint))
        except WitnessUnavailable as error:
            queued = AuditCheckpoint.objects.filter(witnessed_at=None).count()
            log.warning("audit witness unavailable, %d checkpoint(s) queued: %s", queued, error)
            break
        AuditCheckpoint.objects.filter(pk=checkpoint.pk).update(witnessed_at=timezone.now())
        sent += 1
    return sent


def read_witness() -> dict[int, dict]:
    """Every checkpoint the witness holds, by tree size. Raises
    WitnessUnavailable when it cannot be read, ValueError for a line that is
    not a checkpoint."""
    witness = lcm_settings.LCM_AUDIT_WITNESS
    if _witness_kind(witness) == "file":
        try:
            text = Path(witness).read_text()
        except FileNotFoundError:
            return {}
        except OSError as error:
            raise WitnessUnavailable(f"{witness}: {error.strerror}") from error
        items = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    items.append(json.loads(line))
                except ValueError as error:
                    raise ValueError(f"{witness} line {number} is not JSON") from error
    else:
        try:
            with _open_https(witness) as answer:
                items = json.load(answer)
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise WitnessUnavailable(f"{witness}: {error}") from error
        items = items if isinstance(items, list) else [items]
    held = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("tree_size"), int):
            raise ValueError(f"the witness holds something that is not a checkpoint: {item!r:.80}")
        held[item["tree_size"]] = item
    return held


# --- Proofs --------------------------------------------------------------------


class TreeReader:
    """Answers `merkle`'s subtree(start, size) from the stored nodes and, for
    subtrees under 2**STORED_LEVEL leaves, from the entries' hashes (a block
    of 16 read once per proof). Limited to the first `size` leaves."""

    def __init__(self, size: int):
        self.size = size
        self._blocks: dict[int, list[bytes]] = {}

    def _leaves(self, block: int) -> list[bytes]:
        if block not in self._blocks:
            first = block * merkle.BLOCK
            hashes = (
                ModeChange.objects.filter(
                    seq__gt=first, seq__lte=min(first + merkle.BLOCK, self.size)
                )
                .order_by("seq")
                .values_list("hash", flat=True)
            )
            self._blocks[block] = [merkle.entry_leaf(h) for h in hashes]
        return self._blocks[block]

    def subtree(self, start: int, size: int) -> bytes:
        level = size.bit_length() - 1
        if level >= merkle.STORED_LEVEL:
            stored = (
                AuditTreeNode.objects.filter(level=level, index=start >> level)
                .values_list("hash", flat=True)
                .first()
            )
            if stored is not None:
                return bytes.fromhex(stored)
            half = size // 2
            return merkle.node_hash(self.subtree(start, half), self.subtree(start + half, half))
        block = start // merkle.BLOCK
        offset = start - block * merkle.BLOCK
        leaves = self._leaves(block)[offset : offset + size]
        if len(leaves) != size:
            raise LookupError(f"entries #{start + 1} to #{start + size} are not all in the log")
        frontier = merkle.Frontier()
        for leaf in leaves:
            frontier.append(leaf)
        return frontier.root()


def covering_checkpoint(seq: int) -> AuditCheckpoint | None:
    """The latest checkpoint, if it covers entry #seq."""
    latest = AuditCheckpoint.objects.order_by("-tree_size").first()
    return latest if latest is not None and latest.tree_size >= seq else None


def inclusion_proof(seq: int, checkpoint: AuditCheckpoint) -> list[str]:
    """Entry #seq's proof in `checkpoint`'s tree (`GET /mode-changes/<seq>/proof/`):
    its stored nodes in one statement, its two blocks of leaves in another."""
    return inclusion_proofs([seq], checkpoint.tree_size)[seq]


def inclusion_proofs(seqs: list[int], size: int, using: str = "default") -> dict[int, list[str]]:
    """Inclusion proofs of many entries in the tree of `size` leaves, reading
    the stored nodes and the entries' hashes once for all (two passes of
    `merkle.inclusion_proof`: the first names the subtrees it needs)."""
    wanted: set[tuple[int, int]] = set()

    def record_need(start: int, width: int) -> bytes:
        wanted.add((start, width))
        return b"\0" * 32

    for seq in seqs:
        merkle.inclusion_proof(seq - 1, size, record_need)
    stored = {}
    by_level: dict[int, set[int]] = {}
    for start, width in wanted:
        level = width.bit_length() - 1
        if level >= merkle.STORED_LEVEL:
            by_level.setdefault(level, set()).add(start >> level)
    if by_level:
        condition = Q()
        for level, indexes in by_level.items():
            condition |= Q(level=level, index__in=sorted(indexes))
        for level, index, digest in (
            AuditTreeNode.objects.using(using)
            .filter(condition)
            .values_list("level", "index", "hash")
        ):
            stored[level, index] = bytes.fromhex(digest)
    blocks = {
        start // merkle.BLOCK
        for start, width in wanted
        if width.bit_length() - 1 < merkle.STORED_LEVEL
    }
    leaves: dict[int, bytes] = {}
    if blocks:
        condition = Q()
        for block in blocks:
            first = block * merkle.BLOCK
            condition |= Q(seq__gt=first, seq__lte=min(first + merkle.BLOCK, size))
        hashes = ModeChange.objects.using(using).filter(condition)
        for seq, digest in hashes.values_list("seq", "hash"):
            leaves[seq - 1] = hashlib.sha256(b"\0" + bytes.fromhex(digest)).digest()
    # Every perfect subtree under BLOCK (16) leaves of each block read, once, level
    # by level: a loop, not a recursion per proof (the bundle's hot spot).
    levels: dict[int, list[list[bytes]]] = {}
    for block in blocks:
        first = block * merkle.BLOCK
        count = min(merkle.BLOCK, size - first)
        row = [leaves.get(i) for i in range(first, first + count)]
        if None in row:
            raise LookupError(f"entries #{first + 1} to #{first + count} are not all in the log")
        levels[block] = [row]
        while len(row) > 1:
            row = [
                hashlib.sha256(b"\1" + row[k] + row[k + 1]).digest()
                for k in range(0, len(row) - 1, 2)
            ]
            levels[block].append(row)
    fallback = []

    def subtree(start: int, width: int) -> bytes:
        level = width.bit_length() - 1
        if level >= merkle.STORED_LEVEL:
            if (level, start >> level) in stored:
                return stored[level, start >> level]
            if not fallback:  # a node no checkpoint stored: hashed from below
                fallback.append(TreeReader(size))
            return fallback[0].subtree(start, width)
        block, offset = divmod(start, merkle.BLOCK)
        return levels[block][level][offset >> level]

    return {seq: [h.hex() for h in merkle.inclusion_proof(seq - 1, size, subtree)] for seq in seqs}


def consistency_proof(first: AuditCheckpoint, second: AuditCheckpoint) -> list[str]:
    tree = TreeReader(second.tree_size)
    return [
        h.hex() for h in merkle.consistency_proof(first.tree_size, second.tree_size, tree.subtree)
    ]


# --- Verification against the witness ----------------------------------------


class CheckpointProblem(Exception):
    """A checkpoint is forged, missing or contradicted: verification fails."""


@dataclass
class Witnessed:
    """The signed checkpoints `verify_audit` checks the chain against."""

    checkpoints: dict[int, dict]  # tree size → checkpoint; every signature verified
    witness: str  # where they were read from
    latest_witnessed: dict | None
    behind: list[int]  # signed, still queued for the witness


def gather(public) -> Witnessed:
    """Every checkpoint in the database and at the witness, signatures
    checked with `public`, each copy compared with the other. Raises
    CheckpointProblem naming the first forged, missing or differing one."""
    kid = key_id(public)
    stored = {c.tree_size: c for c in AuditCheckpoint.objects.order_by("tree_size")}
    checkpoints = {}
    for size, checkpoint in stored.items():
        data = as_json(checkpoint)
        if not signature_ok(data, public):
            raise CheckpointProblem(
                f"checkpoint #{size} in the database is FORGED: its signature does not verify "
                f"with the public key {kid}"
            )
        checkpoints[size] = data
    if not lcm_settings.LCM_AUDIT_WITNESS:
        return Witnessed(checkpoints, "the database (no AUDIT_WITNESS)", None, [])
    try:
        held = read_witness()
    except (WitnessUnavailable, ValueError) as error:
        raise CheckpointProblem(f"the witness cannot be read: {error}") from error
    for size, data in sorted(held.items()):
        if not signature_ok(data, public):
            raise CheckpointProblem(
                f"checkpoint #{size} at the witness is FORGED: its signature does not verify "
                f"with the public key {kid}"
            )
        if size not in checkpoints:
            raise CheckpointProblem(
                f"checkpoint #{size} (signed {data.get('timestamp')}) is held by the witness "
                "but MISSING from the database"
            )
        if checkpoints[size] != {k: data.get(k) for k in checkpoints[size]}:
            raise CheckpointProblem(
                f"checkpoint #{size} in the database differs from the witness's copy "
                f"(root {checkpoints[size]['root_hash'][:12]}…, witness "
                f"{str(data.get('root_hash'))[:12]}…)"
            )
    behind = []
    for size, checkpoint in stored.items():
        if size in held:
            continue
        if checkpoint.witnessed_at is not None:
            raise CheckpointProblem(
                f"the witness does not hold checkpoint #{size}, which the database records as "
                f"delivered on {checkpoint.witnessed_at:%Y-%m-%d %H:%M:%S}"
            )
        behind.append(size)
    latest = held[max(held)] if held else None
    return Witnessed(checkpoints, lcm_settings.LCM_AUDIT_WITNESS, latest, behind)


def check_boundaries(checkpoints: dict[int, dict]) -> tuple[str, int] | None:
    """Does each checkpoint's last entry still have the hash it signed? One
    indexed read per 1,000 checkpoints, whatever the log's size, and it
    catches any consistent rewrite (the attacker recomputing every later
    hash): the first checkpoint after the rewritten entry no longer matches.
    Returns (problem, first seq it may be) or None."""
    sizes = sorted(checkpoints)
    previous = 0
    for i in range(0, len(sizes), 1000):
        chunk = sizes[i : i + 1000]
        found = dict(ModeChange.objects.filter(seq__in=chunk).values_list("seq", "hash"))
        for size in chunk:
            signed = checkpoints[size]
            where = (
                f"entry #{size}"
                if previous + 1 == size
                else f"an entry from #{previous + 1} to #{size}"
            )
            if size not in found:
                return (
                    f"entry #{size} is missing: checkpoint #{size} of {signed['timestamp']} "
                    "signed it",
                    size,
                )
            if found[size] != signed["head_hash"]:
                return (
                    f"{where} was rewritten after checkpoint #{size} of {signed['timestamp']} "
                    f"signed it: entry #{size}'s hash is now {found[size][:12]}…, the signed "
                    f"one {signed['head_hash'][:12]}…",
                    previous + 1,
                )
            previous = size
    return None


def verified_start(checkpoints: dict[int, dict]) -> tuple[int, merkle.Frontier]:
    """Where an incremental run starts: the checkpoint verify_audit last
    reached, if its stored frontier folds to that checkpoint's signed root."""
    state = AuditTreeState.objects.filter(pk=1).first()
    if state is None or state.verified_size not in checkpoints:
        return 0, merkle.Frontier()
    try:
        frontier = merkle.Frontier.from_json(state.verified_size, state.verified_frontier)
    except (ValueError, TypeError):
        return 0, merkle.Frontier()
    if frontier.root().hex() != checkpoints[state.verified_size]["root_hash"]:
        return 0, merkle.Frontier()
    return state.verified_size, frontier


def remember_verified(size: int, frontier_json: list[str]) -> None:
    AuditTreeState.objects.get_or_create(pk=1)
    AuditTreeState.objects.filter(pk=1).update(
        verified_size=size, verified_frontier=frontier_json, verified_at=timezone.now()
    )


def proved_entry(entry: ModeChange) -> dict:
    """An entry as its proof gives it (`GET /api/lcm/mode-changes/<seq>/proof/`
    and each entry of an as-of bundle): its seq and hash, its sealed fields by
    format (formats 3 and 4: the layout's fields by name; 1 and 2: the hashed JSON;
    format 1 erased: none), its personal values with what checks them, and
    the erasure's marker. `tools/verify_proof.py` reads exactly this."""
    from lcm.actions.erasure import marker

    from . import seal

    proof = {"seq": entry.seq, "hash": entry.hash}
    version = seal.entry_format(entry)
    if version in seal.LAYOUT_FORMATS:
        # Its layout's fields by name; tools/verify_proof.py lays them out.
        proof["entry"] = seal.canonical_payload(entry)
    elif seal.recomputable(entry):
        proof["entry"] = json.loads(seal.canonical_bytes(entry))
    else:
        # Format 1, values erased: the hash is all that is left to prove.
        proof["entry"] = None
        proof["content_erased"] = True
    if entry.salt is not None and version in seal.LAYOUT_FORMATS:
        # Formats 3 and 4: every personal value of its layout, each with the
        # entry's secret (one digest seals them together: disclosing one
        # discloses all).
        proof["personal"] = {
            name: {"value": getattr(entry, name), "salt": entry.salt}
            for name in seal.PERSONAL_LAYOUTS[version]
        }
    elif entry.salt is not None:
        # Format 2: each personal value with its salt, so that the auditor
        # can check it against the digest the hash seals.
        proof["personal"] = {
            name: {"value": getattr(entry, name), "salt": seal.field_salt(entry.salt, name).hex()}
            for name in seal.personal_digests(entry)
        }
    if entry.erased_by_id is not None:
        proof["erased"] = marker(entry)
    return proof
