"""Store the audit Merkle tree's perfect subtrees of 16 to 128 leaves
(levels 4 to 7; `lcm.audit.merkle.STORED_LEVEL` went from 8 to 4) for the
entries that the checkpoints taken before this migration cover: new
checkpoints store them as they complete them, so that an inclusion proof
hashes at most 16 leaves of a block instead of 256.

The nodes are hashed from the entries' `hash` column, like the checkpoints
store theirs, and are never trusted: a wrong one (an entry rewritten before
this migration, a node edited after) only makes the proofs that use it fail
against the signed root. One pass over the covered entries (a million in
7.6 to 29.3 s on the shared bench machine, docs/benchmarks.md), 1 row per 8
entries. Reverse: the rows below level 8 go again.
The hashing is written out here (RFC 6962 §2.1), frozen with the migration."""

import hashlib

from django.db import migrations

LOW, OLD = 4, 8  # levels LOW ≤ level < OLD are added
CHUNK = 5000


def fill(apps, schema_editor):
    State = apps.get_model("lcm", "AuditTreeState")
    Node = apps.get_model("lcm", "AuditTreeNode")
    ModeChange = apps.get_model("lcm", "ModeChange")
    db = schema_editor.connection.alias
    state = State.objects.using(db).filter(pk=1).first()
    if state is None or not state.size:
        return
    size = state.size
    # A stack of (level, hash) of the perfect subtrees of the leaves read so
    # far (a Merkle frontier); each merge of two equal levels completes a node.
    stack: list[tuple[int, bytes]] = []
    nodes = []
    count = 0
    hashes = (
        ModeChange.objects.using(db)
        .filter(seq__lte=size)
        .order_by("seq")
        .values_list("seq", "hash")
    )
    for seq, digest in hashes.iterator(chunk_size=CHUNK):
        count += 1
        if seq != count:
            # A gap: the chain is broken here and every later node would be
            # misplaced. Stop: proofs of these entries read the leaves instead
            # (checkpoints.TreeReader), and verify_audit reports the gap.
            break
        level, node = 0, hashlib.sha256(b"\x00" + bytes.fromhex(digest)).digest()
        while stack and stack[-1][0] == level:
            left = stack.pop()[1]
            node = hashlib.sha256(b"\x01" + left + node).digest()
            level += 1
            if LOW <= level < OLD:
                nodes.append(Node(level=level, index=(seq >> level) - 1, hash=node.hex()))
        stack.append((level, node))
        if len(nodes) >= CHUNK:
            Node.objects.using(db).bulk_create(nodes, ignore_conflicts=True)
            nodes = []
    Node.objects.using(db).bulk_create(nodes, ignore_conflicts=True)


def drop(apps, schema_editor):
    Node = apps.get_model("lcm", "AuditTreeNode")
    Node.objects.using(schema_editor.connection.alias).filter(level__lt=OLD).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('lcm', '0030_agent_state_and_audit_actions'),
    ]

    operations = [migrations.RunPython(fill, drop, elidable=False)]
