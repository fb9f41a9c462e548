"""Migration 0031: the audit tree's subtrees of 16 to 128 leaves for a log
checkpointed before it.

Before 0031 a checkpoint stored the perfect subtrees from 256 leaves up
(`merkle.STORED_LEVEL` 8); it stores them from 16 up now (4). A log signed
before the change is signed at level 8 here (the code of that time, with
STORED_LEVEL set back), at the schema before 0031, then migrated: its proofs
verify against the root signed before the migration, before it (the leaves
are read instead) and after it, and the nodes it added are those a
checkpoint of today stores.
"""

import io
import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from lcm.audit import append_entries, checkpoints, merkle
from lcm.audit import as_of as replay
from lcm.models import Account, AuditTreeNode, AuditTreeState, ModeChange

from .test_audit_proofs import latest_migration, run_verifier, verifier, verifier_key

BEFORE = "0030_agent_state_and_audit_actions"
KEY = "31|31|1|0|0|44|1"


def migrate(target: str) -> None:
    MigrationExecutor(connection).migrate([("lcm", target)])


def write(n: int) -> None:
    account, _ = Account.objects.get_or_create(account_number=KEY, defaults={"country": "US"})
    append_entries(
        [
            ModeChange(action="import", account=account, account_number=KEY, source="import",
                       mode_id=1, new_number=f"2025{i:06d}")
            for i in range(n)
        ]
    )  # fmt: skip


def nodes(levels: range) -> dict[tuple[int, int], str]:
    rows = AuditTreeNode.objects.filter(level__in=list(levels))
    return {(level, index): h for level, index, h in rows.values_list("level", "index", "hash")}


def todays_nodes(size: int) -> dict[tuple[int, int], str]:
    """The nodes from level 4 up that today's checkpoint stores over `size` leaves."""
    made = {}
    frontier = merkle.Frontier(on_node=lambda level, i, h: made.__setitem__((level, i), h.hex()))
    for digest in (
        ModeChange.objects.filter(seq__lte=size).order_by("seq").values_list("hash", flat=True)
    ):
        frontier.append(merkle.entry_leaf(digest))
    return {k: v for k, v in made.items() if k[0] >= 4}


@pytest.fixture
def signing(settings, tmp_path):
    call_command("audit_keygen", str(tmp_path / "signing.pem"), stdout=io.StringIO())
    settings.LCM_AUDIT_SIGNING_KEY_FILE = str(tmp_path / "signing.pem")
    settings.LCM_AUDIT_PUBLIC_KEY_FILE = str(tmp_path / "signing.pem.pub.pem")
    settings.LCM_AUDIT_WITNESS = str(tmp_path / "witness.jsonl")
    settings.LCM_AUDIT_CHECKPOINT_EVERY = settings.LCM_AUDIT_CHECKPOINT_MINUTES = 10**9
    return tmp_path / "signing.pem.pub.pem"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_log_checkpointed_at_level_8_proves_before_and_after_0031(
    signing, monkeypatch, request, tmp_path
):
    request.addfinalizer(lambda: migrate(latest_migration()))
    migrate(BEFORE)
    # Signed as the code before 0031 signed: nodes from 256 leaves up only.
    with monkeypatch.context() as old:
        old.setattr(merkle, "STORED_LEVEL", 8)
        old.setattr(merkle, "BLOCK", 256)
        write(1000)
        first = checkpoints.make_checkpoint()
        write(300)  # a second checkpoint resumes from the first's frontier
        signed = checkpoints.make_checkpoint()
    size = signed.tree_size
    assert AuditTreeState.objects.get().size == size == first.tree_size + 300
    assert nodes(range(4, 8)) == {}
    assert len(nodes(range(8, 64))) == size // 256 + size // 512 + size // 1024
    public = verifier_key(signing)
    seqs = [1, 17, 255, 256, 300, 777, 1000, 1001, 1199, size - 1, size]

    def all_verify() -> None:
        bundle = replay.inclusion_proofs(seqs, size)
        for seq in seqs:
            proof = checkpoints.inclusion_proof(seq, signed)
            reader = checkpoints.TreeReader(size)
            one = [h.hex() for h in merkle.inclusion_proof(seq - 1, size, reader.subtree)]
            assert bundle[seq] == proof == one, seq
            entry = ModeChange.objects.get(seq=seq)
            answer = {
                **checkpoints.proved_entry(entry),
                "leaf_index": seq - 1,
                "tree_size": size,
                "inclusion_proof": proof,
                "checkpoint": checkpoints.as_json(signed),
            }
            assert verifier.check_entry_proof(answer, public).startswith(f"entry #{seq}")

    # Today's code before the migration: the missing nodes are hashed from the leaves.
    all_verify()

    migrate(latest_migration())

    assert nodes(range(4, 64)) == todays_nodes(size)
    assert len(nodes(range(4, 8))) == sum(size >> level for level in range(4, 8))
    all_verify()
    # And through the API, as the regulator checks it: the root signed before 0031.
    call_command("seed_demo", password="pw-123456", stdout=io.StringIO())
    from .conftest import client_for

    proof = client_for("auditor").get("/api/lcm/mode-changes/777/proof/").json()
    assert proof["checkpoint"]["root_hash"] == signed.root_hash
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    done = run_verifier("--public-key", signing, tmp_path / "proof.json")
    assert done.returncode == 0, done.stdout + done.stderr

    # The next checkpoint resumes from the state 0031 left: its nodes are today's.
    write(50)
    later = checkpoints.make_checkpoint()
    assert nodes(range(4, 64)) == todays_nodes(later.tree_size)

    # Back before 0031: the rows below level 8 go, the proofs still verify.
    migrate(BEFORE)
    assert nodes(range(4, 8)) == {}
    all_verify()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_0031_on_a_log_never_checkpointed_adds_nothing(request):
    request.addfinalizer(lambda: migrate(latest_migration()))
    migrate(BEFORE)
    write(100)
    migrate(latest_migration())
    assert not AuditTreeNode.objects.exists()
