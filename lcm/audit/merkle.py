"""The audit log as a Merkle tree in the sense of RFC 6962 / RFC 9162 §2.1.

Pure functions, no database: `lcm.audit.checkpoints` feeds them the entries'
hashes. Leaf *i* (0-based) of the tree is entry #i+1; its leaf input is the
32 bytes of that entry's `hash` (the SHA-256 of its canonical serialisation,
`lcm.audit.canonical_bytes`), so the tree commits to every chained field
without naming any of them:

    leaf_hash(entry) = SHA-256(0x00 || bytes.fromhex(entry.hash))
    node_hash(l, r)  = SHA-256(0x01 || l || r)
    MTH({})          = SHA-256("")
    MTH(D[0:n])      = node_hash(MTH(D[0:k]), MTH(D[k:n])), k the largest power of 2 < n

Proofs are generated from `subtree(start, size)`: the hash of the perfect,
aligned subtree of `size` (a power of two) leaves starting at leaf `start`,
which the caller answers from storage; every range the RFC's recursion asks
for is split into such subtrees here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

EMPTY_ROOT = hashlib.sha256(b"").digest()

# Perfect subtrees of at least 2**STORED_LEVEL leaves are stored
# (lcm.models.AuditTreeNode); smaller ones are hashed from the entries'
# hashes when a proof needs them: at most two blocks of 16 per proof. Level 4
# since migration 0031 (it was 8: a proof of an entry hashed its block of 256
# leaves, and an as-of bundle of entries spread over the log hashed 100 such
# blocks); 0031 stored levels 4 to 7 for the checkpoints taken before.
# docs/benchmarks.md, "As-of", has the rows, bundle and checkpoint times of
# levels 4, 5, 6 and 8.
STORED_LEVEL = 4
BLOCK = 1 << STORED_LEVEL


def leaf_hash(leaf_input: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf_input).digest()


def entry_leaf(entry_hash: str) -> bytes:
    """The leaf hash of an audit entry, from its 64-hex-digit `hash`."""
    return leaf_hash(bytes.fromhex(entry_hash))


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    """The largest power of two smaller than n (n ≥ 2): RFC 6962's k."""
    return 1 << ((n - 1).bit_length() - 1)


class Frontier:
    """The right edge of a growing tree: one hash per perfect subtree of the
    binary decomposition of `size` (largest first). Appending is O(1)
    amortised, the root O(log n); it is what a checkpoint resumes from.
    `on_node(level, index, hash)` hears of every completed perfect subtree."""

    def __init__(self, size: int = 0, hashes: Iterable[bytes] = (), on_node=None):
        self.size = size
        self.hashes = list(hashes)
        self.on_node = on_node
        if len(self.hashes) != size.bit_count():
            raise ValueError(f"a frontier of {size} leaves has {size.bit_count()} hashes")

    def append(self, leaf: bytes) -> None:
        self.hashes.append(leaf)
        self.size += 1
        # Each trailing 0 bit of the new size merges the last two subtrees.
        level = 0
        while not (self.size >> level) & 1:
            right = self.hashes.pop()
            self.hashes[-1] = node_hash(self.hashes[-1], right)
            level += 1
            if self.on_node:
                self.on_node(level, (self.size >> level) - 1, self.hashes[-1])

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        root = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            root = node_hash(left, root)
        return root

    def to_json(self) -> list[str]:
        return [h.hex() for h in self.hashes]

    @classmethod
    def from_json(cls, size: int, hashes: list[str], on_node=None) -> Frontier:
        return cls(size, [bytes.fromhex(h) for h in hashes], on_node)


Subtree = Callable[[int, int], bytes]


def range_hash(start: int, end: int, subtree: Subtree) -> bytes:
    """MTH of leaves [start, end), as perfect aligned subtrees (left-heavy)."""
    n = end - start
    if n == 0:
        return EMPTY_ROOT
    if n & (n - 1) == 0 and start % n == 0:
        return subtree(start, n)
    k = split(n)
    return node_hash(range_hash(start, start + k, subtree), range_hash(start + k, end, subtree))


def inclusion_proof(index: int, size: int, subtree: Subtree) -> list[bytes]:
    """RFC 6962 §2.1.1 PATH(index, D[0:size]), leaf-side first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")

    def path(m: int, start: int, end: int) -> list[bytes]:
        n = end - start
        if n == 1:
            return []
        k = split(n)
        if m < k:
            return [*path(m, start, start + k), range_hash(start + k, end, subtree)]
        return [*path(m - k, start + k, end), range_hash(start, start + k, subtree)]

    return path(index, 0, size)


def consistency_proof(first: int, second: int, subtree: Subtree) -> list[bytes]:
    """RFC 6962 §2.1.2 PROOF(first, D[0:second])."""
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from {first} to {second}")

    def subproof(m: int, start: int, end: int, complete: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if complete else [range_hash(start, end, subtree)]
        k = split(n)
        if m <= k:
            return [*subproof(m, start, start + k, complete), range_hash(start + k, end, subtree)]
        return [*subproof(m - k, start + k, end, False), range_hash(start, start + k, subtree)]

    return subproof(first, 0, second, True)
