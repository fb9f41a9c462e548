"""Signed checkpoints, their witness, Merkle proofs and the offline verifier.

The key pair is made by `manage.py audit_keygen` in a temporary folder; the
witness is a JSON-lines file there. The standalone verifier runs as a real
subprocess (its own interpreter, no Django) where its command line matters,
and is imported as a module for the known-answer vectors.
"""

import base64
import csv
import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lcm.actions import agent_requests
from lcm.audit import append_entries, checkpoints, compute_hash, merkle
from lcm.audit import triggers as audit_triggers
from lcm.models import Account, AuditChainHead, AuditCheckpoint, AuditTreeNode, ModeChange

from .audit_log import write_legacy_entries
from .conftest import DEMO_ENTRIES as D  # the demo log holds #1..#D before a test writes
from .conftest import WEBSERVICE, client_for, set_mode_body
from .test_api_set_new_mode_number import DAVID
from .test_query_budget import BUDGET, budget, shape

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
VERIFIER = ROOT / "tools" / "verify_proof.py"

# RFC 6962 reference leaves and roots (as published with the Certificate
# Transparency reference implementation, transparency-dev/merkle testonly).
RFC_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
              "606162636465666768696a6b6c6d6e6f"]  # fmt: skip
RFC_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
RFC_INCLUSION = {  # (leaf index, tree size): path
    (0, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (5, 8): ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
}  # fmt: skip
RFC_CONSISTENCY = {  # (first, second): proof
    (2, 8): ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (6, 8): ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
    (2, 5): ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
}  # fmt: skip


def _load_verifier():
    spec = importlib.util.spec_from_file_location("verify_proof", VERIFIER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


verifier = _load_verifier()


def run_verifier(*args) -> subprocess.CompletedProcess:
    """The verifier as a regulator runs it: its own interpreter, no Django
    settings, from a folder outside the project (so `lcm` is not importable)."""
    return subprocess.run(  # noqa: S603 (our interpreter and our tool)
        [sys.executable, "-I", str(VERIFIER), *map(str, args)],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def keys(tmp_path):
    call_command("audit_keygen", str(tmp_path / "signing.pem"), stdout=io.StringIO())
    return tmp_path / "signing.pem", tmp_path / "signing.pem.pub.pem"


@pytest.fixture
def signing(settings, keys, tmp_path):
    """Signing on, every 1,000 entries, witness in a JSON-lines file."""
    settings.LCM_AUDIT_SIGNING_KEY_FILE = str(keys[0])
    settings.LCM_AUDIT_PUBLIC_KEY_FILE = str(keys[1])
    settings.LCM_AUDIT_WITNESS = str(tmp_path / "witness.jsonl")
    settings.LCM_AUDIT_CHECKPOINT_EVERY = 1000
    settings.LCM_AUDIT_CHECKPOINT_MINUTES = 10
    return settings


def witness_lines(settings) -> list[dict]:
    path = Path(settings.LCM_AUDIT_WITNESS)
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def change(n: int, start: int = 0) -> list[ModeChange]:
    actor = get_user_model().objects.get(username="testagent")
    return [
        agent_requests.set_new_mode_number(
            callid="12345",
            account_number=DAVID,
            mode_id=1 + i % 2,
            contact_number=f"30055{i:05d}",
            delete_other_modes=False,
            agent_id="testagent",
            actor=actor,
        )
        for i in range(start, start + n)
    ]


def bulk(n: int) -> None:
    """`n` entries at once through the chain (the import path): fast."""
    account = Account.objects.get(account_number=DAVID)
    append_entries(
        [
            ModeChange(
                action="import",
                account=account,
                account_number=DAVID,
                source="import",
                mode_id=1,
                new_number=f"3005{i:06d}",
            )
            for i in range(n)
        ]
    )


def verify(*args) -> str:
    out = io.StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def verify_fails(*args) -> str:
    with pytest.raises(CommandError) as refused:
        verify(*args)
    return str(refused.value)


def checkpoint() -> AuditCheckpoint:
    made = checkpoints.make_checkpoint()
    checkpoints.deliver_pending()
    return made


# --- RFC 6962 / 9162 known answers ----------------------------------------------------


def test_the_tree_gives_the_rfc_6962_roots_and_proofs():
    leaves = [merkle.leaf_hash(bytes.fromhex(d)) for d in RFC_LEAVES]
    nodes = {}
    frontier = merkle.Frontier(on_node=lambda level, i, h: nodes.__setitem__((level, i), h))
    assert frontier.root().hex() == RFC_ROOTS[0]
    for n, leaf in enumerate(leaves, start=1):
        frontier.append(leaf)
        assert frontier.root().hex() == RFC_ROOTS[n], n
        assert verifier.root_of(leaves[:n]).hex() == RFC_ROOTS[n], n

    def subtree(start, size):
        return leaves[start] if size == 1 else nodes[size.bit_length() - 1, start // size]

    for (index, size), path in RFC_INCLUSION.items():
        assert [h.hex() for h in merkle.inclusion_proof(index, size, subtree)] == path
    for (first, second), path in RFC_CONSISTENCY.items():
        assert [h.hex() for h in merkle.consistency_proof(first, second, subtree)] == path


def test_the_offline_verifier_accepts_the_rfc_proofs_and_refuses_altered_ones():
    leaves = [merkle.leaf_hash(bytes.fromhex(d)) for d in RFC_LEAVES]
    root8 = bytes.fromhex(RFC_ROOTS[8])
    for (index, size), path in RFC_INCLUSION.items():
        proof = [bytes.fromhex(h) for h in path]
        verifier.verify_inclusion(index, size, leaves[index], proof, root8)
        wrong_arguments = [
            (index ^ 1, size, leaves[index], proof),  # another position
            (index, size, leaves[index - 1], proof),  # another leaf
            (index, size, leaves[index], proof[:-1]),  # a hash short
            (index, size, leaves[index], proof[::-1]),  # reordered
        ]
        for arguments in wrong_arguments:
            with pytest.raises(verifier.Failed):
                verifier.verify_inclusion(*arguments, root8)
    for (first, second), path in RFC_CONSISTENCY.items():
        proof = [bytes.fromhex(h) for h in path]
        roots = bytes.fromhex(RFC_ROOTS[first]), bytes.fromhex(RFC_ROOTS[second])
        verifier.verify_consistency(first, second, *roots, proof)
        with pytest.raises(verifier.Failed):
            verifier.verify_consistency(first, second, roots[1], roots[0], proof)
        with pytest.raises(verifier.Failed):
            verifier.verify_consistency(first, second, *roots, proof[1:])


def test_every_proof_of_every_small_tree_verifies():
    """Every shape of the recursion, both implementations against each other."""
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(40)]
    for n in range(1, 41):
        root = verifier.root_of(leaves[:n])

        def subtree(start, size):
            return verifier.root_of(leaves[start : start + size])

        for i in range(n):
            verifier.verify_inclusion(i, n, leaves[i], merkle.inclusion_proof(i, n, subtree), root)
        for m in range(1, n + 1):
            proof = merkle.consistency_proof(m, n, subtree)
            verifier.verify_consistency(m, n, verifier.root_of(leaves[:m]), root, proof)


# --- Keys and start-up ----------------------------------------------------------


def test_audit_keygen_writes_a_private_and_a_public_key_and_never_overwrites(tmp_path):
    out = io.StringIO()
    call_command("audit_keygen", str(tmp_path / "k.pem"), stdout=out)

    assert (tmp_path / "k.pem").stat().st_mode & 0o777 == 0o600
    assert b"BEGIN PRIVATE KEY" in (tmp_path / "k.pem").read_bytes()
    assert b"BEGIN PUBLIC KEY" in (tmp_path / "k.pem.pub.pem").read_bytes()
    assert "AUDIT_SIGNING_KEY_FILE=" in out.getvalue()
    assert "Never put it in the database" in out.getvalue()
    before = (tmp_path / "k.pem").read_bytes()
    with pytest.raises(CommandError, match="never overwritten"):
        call_command("audit_keygen", str(tmp_path / "k.pem"), stdout=io.StringIO())
    assert (tmp_path / "k.pem").read_bytes() == before


def _start(env_overrides: dict, *command) -> subprocess.CompletedProcess:
    from .processes import production_env

    env = production_env("sqlite:////tmp/lcm-never-opened.sqlite3", **env_overrides)
    return subprocess.run(  # noqa: S603
        [sys.executable, *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_a_bad_signing_key_stops_start_up_with_the_reason(tmp_path, keys):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    rsa_key = tmp_path / "rsa.pem"
    rsa_key.write_bytes(
        rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (tmp_path / "junk.pem").write_text("not a key\n")
    witness = {"AUDIT_WITNESS": str(tmp_path / "w.jsonl")}
    cases = {
        str(tmp_path / "absent.pem"): "no such file",
        str(tmp_path): "cannot be read",  # a folder: unreadable as a key, even for root
        str(rsa_key): "holds a RSAPrivateKey, not an Ed25519 private key",
        str(tmp_path / "junk.pem"): "is not a PEM private key",
    }
    for path, reason in cases.items():
        env = {"AUDIT_SIGNING_KEY_FILE": path, **witness}
        check = _start(env, "manage.py", "check")
        wsgi = _start(env, "-c", "import config.wsgi")
        assert check.returncode != 0, path
        assert f"AUDIT_SIGNING_KEY_FILE={path}" in check.stderr and reason in check.stderr, (
            check.stderr
        )
        assert wsgi.returncode != 0 and reason in wsgi.stderr, wsgi.stderr

    good = {"AUDIT_SIGNING_KEY_FILE": str(keys[0])}
    assert "AUDIT_WITNESS is not" in _start(good, "manage.py", "check").stderr
    assert _start({**good, **witness}, "manage.py", "check").returncode == 0


# --- Checkpoints: when, and what they cost the hot path -------------------------


def test_a_checkpoint_is_signed_after_every_n_entries_and_handed_to_the_witness(
    demo, signing, django_capture_on_commit_callbacks
):
    signing.LCM_AUDIT_CHECKPOINT_EVERY = 3

    for i in range(7):  # each change commits, then its on_commit hooks run
        with django_capture_on_commit_callbacks(execute=True):
            [entry] = change(1, start=i)
        crossed = [seq for seq in range(D + 1, entry.seq + 1) if seq % 3 == 0]
        sizes = AuditCheckpoint.objects.order_by("tree_size").values_list("tree_size", flat=True)
        assert list(sizes) == crossed, entry.seq

    made = list(AuditCheckpoint.objects.order_by("tree_size"))
    assert len(made) == 2
    assert all(c.witnessed_at is not None for c in made)
    assert [line["tree_size"] for line in witness_lines(signing)] == [c.tree_size for c in made]
    public = checkpoints.public_key()
    assert all(checkpoints.signature_ok(line, public) for line in witness_lines(signing))
    assert made[1].head_hash == ModeChange.objects.get(seq=made[1].tree_size).hash
    assert f"Signed checkpoint #{made[1].tree_size}" in verify()


def test_signing_adds_no_statement_to_a_set_new_mode_number(demo, signing):
    client = client_for("testagent")
    client.post(WEBSERVICE, set_mode_body(), format="json")  # warm caches

    with CaptureQueriesContext(connection) as ctx:
        response = client.post(WEBSERVICE, set_mode_body(ContactNumber="3005550111"), format="json")

    assert response.status_code == 200
    assert [shape(q["sql"]) for q in ctx.captured_queries] == budget(BUDGET)


def test_audit_checkpoint_signs_what_is_new_and_nothing_twice(demo, signing):
    change(2)
    out = io.StringIO()
    call_command("audit_checkpoint", stdout=out)
    assert out.getvalue().startswith(f"Signed checkpoint #{D + 2} root ")

    out = io.StringIO()
    call_command("audit_checkpoint", stdout=out)
    assert "No new entries" in out.getvalue()
    assert AuditCheckpoint.objects.count() == 1


def test_the_key_never_signs_a_broken_chain(demo, signing):
    change(3)
    audit_triggers.uninstall(connection)
    ModeChange.objects.filter(seq=D + 2).update(new_number="2025550000")
    audit_triggers.install(connection)

    with pytest.raises(CommandError, match=f"Nothing signed: entry #{D + 2} does not match"):
        call_command("audit_checkpoint", stdout=io.StringIO())
    assert not AuditCheckpoint.objects.exists()
    assert witness_lines(signing) == []


def test_an_unreachable_witness_loses_nothing_and_verify_says_it_is_behind(demo, signing):
    witness = signing.LCM_AUDIT_WITNESS
    signing.LCM_AUDIT_WITNESS = "/nonexistent-folder/witness.jsonl"
    change(2)
    checkpoints.make_checkpoint()
    change(1, start=2)
    with pytest.raises(CommandError, match="witness is behind: 2 checkpoint"):
        call_command("audit_checkpoint", stdout=io.StringIO())

    assert list(AuditCheckpoint.objects.values_list("tree_size", "witnessed_at")) == [
        (D + 3, None),
        (D + 2, None),
    ]
    assert f"WARNING: the witness is behind: 2 signed checkpoint(s) (#{D + 2}, #{D + 3})" in (
        verify()
    )

    signing.LCM_AUDIT_WITNESS = witness  # back up
    call_command("audit_checkpoint", stdout=io.StringIO())
    assert [line["tree_size"] for line in witness_lines(signing)] == [D + 2, D + 3]
    assert "behind" not in verify()


# --- verify_audit against the witness ---------------------------------------------


def test_the_attacker_who_recomputes_every_hash_is_caught_without_expect(demo, signing):
    """Done when: triggers dropped, an old entry edited, every later hash and
    the head recomputed with the project's own code, triggers restored."""
    for start in (0, 2, 4):  # a checkpoint after every two entries
        change(2, start=start)
        checkpoint()
    assert verify().startswith(f"Audit chain OK: {D + 6} entries")  # checkpoints D+2, D+4, D+6

    audit_triggers.uninstall(connection)
    previous = ModeChange.objects.get(seq=D + 2).hash
    for entry in ModeChange.objects.filter(seq__gte=D + 3).order_by("seq"):
        if entry.seq == D + 3:
            entry.new_number = "2025550000"  # the forgery
        entry.prev_hash = previous
        entry.hash = previous = compute_hash(entry)
        entry.save()
    AuditChainHead.objects.update(hash=previous)
    audit_triggers.install(connection)

    message = verify_fails()
    assert message.startswith(
        f"Audit chain REWRITTEN: an entry from #{D + 3} to #{D + 4} was rewritten"
    )
    assert f"after checkpoint #{D + 4}" in message
    assert f"Entries before #{D + 3} match their checkpoints" in message
    assert "REWRITTEN" in verify_fails("--full")


def test_with_a_checkpoint_per_entry_the_rewritten_entry_is_named_exactly(demo, signing):
    for start in range(4):
        change(1, start=start)
        checkpoint()
    audit_triggers.uninstall(connection)
    previous = ModeChange.objects.get(seq=D + 1).hash
    for entry in ModeChange.objects.filter(seq__gte=D + 2).order_by("seq"):
        entry.source = "forged" if entry.seq == D + 2 else entry.source
        entry.prev_hash = previous
        entry.hash = previous = compute_hash(entry)
        entry.save()
    AuditChainHead.objects.update(hash=previous)
    audit_triggers.install(connection)

    assert f"REWRITTEN: entry #{D + 2} was rewritten after checkpoint #{D + 2}" in verify_fails()


def test_a_forged_checkpoint_at_the_witness_is_reported(demo, signing):
    change(2)
    checkpoint()
    path = Path(signing.LCM_AUDIT_WITNESS)
    line = json.loads(path.read_text())
    line["root_hash"] = "0" * 64
    path.write_text(json.dumps(line) + "\n")

    assert f"checkpoint #{D + 2} at the witness is FORGED" in verify_fails()


def test_a_checkpoint_removed_from_the_database_is_reported(demo, signing):
    change(2)
    checkpoint()
    AuditCheckpoint.objects.all().delete()

    assert f"checkpoint #{D + 2} (signed " in verify_fails()
    assert "MISSING from the database" in verify_fails()


def test_a_checkpoint_signed_with_another_key_is_forged(demo, signing, tmp_path):
    change(2)
    checkpoint()
    call_command("audit_keygen", str(tmp_path / "other.pem"), stdout=io.StringIO())
    signing.LCM_AUDIT_PUBLIC_KEY_FILE = str(tmp_path / "other.pem.pub.pem")

    assert f"checkpoint #{D + 2} in the database is FORGED" in verify_fails()


def test_entries_removed_after_a_checkpoint_are_reported(demo, signing):
    change(3)
    checkpoint()
    audit_triggers.uninstall(connection)
    ModeChange.objects.filter(seq=D + 3).delete()
    AuditChainHead.objects.update(seq=D + 2, hash=ModeChange.objects.get(seq=D + 2).hash)

    assert f"entry #{D + 3} is missing: checkpoint #{D + 3}" in verify_fails()


def test_verify_is_incremental_from_the_last_verified_checkpoint(demo, signing):
    bulk(10)
    checkpoint()
    first = verify()
    assert first.startswith(f"Audit chain OK: {D + 10} entries")
    assert "Checked the" not in first  # the first run walks everything

    change(2)
    checkpoint()
    second = verify()
    assert second.startswith(f"Audit chain OK: {D + 12} entries, head #{D + 12}")
    assert f"Checked the 2 entries after checkpoint #{D + 10}" in second
    assert "Checked the" not in verify("--full")

    # An edit that leaves the hashes alone is inside the verified part: only
    # --full walks it (and a proof of that entry fails).
    audit_triggers.uninstall(connection)
    ModeChange.objects.filter(seq=5).update(new_number="2025550000")
    audit_triggers.install(connection)
    assert verify().startswith("Audit chain OK")
    assert "entry #5 (id" in verify_fails("--full")


# --- Proofs over HTTP, checked offline ---------------------------------------------


@pytest.fixture
def auditor(demo):
    return client_for("auditor")


def test_an_entrys_proof_verifies_offline(auditor, signing, tmp_path):
    bulk(700)  # stored nodes at levels 4 to 9, and a partial block at the right edge
    checkpoint()
    assert AuditTreeNode.objects.filter(level=8).count() == 2
    assert AuditTreeNode.objects.filter(level=4).count() == (D + 700) // 16
    public = signing.LCM_AUDIT_PUBLIC_KEY_FILE

    for seq in (1, 256, 257, 512, 513, 699, 700):
        with CaptureQueriesContext(connection) as ctx:
            response = auditor.get(f"/api/lcm/mode-changes/{seq}/proof/")
        assert response.status_code == 200, response.content
        # The tree in two statements: its stored nodes, then its blocks of leaves.
        tree = [q["sql"] for q in ctx.captured_queries if "lcm_audittreenode" in q["sql"]]
        assert len(tree) == 1, tree
        proof = response.json()
        assert proof["checkpoint"]["tree_size"] == D + 700
        assert proof["entry"]["seq"] == seq
        assert verifier.check_entry_proof(proof, verifier_key(public)).startswith(f"entry #{seq}")

    (tmp_path / "proof.json").write_text(json.dumps(proof))
    result = run_verifier("--public-key", public, tmp_path / "proof.json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK: entry #700 (")


def test_a_tampered_stored_node_makes_the_proof_fail_against_the_signed_root(
    auditor, signing, tmp_path
):
    """The stored subtrees (levels 4 up) only save reading leaves: a node
    edited in the database goes into the proof as it is, and the proof no
    longer leads to the root the key signed."""
    bulk(700)
    made = checkpoint()
    seq = D + 100
    leaf = seq - 1
    # The stored node beside the entry's subtree of 32 leaves: proof step 5.
    sibling = AuditTreeNode.objects.get(level=5, index=(leaf >> 5) ^ 1)
    public = signing.LCM_AUDIT_PUBLIC_KEY_FILE
    good = auditor.get(f"/api/lcm/mode-changes/{seq}/proof/").json()
    assert good["inclusion_proof"][5] == sibling.hash
    assert verifier.check_entry_proof(good, verifier_key(public)).startswith(f"entry #{seq}")

    AuditTreeNode.objects.filter(pk=sibling.pk).update(hash="ee" * 32)

    bad = auditor.get(f"/api/lcm/mode-changes/{seq}/proof/").json()
    assert bad["inclusion_proof"][5] == "ee" * 32
    assert bad["checkpoint"] == checkpoints.as_json(made)
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    result = run_verifier("--public-key", public, tmp_path / "bad.json")
    assert result.returncode == 1
    assert "the inclusion proof does not lead to the checkpoint's root hash" in result.stdout


def verifier_key(path):
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_public_key(Path(path).read_bytes())


def test_a_tampered_proof_fails_offline_with_the_reason(auditor, signing, tmp_path):
    change(5)
    checkpoint()
    proof = auditor.get("/api/lcm/mode-changes/3/proof/").json()
    public = signing.LCM_AUDIT_PUBLIC_KEY_FILE

    def tampered(edit) -> str:
        copy = json.loads(json.dumps(proof))
        edit(copy)
        (tmp_path / "bad.json").write_text(json.dumps(copy))
        result = run_verifier("--public-key", public, tmp_path / "bad.json")
        assert result.returncode == 1
        return result.stdout

    assert "entry #3 does not match its hash: its fields were altered" in tampered(
        lambda p: p["entry"].update(account_number="1|1|1|0|0|44|1")
    )
    # Format 4 (as format 3) seals the personal fields as one digest: a value
    # added beside it is refused.
    assert "its fields were altered (format 4 seals no field new_number)" in tampered(
        lambda p: p["entry"].update(new_number="2025550000")
    )
    assert "the personal values given are not those entry #3 sealed" in tampered(
        lambda p: p["personal"]["new_number"].update(value="2025550000")
    )
    assert "does not lead to the checkpoint's root" in tampered(
        lambda p: p.update(_forged_entry(p))
    )
    assert "does not lead to the checkpoint's root" in tampered(
        lambda p: p["inclusion_proof"].__setitem__(0, "ab" * 32)
    )
    assert "signature does not verify" in tampered(
        lambda p: p["checkpoint"].update(root_hash="cd" * 32)
    )
    assert "signature does not verify" in tampered(
        lambda p: p["checkpoint"].update(signature=base64.b64encode(b"x" * 64).decode())
    )
    assert "a checkpoint needs the fields" in tampered(lambda p: p.clear())


def _forged_entry(proof: dict) -> dict:
    """The proof's entry with another number, its hash recomputed as lcm does
    (formats 3 and 4: a new secret, the personal digest over the new values,
    the entry layout's hash; lcm.audit.seal)."""
    import hashlib
    import secrets

    from lcm.audit import seal

    secret = secrets.token_bytes(32)
    personal = {
        name: {"value": disclosed["value"], "salt": secret.hex()}
        for name, disclosed in proof["personal"].items()
    }
    personal["new_number"]["value"] = "2025550000"
    names = seal.PERSONAL_LAYOUTS[proof["entry"]["v"]]
    values = [personal[name]["value"] for name in names]
    values = [seal.json_text(v) if n in seal.JSON_FIELDS else v
              for n, v in zip(names, values, strict=True)]  # fmt: skip
    four = proof["entry"]["v"] == seal.FORMAT4
    lay_out = seal.personal_layout4 if four else seal.personal_layout3
    fields = dict(proof["entry"], personal_digest=seal.personal_digest3(secret, lay_out(values)))
    return {
        "entry": fields,
        "personal": personal,
        "hash": hashlib.sha256(seal.layout3(fields)).hexdigest(),
    }


def test_proof_requests_that_cannot_be_answered_get_json_errors(auditor, signing):
    change(2)
    assert auditor.get("/api/lcm/mode-changes/1/proof/").status_code == 409
    body = auditor.get("/api/lcm/mode-changes/1/proof/").json()
    assert body["code"] == "not_checkpointed"
    checkpoint()

    for seq in (str(D + 3), "0", "abc", "99999999999999999999999", "-1"):
        response = auditor.get(f"/api/lcm/mode-changes/{seq}/proof/")
        assert response.status_code == 404, seq
        assert response["Content-Type"] == "application/json"
        assert response.json() == {
            "code": "unknown_mode_change",
            "message": f"There is no audit entry #{seq}.",
        }
    for seq, shown in [("9" * 5000, "9" * 40 + "…"), ("1%00", "1\\u0000")]:
        response = auditor.get(f"/api/lcm/mode-changes/{seq}/proof/")
        assert response.status_code == 404, seq[:10]
        assert response.json() == {
            "code": "unknown_mode_change",
            "message": f"There is no audit entry #{shown}.",
        }
    agent = client_for("testagent").get("/api/lcm/mode-changes/1/proof/")
    assert agent.status_code == 403
    assert client_for(None).get("/api/lcm/mode-changes/1/proof/").status_code == 401
    assert auditor.post("/api/lcm/mode-changes/1/proof/").status_code == 405


def test_a_consistency_proof_between_checkpoints_verifies_offline(auditor, signing, tmp_path):
    bulk(300)
    checkpoint()
    bulk(420)
    checkpoint()

    first, second = D + 300, D + 720
    response = auditor.get(f"/api/lcm/checkpoints/consistency/?first={first}&second={second}")
    assert response.status_code == 200, response.content
    (tmp_path / "consistency.json").write_text(response.content.decode())
    result = run_verifier("--public-key", signing.LCM_AUDIT_PUBLIC_KEY_FILE, tmp_path / "c.json")
    assert result.returncode == 1 and "cannot read the proof" in result.stdout
    result = run_verifier(
        "--public-key", signing.LCM_AUDIT_PUBLIC_KEY_FILE, tmp_path / "consistency.json"
    )
    assert result.returncode == 0, result.stdout
    assert f"checkpoint #{second}" in result.stdout
    assert f"extends checkpoint #{first}" in result.stdout

    body = response.json()
    body["consistency_proof"][-1] = "00" * 32
    (tmp_path / "consistency.json").write_text(json.dumps(body))
    result = run_verifier(
        "--public-key", signing.LCM_AUDIT_PUBLIC_KEY_FILE, tmp_path / "consistency.json"
    )
    assert result.returncode == 1 and "does not lead to the second checkpoint's root" in (
        result.stdout
    )

    url = "/api/lcm/checkpoints/consistency/"
    assert auditor.get(url).json() == {
        "code": "invalid_fields",
        "message": "Invalid parameters: first.",
        "fields": {"first": ["This parameter is required."]},
    }
    assert auditor.get(f"{url}?first=x").status_code == 400
    assert auditor.get(f"{url}?first={'9' * 5000}").json()["fields"] == {
        "first": [f"'{'9' * 40}…' is not a checkpoint's tree size."]
    }
    assert auditor.get(f"{url}?first={first + 1}").status_code == 404
    assert auditor.get(f"{url}?first={second}&second={first}").status_code == 400
    assert auditor.get(f"{url}?first={first}").json()["second"]["tree_size"] == second


def test_a_csv_export_is_checked_offline_against_the_witness_file(auditor, signing, tmp_path):
    change(3)
    checkpoint()
    change(2, start=3)
    checkpoint()
    export = auditor.get("/api/lcm/mode-changes/?format=csv")
    csv_path = tmp_path / "export.csv"
    csv_path.write_bytes(b"".join(export.streaming_content))
    public = signing.LCM_AUDIT_PUBLIC_KEY_FILE

    result = run_verifier(
        "--public-key", public, "--checkpoints", signing.LCM_AUDIT_WITNESS, csv_path
    )
    assert result.returncode == 0, result.stdout
    assert f"entries #1 to #{D + 5} are exactly those of checkpoint #{D + 5}" in result.stdout

    rows = list(csv.reader(io.StringIO(csv_path.read_text())))
    header = rows[0]
    rows[-1][header.index("hash")] = "ee" * 32  # entry #1, newest first
    with csv_path.open("w", newline="") as file:
        csv.writer(file).writerows(rows)
    result = run_verifier(
        "--public-key", public, "--checkpoints", signing.LCM_AUDIT_WITNESS, csv_path
    )
    assert result.returncode == 1
    assert "FAILED: entry #2 does not follow entry #1" in result.stdout


# --- An HTTPS witness ---------------------------------------------------------------


@pytest.fixture
def https_witness(tmp_path):
    """A witness on 127.0.0.1 over TLS, its certificate from a throwaway CA:
    POST stores a checkpoint, GET answers the list."""
    import datetime
    import http.server
    import ipaddress
    import ssl
    import threading

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    held: list[dict] = []

    class Witness(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            held.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(201)
            self.end_headers()

        def do_GET(self):
            body = json.dumps(held).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Witness)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}/checkpoints", tmp_path / "cert.pem", held
    server.shutdown()
    server.server_close()


def test_an_https_witness_receives_checkpoints_and_verify_reads_them_back(
    demo, signing, https_witness
):
    url, ca, held = https_witness
    signing.LCM_AUDIT_WITNESS = url
    change(2)
    checkpoint()
    assert AuditCheckpoint.objects.get().witnessed_at is None  # its CA is not trusted yet

    signing.LCM_AUDIT_WITNESS_CA_FILE = str(ca)
    call_command("audit_checkpoint", stdout=io.StringIO())

    assert [c["tree_size"] for c in held] == [D + 2]
    assert f"Signed checkpoint #{D + 2} of {held[0]['timestamp']}" in verify()
    held[0]["head_hash"] = "0" * 64
    assert f"checkpoint #{D + 2} at the witness is FORGED" in verify_fails()


# --- Existing chains ----------------------------------------------------------------


def latest_migration() -> str:
    from django.db.migrations.loader import MigrationLoader

    return MigrationLoader(connection).graph.leaf_nodes("lcm")[0][1]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_list_wide_entries_stop_the_way_back_below_0016_with_a_reason(request):
    """Audit entries are never deleted: with an entry on no account in the
    log, going back to a schema where every entry has one is refused, saying
    why; 0016 stays applied (the later migrations go back first)."""
    from django.db.migrations.executor import MigrationExecutor

    call_command("seed_demo", password="pw-123456", stdout=io.StringIO())  # its list-wide entry
    latest = latest_migration()
    request.addfinalizer(lambda: MigrationExecutor(connection).migrate([("lcm", latest)]))

    # Today's log is in format 4: the way back stops there first
    # (0030_agent_state_and_audit_actions).
    with pytest.raises(RuntimeError, match="sealed in format 4"):
        MigrationExecutor(connection).migrate([("lcm", "0015_audit_checkpoints")])
    applied = MigrationExecutor(connection).loader.applied_migrations
    assert ("lcm", "0030_agent_state_and_audit_actions") in applied

    # A log from before format 3 whose list-wide entry is its only one: the
    # way back stops at 0016, saying why.
    from .test_campaigns import empty_the_log

    listwide = ModeChange.objects.filter(account__isnull=True).values().get()
    empty_the_log()
    ModeChange.objects.create(**{**listwide, "version": None})
    with pytest.raises(RuntimeError, match="list-wide do-not-call entries"):
        MigrationExecutor(connection).migrate([("lcm", "0015_audit_checkpoints")])

    assert ModeChange.objects.filter(account__isnull=True).count() == 1
    applied = MigrationExecutor(connection).loader.applied_migrations
    assert ("lcm", "0016_list_wide_do_not_call_entries") in applied


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_log_written_before_checkpoints_converts_in_place(settings, keys, tmp_path, request):
    """Item 5: entries made before migration 0014 are leaves as they are; the
    migrations (0015, 0018) rewrite nothing and the first checkpoint covers
    them all. (Today's code needs today's columns: it verifies after them.)"""
    from django.db.migrations.executor import MigrationExecutor

    def migrate(target: str) -> None:
        executor = MigrationExecutor(connection)
        executor.migrate([("lcm", target)])

    request.addfinalizer(lambda: migrate(latest_migration()))  # the next tests' schema
    migrate("0014_callbacks")
    # Entries as the code of that time wrote them (format 1), through its models.
    state = MigrationExecutor(connection).loader.project_state(("lcm", "0014_callbacks"))
    write_legacy_entries(state.apps, 3)
    Entry = state.apps.get_model("lcm", "ModeChange")
    hashes = list(Entry.objects.order_by("seq").values_list("seq", "prev_hash", "hash"))
    n = len(hashes)

    migrate("0015_audit_checkpoints")
    # 0018 adds the erasure columns and touches no entry: they stay format 1.
    migrate(latest_migration())
    before = verify()
    assert before.startswith(f"Audit chain OK: {n} entries, head #{n} {hashes[-1][2]}")
    assert list(ModeChange.objects.order_by("seq").values_list("seq", "prev_hash", "hash")) == (
        hashes
    )

    settings.LCM_AUDIT_SIGNING_KEY_FILE = str(keys[0])
    settings.LCM_AUDIT_WITNESS = str(tmp_path / "witness.jsonl")
    call_command("audit_checkpoint", stdout=io.StringIO())
    after = verify()
    assert after.startswith(before.strip())
    assert f"Signed checkpoint #{n}" in after
    assert list(ModeChange.objects.order_by("seq").values_list("seq", "prev_hash", "hash")) == (
        hashes
    )
    call_command("seed_demo", password="pw-123456", stdout=io.StringIO())
    proof = client_for("auditor").get("/api/lcm/mode-changes/1/proof/").json()
    assert verifier.check_entry_proof(proof, verifier_key(keys[1])).startswith("entry #1")


@pytest.mark.postgres
def test_the_app_role_signs_and_delivers_checkpoints_but_cannot_remove_them(demo, signing):
    from django.db import DatabaseError, transaction

    from .test_audit_roles import GRANTS

    def sql(statement):
        with connection.cursor() as cursor:
            cursor.execute(statement)

    sql("CREATE ROLE lcm_app NOLOGIN")
    sql(GRANTS.read_text())
    sql("SET LOCAL ROLE lcm_app")
    bulk(300)
    checkpoint()  # inserts the checkpoint and nodes, updates the state, marks it witnessed
    assert AuditCheckpoint.objects.get().witnessed_at is not None
    assert f"Signed checkpoint #{D + 300}" in verify()
    for statement in (
        "DELETE FROM lcm_auditcheckpoint",
        "UPDATE lcm_auditcheckpoint SET root_hash = ''",
        "DELETE FROM lcm_audittreenode",
        "TRUNCATE lcm_audittreestate",
    ):
        with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
            sql(statement)
    sql("RESET ROLE")
