"""Audit format 3 (issue 26, decisions 2 and 3; docs/audit.md "Format 3"):
one digest over an entry's personal fields, one hash over a fixed byte
layout; the batch writer's tuple path; the epoch after formats 1 and 2.
Format 4 (issue 31, migration 0030; docs/audit.md "Format 4"): format 3's
layouts with their own tags and `business_fields` last in the personal one,
written by every append since 0030, while format 3 entries keep verifying.

Known-answer vectors pin the bytes: fixed inputs give fixed hex, through
lcm's seal and through the offline verifier (tools/verify_proof.py), which
is written apart from it, as a regulator would."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.exceptions import IrreversibleError
from django.db.migrations.executor import MigrationExecutor

from lcm import audit
from lcm.actions import modes
from lcm.audit import seal
from lcm.audit import triggers as audit_triggers
from lcm.models import Account, ModeChange

from .audit_log import write_legacy_entries
from .conftest import DEMO_ENTRIES
from .test_audit_lean import raw_rows, write_format2_entries
from .test_audit_proofs import latest_migration, verifier

DAVID = "5|3|1|0|0|44|1"
SECRET = bytes(range(32))  # 00 01 02 … 1f
MODES = [{"mode_id": 1, "before": {"number": "6491462346"}, "after": {"number": "961084836"}}]
# The documented example (docs/audit.md, "Format 3").
PERSONAL_LAYOUT = (
    "00000014" + b"lcm-audit-personal-3".hex()
    + "0000000a" + b"6491462346".hex()
    + "00000009" + b"961084836".hex()
    + "00000000"  # new_number_e164: ""
    + "00000002" + b"[]".hex()
    + "0000004f" + b'[{"after":{"number":"961084836"},"before":{"number":"6491462346"},'
    b'"mode_id":1}]'.hex()
    + "ffffffff" + "ffffffff"  # do_not_call, callback: null
)  # fmt: skip
PERSONAL_DIGEST = "9725ea1c5559dc69b39c50b8cda026f2dab2b4b3ac0d7475c347c767c5f72084"
ENTRY_HASH = "742a929ef1beaad8952d9eb16ef2444e2d3806b3b0e31c1ce87b56d597deb089"
# Format 4's (docs/audit.md, "Format 4"): the same entry, its tags and one
# more personal field, `business_fields`, null, then holding a change.
PERSONAL_LAYOUT4 = (
    "00000014" + b"lcm-audit-personal-4".hex() + PERSONAL_LAYOUT[48:] + "ffffffff"
)  # fmt: skip
PERSONAL_DIGEST4 = "5c96d2826c07d29fa0e297c95ecc7e503061da36f6d2a3997ddcc22a9929c191"
ENTRY_HASH4 = "4e2b6d64e52732a7d3e0d0b9d6fa1e227e3ef7eb88beb942318910ed51f828d0"
BUSINESS = [{"FieldName": "Email", "before": "", "after": "d@example.com"}]
BUSINESS_FIELD = "0000003b" + b'[{"FieldName":"Email","after":"d@example.com","before":""}]'.hex()
PERSONAL_DIGEST4_BUSINESS = "50c3e635f91ccf88dac586035ff41d32742e0d00d3d1c074d7d50b3997b000cf"
ENTRY_HASH4_BUSINESS = "6385f98eb723d4cb0b8dcf2c42179e4282986abf5c4d0adcbd703b7ab705a4fe"


def example_entry(version: int = 3, business_fields=None) -> ModeChange:
    return ModeChange(
        seq=1, created_at=datetime(2026, 11, 26, 14, 30, 0, 123456, tzinfo=UTC), action="set",
        account_id=1, account_number=DAVID, call_id=1, callid="12345", agent_id=1,
        agent_code="testagent", user_id=2, username="testagent", source="agentapp", mode_id=1,
        old_number="6491462346", new_number="961084836", new_number_e164="", deleted_modes=[],
        modes=MODES, client_ip="10.1.2.3", request_id="req-1", prev_hash="0" * 64,
        salt=SECRET.hex(), version=version, business_fields=business_fields,
    )  # fmt: skip


def test_a_field_is_its_length_then_its_text_and_null_is_all_ones():
    assert seal.field_bytes("abc") == bytes.fromhex("00000003") + b"abc"
    assert seal.field_bytes("") == bytes.fromhex("00000000")
    assert seal.field_bytes(None) == bytes.fromhex("ffffffff")
    assert seal.field_bytes(-12) == bytes.fromhex("00000003") + b"-12"
    assert seal.field_bytes("é") == bytes.fromhex("00000002c3a9")  # UTF-8 bytes, not characters


def test_the_known_answer_vectors():
    entry = example_entry()
    assert seal.entry_personal(entry).hex() == PERSONAL_LAYOUT
    assert audit.personal_digests(entry) == {"personal_digest": PERSONAL_DIGEST}
    assert audit.compute_hash(entry) == ENTRY_HASH
    layout = audit.canonical_bytes(entry)
    assert layout.startswith(bytes.fromhex("00000011") + b"lcm-audit-entry-3")
    assert layout.endswith(bytes.fromhex("00000040") + b"0" * 64)  # prev_hash, last


def test_the_append_lays_out_what_the_proof_gives():
    """The hot path's layout (`entry_layout3`) is that of the proof's fields."""
    entry = example_entry()
    entry.erasure, entry.details, entry.reverts_id = {"entries": [1]}, {"é": [1, None]}, 9
    assert seal.entry_layout3(entry) == seal.layout3(audit.canonical_payload(entry))
    assert verifier.entry_hash(audit.canonical_payload(entry)) == audit.compute_hash(entry)


def test_the_offline_verifier_gives_the_same_answers():
    entry = example_entry()
    fields = audit.canonical_payload(entry)
    assert fields["v"] == 3 and fields["personal_digest"] == PERSONAL_DIGEST
    assert verifier.entry_hash(fields) == ENTRY_HASH
    values = {name: getattr(entry, name) for name in seal.PERSONAL3}
    disclosed = {name: {"value": v, "salt": SECRET.hex()} for name, v in values.items()}
    assert verifier.check_personal(fields, disclosed) == 7
    with pytest.raises(verifier.Failed, match="format 3 entry seals no personal value business"):
        verifier.check_personal(
            fields, dict(disclosed, business_fields={"value": None, "salt": SECRET.hex()})
        )
    with pytest.raises(verifier.Failed, match="not those entry #1 sealed"):
        verifier.check_personal(
            fields, dict(disclosed, old_number={"value": "1", "salt": SECRET.hex()})
        )
    with pytest.raises(verifier.Failed, match="its fields were altered"):
        verifier.entry_hash(dict(fields, old_number="6491462346"))
    assert verifier.entry_hash(dict(fields, seq=2)) != ENTRY_HASH


def test_each_field_is_sealed():
    """Changing any sealed field, or any personal value, changes the hash."""
    digest = audit.compute_hash(example_entry())
    changed = {"account_id": 2, "call_id": None, "user_id": 3, "reverts_id": 1,
               "client_ip": None, "erasure": {"reason": "x"}, "details": {"a": 1},
               "prev_hash": "1" * 64, "seq": 2, "new_number_e164": "+1",
               "do_not_call": {"event": "block"}, "callback": {"id": 1}, "deleted_modes": [1],
               "agent_id": 7}  # fmt: skip
    for name in [*seal.LAYOUT3, *seal.PERSONAL3]:
        if name == "personal_digest":
            continue
        entry = example_entry()
        value = getattr(entry, name)
        setattr(entry, name, changed.get(name, value + "x" if isinstance(value, str) else value))
        if name == "created_at":
            entry.created_at = value.replace(microsecond=1)
        if name == "modes":
            entry.modes = [*MODES, {"mode_id": 2}]
        if name == "mode_id":
            entry.mode_id = 2
        assert audit.compute_hash(entry) != digest, name


def test_an_erased_entry_is_hashed_from_its_kept_digest():
    entry = example_entry()
    kept = audit.personal_digests(entry)
    for name, value in audit.ERASED_VALUES.items():
        setattr(entry, name, value)
    entry.salt, entry.digests = None, kept
    assert audit.compute_hash(entry) == ENTRY_HASH


def test_a_format_3_entry_holding_business_fields_was_not_written_by_lcm():
    """Format 3 seals no `business_fields` (null on every entry written
    before migration 0030): a format 3 row holding one is reported, though
    its layout's bytes do not change."""
    entry = example_entry(3, BUSINESS)
    assert seal.entry_personal(entry).hex() == PERSONAL_LAYOUT
    entry.hash = audit.compute_hash(entry)
    assert entry.hash == ENTRY_HASH
    assert audit.content_matches(entry) is False
    entry.business_fields = None
    assert audit.content_matches(entry) is True


# --- Format 4: format 3's layouts, tagged 4, with business_fields -------------------


def hand_made_format4(business_fields) -> tuple[str, str]:
    """The personal digest and hash of the example entry in format 4, from
    docs/audit.md's layout alone (hashlib and hmac, nothing of lcm's)."""
    import hashlib
    import hmac
    import json

    def field(value) -> bytes:
        if value is None:
            return bytes.fromhex("ffffffff")
        data = str(value).encode()
        return len(data).to_bytes(4, "big") + data

    def text(value):
        return (
            None
            if value is None
            else json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        )

    personal = [
        "lcm-audit-personal-4", "6491462346", "961084836", "", "[]", text(MODES), None, None,
        text(business_fields),
    ]  # fmt: skip
    digest = hmac.new(SECRET, b"".join(map(field, personal)), hashlib.sha256).hexdigest()
    layout = [
        "lcm-audit-entry-4", "2026-11-26T14:30:00.123456Z", "set", 1, "12345", 1, "testagent", 2,
        "testagent", "agentapp", "10.1.2.3", "req-1", None, None, None, 1, 1, DAVID, 1, digest,
        "0" * 64,
    ]  # fmt: skip
    return digest, hashlib.sha256(b"".join(map(field, layout))).hexdigest()


def test_the_known_answer_vectors_of_format_4():
    entry = example_entry(4)
    assert seal.entry_personal(entry).hex() == PERSONAL_LAYOUT4
    assert audit.personal_digests(entry) == {"personal_digest": PERSONAL_DIGEST4}
    assert audit.compute_hash(entry) == ENTRY_HASH4
    assert hand_made_format4(None) == (PERSONAL_DIGEST4, ENTRY_HASH4)
    layout = audit.canonical_bytes(entry)
    assert layout.startswith(bytes.fromhex("00000011") + b"lcm-audit-entry-4")
    assert layout[21:] == audit.canonical_bytes(example_entry(3))[21:].replace(
        PERSONAL_DIGEST.encode(), PERSONAL_DIGEST4.encode()
    )  # format 3's entry layout but for its tag and the digest it seals

    entry = example_entry(4, BUSINESS)
    assert seal.entry_personal(entry).hex() == PERSONAL_LAYOUT4[:-8] + BUSINESS_FIELD
    assert audit.personal_digests(entry) == {"personal_digest": PERSONAL_DIGEST4_BUSINESS}
    assert audit.compute_hash(entry) == ENTRY_HASH4_BUSINESS
    assert hand_made_format4(BUSINESS) == (PERSONAL_DIGEST4_BUSINESS, ENTRY_HASH4_BUSINESS)


def test_the_offline_verifier_gives_format_4_the_same_answers():
    entry = example_entry(4, BUSINESS)
    fields = audit.canonical_payload(entry)
    assert fields["v"] == 4 and fields["personal_digest"] == PERSONAL_DIGEST4_BUSINESS
    assert "business_fields" not in fields  # personal: only inside the digest
    assert verifier.entry_hash(fields) == ENTRY_HASH4_BUSINESS
    assert seal.entry_layout3(entry) == seal.layout3(fields)
    disclosed = {n: {"value": getattr(entry, n), "salt": SECRET.hex()} for n in seal.PERSONAL4}
    assert verifier.check_personal(fields, disclosed) == 8
    other = [{"FieldName": "Email", "before": "", "after": "x@example.com"}]
    with pytest.raises(verifier.Failed, match="not those entry #1 sealed"):
        verifier.check_personal(
            fields, dict(disclosed, business_fields={"value": other, "salt": SECRET.hex()})
        )
    without = {n: v for n, v in disclosed.items() if n != "business_fields"}
    with pytest.raises(verifier.Failed, match="lacks the fields business_fields"):
        verifier.check_personal(fields, without)
    # The version is sealed through the tags: the same fields as format 3 do not verify.
    assert verifier.entry_hash(dict(fields, v=3)) != ENTRY_HASH4_BUSINESS
    with pytest.raises(verifier.Failed, match="its fields were altered"):
        verifier.entry_hash(dict(fields, business_fields=BUSINESS))


def test_each_field_of_format_4_is_sealed():
    digest = audit.compute_hash(example_entry(4, BUSINESS))
    for name in [*seal.PERSONAL4, "version"]:
        entry = example_entry(4, BUSINESS)
        value = getattr(entry, name)
        changed = {"business_fields": [{**BUSINESS[0], "after": "e@example.com"}],
                   "do_not_call": {"event": "block"}, "callback": {"id": 1},
                   "deleted_modes": [1], "modes": [], "version": 3}  # fmt: skip
        setattr(entry, name, changed.get(name, value + "x" if isinstance(value, str) else value))
        assert audit.compute_hash(entry) != digest, name
    entry = example_entry(4, BUSINESS)
    entry.business_fields = None
    assert audit.compute_hash(entry) != digest


def test_an_erased_format_4_entry_is_hashed_from_its_kept_digest():
    entry = example_entry(4, BUSINESS)
    kept = audit.personal_digests(entry)
    for name, value in audit.ERASED_VALUES.items():
        setattr(entry, name, value)
    assert entry.business_fields is None
    entry.salt, entry.digests = None, kept
    assert audit.compute_hash(entry) == ENTRY_HASH4_BUSINESS


# --- The doors write format 4 ---------------------------------------------------------


def test_every_append_is_format_4_and_verifies(demo, agent_client):
    from .audit_log import set_number

    set_number("12345", DAVID, "testagent", 1, "3005550101")
    entries = list(ModeChange.objects.order_by("seq"))
    assert {e.version for e in entries} == {4}  # the demo's import and do-not-call too
    assert all(audit.content_matches(e) for e in entries)
    report = audit.verify_chain()
    assert report.ok and report.format4_from == 1 and report.format3_from is None


def batch(n: int, start: int = 0) -> list[audit.Appended]:
    """`n` new accounts' mode 1 set in one import batch (`write_batch`)."""
    user = get_user_model().objects.get(username="admin")
    changes = [
        modes.BatchChange(
            account=Account.objects.create(account_number=f"{start + i}|1|1|0|0|44|1"),
            mode_id=1,
            before=None,
            after=modes.ModeState(number=f"30055{start + i:05d}", e164="", national=""),
        )
        for i in range(n)
    ]
    author = audit.BatchAuthor(action="import", user_id=user.pk, username="admin", source="csv")
    return modes.write_batch(changes, by="admin", author=author)


def test_the_tuple_path_writes_the_entries_the_instance_seal_computes(demo):
    """Rows built as tuples, in the column order the single-row INSERT
    names, read back as entries: each one's content gives its hash, as
    `lcm.audit` computes it from the instance."""
    appended = batch(7)
    assert [a.seq for a in appended] == list(range(DEMO_ENTRIES + 1, DEMO_ENTRIES + 8))
    stored = {e.seq: e for e in ModeChange.objects.filter(seq__gt=DEMO_ENTRIES)}
    for row in appended:
        entry = stored[row.seq]
        assert (entry.hash, entry.account_id, entry.version) == (row.hash, row.account_id, 4)
        assert audit.compute_hash(entry) == entry.hash
        assert (entry.action, entry.username, entry.source, entry.callid) == (
            "import", "admin", "csv", "",
        )  # fmt: skip
        assert entry.modes == [
            {"mode_id": entry.mode_id, "before": None,
             "after": modes.ModeState(number=entry.new_number, e164="", national="").audit()}
        ]  # fmt: skip
        assert entry.deleted_modes == [] and len(entry.salt) == 64
    assert len({e.salt for e in stored.values()}) == 7  # a secret each
    assert (
        tuple(f.column for f in ModeChange._meta.concrete_fields if not f.primary_key)
        == audit.COLUMNS
    )
    report = audit.verify_chain()
    assert report.ok, report.problem
    # The older interface (an `entry` per change, read for its author only) still works.
    account = Account.objects.get(account_number="0|1|1|0|0|44|1")
    legacy = modes.write_batch(
        [modes.BatchChange(account=account, mode_id=2, before=None,
                           after=modes.ModeState(number="3005559999", e164="", national=""),
                           entry=ModeChange(action="import", username="old", source="old"))],
        by="old",
    )  # fmt: skip
    assert ModeChange.objects.get(seq=legacy[0].seq).username == "old"
    assert audit.verify_chain().ok


def test_the_erasure_of_format_3_entries_keeps_them_checked(demo):
    batch(1)  # the tuple path's entry, and the demo's import of David
    out = io.StringIO()
    for key in ("0|1|1|0|0|44|1", DAVID):
        call_command("erase_contact", key, reason="Request T-1", stdout=out)
    erased = ModeChange.objects.filter(erased_by__isnull=False)
    assert erased.count() == 3
    for entry in erased:
        assert entry.salt is None and set(entry.digests) == {"personal_digest"}
        assert audit.content_matches(entry) is True
    verified = io.StringIO()
    call_command("verify_audit", "--full", stdout=verified)
    assert f"{erased.count()} erased entries of format 2, 3 or 4 walked" in verified.getvalue()


def test_an_erasure_may_not_change_an_entrys_format(demo):
    call_command("erase_contact", DAVID, reason="Request T-2", stdout=io.StringIO())
    entry = ModeChange.objects.filter(account_number=DAVID, erased_by__isnull=False).first()
    maria = ModeChange.objects.filter(account_number="596|485|587|0|0|44|59").first()
    record = ModeChange.objects.filter(action="erase").first()
    for pk, change in [
        (entry.pk, {"version": None}),
        (entry.pk, {"version": 3}),
        (maria.pk, {"version": 2}),
    ]:
        with pytest.raises(IntegrityError, match=audit_triggers.REFUSED), transaction.atomic():
            ModeChange.objects.filter(pk=pk).update(**change)
    assert record is not None and audit_triggers.missing(connection) == []


def verify_fails() -> str:
    with pytest.raises(CommandError) as refused:
        call_command("verify_audit", "--full", stdout=io.StringIO())
    return str(refused.value)


def test_an_entry_in_an_older_or_unknown_format_after_format_4_is_reported(demo):
    audit_triggers.uninstall(connection)
    entry = ModeChange.objects.get(seq=2)
    ModeChange.objects.filter(pk=entry.pk).update(version=None)  # back to format 2
    problem = f"entry #2 (id {entry.pk}) is in format 2 (salted digests in JSON) after format 4"
    assert f"{problem} began at #1" in verify_fails()
    ModeChange.objects.filter(pk=entry.pk).update(version=3)  # back to format 3
    problem = f"entry #2 (id {entry.pk}) is in format 3 (byte layouts) after format 4"
    assert f"{problem} began at #1" in verify_fails()
    ModeChange.objects.filter(pk=entry.pk).update(version=5)
    assert f"entry #2 (id {entry.pk}) claims format 5, which lcm never wrote" in verify_fails()
    ModeChange.objects.filter(pk=entry.pk).update(version=4)
    audit_triggers.install(connection)
    assert audit.verify_chain().ok


# --- An existing log: formats 1 and 2, then the epoch ------------------------------


def migrate(target: str) -> None:
    MigrationExecutor(connection).migrate([("lcm", target)])


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_log_written_before_format_3_keeps_its_bytes_and_format_3_follows(request):
    """Entries written at migration 0024 (formats 1 and 2) come through 0026 (format 3)
    unchanged in every column; the next append starts format 3 (the epoch),
    and verify_audit names where each format begins."""
    before_migration = "0024_account_campaign_record"
    request.addfinalizer(lambda: migrate(latest_migration()))
    migrate(before_migration)
    state = MigrationExecutor(connection).loader.project_state(("lcm", before_migration))
    write_legacy_entries(state.apps, 2)  # format 1: #1, #2
    write_format2_entries(state.apps, 2)  # format 2: #3, #4
    columns = [f.column for f in state.apps.get_model("lcm", "ModeChange")._meta.concrete_fields]
    before = raw_rows(columns)

    migrate(latest_migration())

    assert raw_rows(columns) == before
    assert set(ModeChange.objects.values_list("version", flat=True)) == {None}
    account = Account.objects.get(account_number="9|9|9|0|0|44|9")
    audit.append_rows(
        audit.BatchAuthor(action="import", username="after", source="csv"),
        [(account.pk, account.account_number, 1, "", "4015550199", "", [])],
    )
    report = audit.verify_chain()
    assert report.ok, report.problem
    # Today's code writes format 4 (migration 0030): the log goes from 2 to 4.
    assert (report.format2_from, report.format3_from, report.format4_from) == (3, None, 5)
    assert report.count == 5
    out = io.StringIO()
    call_command("verify_audit", "--full", stdout=out)
    assert (
        "Entries #1 to #2 are in format 1 (their personal values are in their hashes); "
        "format 2 (salted digests) from #3; format 4 (byte layouts, one personal digest with "
        "business fields) from #5."
    ) in out.getvalue()
    assert audit_triggers.missing(connection) == []


def test_the_schemas_example_proof_is_a_format_4_entry_that_verifies():
    from lcm.api import examples

    proof = examples.MODE_CHANGE_PROOF
    assert proof["entry"]["v"] == 4
    assert verifier.entry_hash(proof["entry"]) == proof["hash"]
    assert verifier.check_personal(proof["entry"], proof["personal"]) == 8


# --- An existing format 3 log: migration 0030, then format 4 -----------------------

BEFORE_0030 = "0029_drop_account_upload"
THIRD = "8|8|8|0|0|44|8"  # the account of the format 3 entries


def write_format3_entries(apps, count: int) -> None:
    """`count` format 3 entries on the account THIRD, as lcm wrote them from
    migration 0026 to 0030 (`seal3`), through the models of `apps` (0029's,
    which have no `business_fields`)."""
    from django.utils import timezone

    Account = apps.get_model("lcm", "Account")
    Entry = apps.get_model("lcm", "ModeChange")
    Head = apps.get_model("lcm", "AuditChainHead")
    account = Account.objects.create(account_number=THIRD, first_name="Tess", last_name="Third")
    head = Head.objects.get(pk=1)
    names = {f.attname for f in Entry._meta.concrete_fields} - {"id"}
    assert "business_fields" not in names
    for i in range(count):
        entry = ModeChange(
            seq=head.seq + 1, created_at=timezone.now(), action="set", account_id=account.pk,
            account_number=THIRD, username="format3", source="agentapp", mode_id=1,
            old_number="", new_number=f"50255501{i:02d}", new_number_e164=f"+150255501{i:02d}",
            deleted_modes=[], client_ip="10.0.0.7", request_id=f"format3-{i}",
            modes=[{"mode_id": 1, "before": None, "after": {"number": f"50255501{i:02d}"}}],
            prev_hash=head.hash,
        )  # fmt: skip
        entry.hash = audit.compute_hash(entry, seal.seal3(entry))
        Entry.objects.create(**{name: getattr(entry, name) for name in names})
        head.seq, head.hash = entry.seq, entry.hash
        head.save()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_format_3_log_written_before_0030_verifies_after_it(request):
    """Entries written at migration 0029 (formats 1, 2 and 3) come through
    0030 unchanged in every column and still verify: each format 3 entry's
    hash, its proof offline, its erasure. While the log holds no format 4
    entry, 0030 goes back; the next append starts format 4 (the epoch), and
    then going back past 0030 is refused with nothing changed."""
    from lcm.audit.checkpoints import proved_entry

    request.addfinalizer(lambda: migrate(latest_migration()))
    migrate(BEFORE_0030)
    state = MigrationExecutor(connection).loader.project_state(("lcm", BEFORE_0030))
    write_legacy_entries(state.apps, 2)  # format 1: #1, #2
    write_format2_entries(state.apps, 1)  # format 2: #3
    write_format3_entries(state.apps, 3)  # format 3: #4 to #6
    columns = [f.column for f in state.apps.get_model("lcm", "ModeChange")._meta.concrete_fields]
    before = raw_rows(columns)

    migrate(latest_migration())

    assert raw_rows(columns) == before
    assert list(ModeChange.objects.order_by("seq").values_list("version", flat=True)) == [
        None, None, None, 3, 3, 3,
    ]  # fmt: skip
    assert not ModeChange.objects.filter(business_fields__isnull=False).exists()
    report = audit.verify_chain()
    assert report.ok, report.problem
    assert (report.format2_from, report.format3_from, report.format4_from) == (3, 4, None)
    third = ModeChange.objects.get(seq=4)
    proof = proved_entry(third)
    assert proof["entry"]["v"] == 3 and set(proof["personal"]) == set(seal.PERSONAL3)
    assert verifier.entry_hash(proof["entry"]) == third.hash == proof["hash"]
    assert verifier.check_personal(proof["entry"], proof["personal"]) == 7

    # No format 4 entry yet: 0030 goes back (and forward again), the log unchanged.
    migrate(BEFORE_0030)
    assert raw_rows(columns) == before
    migrate(latest_migration())
    assert raw_rows(columns) == before and audit_triggers.missing(connection) == []

    # The next entries are format 4; the format 3 ones are erased and still checked.
    account = Account.objects.get(account_number="9|9|9|0|0|44|9")
    audit.append_rows(
        audit.BatchAuthor(action="import", username="after", source="csv"),
        [(account.pk, account.account_number, 1, "", "4015550199", "", [])],
    )
    call_command("erase_contact", THIRD, reason="Request T-3", stdout=io.StringIO())
    entries = {e.seq: e for e in ModeChange.objects.all()}
    assert (entries[7].version, entries[8].version, entries[8].action) == (4, 4, "erase")
    for seq in (4, 5, 6):
        erased = entries[seq]
        assert (erased.version, erased.salt, set(erased.digests)) == (3, None, {"personal_digest"})
        assert erased.erased_by_id == entries[8].pk and audit.content_matches(erased) is True
    report = audit.verify_chain()
    assert report.ok, report.problem
    assert (report.format3_from, report.format4_from, report.erased_checked) == (4, 7, 3)
    out = io.StringIO()
    call_command("verify_audit", "--full", stdout=out)
    assert (
        "Entries #1 to #2 are in format 1 (their personal values are in their hashes); "
        "format 2 (salted digests) from #3; format 3 (byte layouts, one personal digest) "
        "from #4; format 4 (byte layouts, one personal digest with business fields) from #7."
    ) in out.getvalue()

    # Format 4 entries: going back past 0030 is refused, nothing changed.
    everything = raw_rows([*columns, "business_fields"])
    with pytest.raises(IrreversibleError, match=r"2 audit entries are sealed in format 4"):
        migrate(BEFORE_0030)
    assert raw_rows([*columns, "business_fields"]) == everything
    assert audit.verify_chain().ok and audit_triggers.missing(connection) == []
