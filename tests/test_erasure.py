"""Erasure that keeps the proof (issue 17, item 4; docs/audit.md "Erasure").

`manage.py erase_contact` removes one account's personal data, in its rows
and in its audit entries, and every hash, Merkle proof and signed
checkpoint still verifies: with `verify_audit` (incremental and --full) and
with the standalone verifier a regulator runs. Entries sealed before format
2 lose their content for good: what is then checked, and what not, is said.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest
import time_machine
from django.apps import apps as global_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from lcm import errors
from lcm.actions import supervisor
from lcm.audit import ERASED_VALUES
from lcm.audit import triggers as audit_triggers
from lcm.models import (
    Account,
    AuditChainHead,
    AuditCheckpoint,
    Callback,
    ContactMode,
    DoNotCallNumber,
    ModeChange,
)

from .audit_log import LEGACY, LEGACY_NUMBERS, write_legacy_entries
from .conftest import WEBSERVICE, client_for, envelope, set_mode_body, snapshot
from .test_audit_proofs import bulk, checkpoint, run_verifier, verify, verify_fails, witness_lines

pytestmark = pytest.mark.django_db

DAVID = "5|3|1|0|0|44|1"  # modes 1 6491462346, 2 2025550143; testagent's call 12345
MARIA = "596|485|587|0|0|44|59"
NOW = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)  # 10:00 in New York
REASON = "Erasure request ER-2026-117"
MARKER = f"(entry #{{seq}}): {REASON}"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def signing(settings, tmp_path):
    call_command("audit_keygen", str(tmp_path / "signing.pem"), stdout=io.StringIO())
    settings.LCM_AUDIT_SIGNING_KEY_FILE = str(tmp_path / "signing.pem")
    settings.LCM_AUDIT_PUBLIC_KEY_FILE = str(tmp_path / "signing.pem.pub.pem")
    settings.LCM_AUDIT_WITNESS = str(tmp_path / "witness.jsonl")
    settings.LCM_AUDIT_CHECKPOINT_EVERY = 1000
    settings.LCM_AUDIT_CHECKPOINT_MINUTES = 10
    return settings


def erase(key: str = DAVID, reason: str = REASON, **options) -> str:
    out = io.StringIO()
    call_command("erase_contact", key, reason=reason, stdout=out, **options)
    return out.getvalue()


def post(client, body):
    response = client.post(WEBSERVICE, body, format="json")
    assert response.status_code == 200, response.content
    assert "error" not in json.dumps(response.json()).lower(), response.content
    return response.json()


def davids_history() -> None:
    """Entries of every kind on David: set (twice, one deleting his other
    modes), a revert of it, SetDNC of a number, a callback; the demo's import
    entries are his first."""
    agent = client_for("testagent")
    post(agent, set_mode_body(ContactNumber="3005550111"))
    post(agent, set_mode_body(ModeID=2, ContactNumber="3005550122", DeleteOtherModes=True))
    admin = get_user_model().objects.get(username="admin")
    last = ModeChange.objects.filter(account_number=DAVID).order_by("-seq").first()
    supervisor.revert_mode_change(
        change_id=last.pk, actor=admin, expected_seq=None, confirm_superseded=True
    )
    post(
        agent,
        envelope(
            "SetCallbackWithComments",
            callid="12345",
            AccountNumber=DAVID,
            StartDate="02/12/2026",
            EndDate="02/12/2026",
            StartTime="10:00",
            EndTime="12:00",
            CallbackModeId=2,
            UserID="testagent",
            AgentComments="Call back Mr Davidson about the renewal",
        ),
    )
    post(
        agent,
        envelope(
            "SetDNC",
            callid="12345",
            AccountNumber=DAVID,
            AgentID="testagent",
            isPhoneNoDNC=True,
            ModeID=1,
            AgentComments="Asked Davidson not to be called on this one",
        ),
    )


def personal_values(account_number: str) -> set[str]:
    """Every personal value of the account, as stored anywhere today."""
    account = Account.objects.get(account_number=account_number)
    values = {account.first_name, account.last_name, account.zip_code}
    for row in ContactMode.objects.filter(account=account).values_list(
        "number", "number_as_given", "number_e164", "number_national"
    ):
        values.update(row)
    for row in Callback.objects.filter(account=account).values_list(
        "number", "number_e164", "number_national", "comments"
    ):
        values.update(row)
    for entry in ModeChange.objects.filter(account=account):
        values.update([entry.old_number, entry.new_number, entry.new_number_e164])
        values.update(m["number"] for m in entry.deleted_modes)
    values.update(
        DoNotCallNumber.objects.filter(account=account).values_list("comments", flat=True)
    )
    return {v for v in values if v and len(v) >= 4}


def where_found(values: set[str]) -> set[tuple[str, str, str]]:
    """(table, column, value) for every text column of every lcm table that
    holds one of `values` (anywhere in the text: JSON columns included)."""
    found = set()
    with connection.cursor() as cursor:
        for model in global_apps.get_app_config("lcm").get_models():
            table = model._meta.db_table
            for column in connection.introspection.get_table_description(cursor, table):
                if column.name == "id" or column.name.endswith("_id"):
                    continue
                q = connection.ops.quote_name
                cast = f"CAST({q(column.name)} AS TEXT)"
                for value in values:
                    cursor.execute(
                        f"SELECT COUNT(*) FROM {q(table)} WHERE {cast} LIKE %s",
                        [f"%{value}%"],
                    )
                    if cursor.fetchone()[0]:
                        found.add((table, column.name, value))
    return found


def rows_of(account_number: str) -> dict:
    account = Account.objects.get(account_number=account_number)
    return {
        "account": Account.objects.filter(pk=account.pk).values().get(),
        "modes": list(ContactMode.objects.filter(account=account).order_by("pk").values()),
        "entries": list(ModeChange.objects.filter(account=account).order_by("seq").values()),
        "callbacks": list(Callback.objects.filter(account=account).order_by("pk").values()),
    }


# --- The whole story, format 4 (what lcm appends) ------------------------------------


def test_erasing_a_contact_keeps_every_proof_and_leaves_no_value(demo, signing, tmp_path):
    davids_history()
    actions = set(ModeChange.objects.filter(account_number=DAVID).values_list("action", flat=True))
    assert actions == {"import", "set", "revert", "callback", "dnc"}
    first = checkpoint()
    values = personal_values(DAVID)
    assert {"6491462346", "2025550143", "3005550111", "3005550122", "Call back Mr Davidson about "
            "the renewal"} <= values  # fmt: skip
    assert where_found(values)  # the grep does find them before
    maria = rows_of(MARIA)
    davids = list(ModeChange.objects.filter(account_number=DAVID).order_by("seq"))
    hashes = {e.seq: e.hash for e in ModeChange.objects.all()}

    out = erase(user="admin")

    record = ModeChange.objects.get(action="erase")
    assert f"Erased the personal data of account {DAVID} (audit entry #{record.seq})" in out
    assert f"{len(davids)} audit entries" in out
    assert record.erasure == {
        "reason": REASON,
        "entries": [e.seq for e in davids],
        "format1_entries": [],
    }
    assert (record.username, record.account_number, record.mode_id) == ("admin", DAVID, 0)
    # No personal value of David is left in any lcm table, but the number
    # blocked by SetDNC on the do-not-call list (a suppression record).
    left = where_found(values)
    blocked = DoNotCallNumber.objects.get(account__account_number=DAVID, scope="number")
    assert {table for table, _, _ in left} <= {"lcm_donotcallnumber"}, left
    assert {value for _, _, value in left} <= {blocked.number, blocked.number_national}
    assert blocked.comments == ""
    assert Account.objects.filter(account_number=DAVID, first_name="", last_name="").exists()
    assert not ContactMode.objects.filter(account__account_number=DAVID, deleted_at=None).exists()
    assert Callback.objects.get(account__account_number=DAVID).state == "cancelled"
    for entry in ModeChange.objects.filter(pk__in=[e.pk for e in davids]):
        assert entry.erased_by_id == record.pk and entry.salt is None and entry.digests
        assert {name: getattr(entry, name) for name in ERASED_VALUES} == ERASED_VALUES
    # Nothing else changed: Maria, and every hash.
    assert rows_of(MARIA) == maria
    assert {e.seq: e.hash for e in ModeChange.objects.exclude(pk=record.pk)} == hashes

    # verify_audit: incremental and full, and it says what it checked.
    second = checkpoint()
    for output in (verify(), verify("--full")):
        assert output.startswith(f"Audit chain OK: {record.seq} entries, head #{record.seq}")
        assert f"Erased: the personal values of {len(davids)} entries" in output
        assert "NOT CHECKED" not in output
    checked = f"{len(davids)} erased entries of format 2, 3 or 4 walked in this run were checked"
    assert checked in verify("--full")

    # The standalone verifier: an erased entry's proof, a consistency proof
    # across the erasure, and the CSV export.
    auditor = client_for("auditor")
    public = signing.LCM_AUDIT_PUBLIC_KEY_FILE
    proof = auditor.get(f"/api/lcm/mode-changes/{davids[2].seq}/proof/").json()
    assert proof["erased"].endswith(MARKER.format(seq=record.seq))
    assert "personal" not in proof and proof["entry"]["v"] == 4
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    result = run_verifier("--public-key", public, tmp_path / "proof.json")
    assert result.returncode == 0, result.stdout
    assert f"entry #{davids[2].seq}" in result.stdout and "erased on" in result.stdout
    consistency = auditor.get(
        f"/api/lcm/checkpoints/consistency/?first={first.tree_size}&second={second.tree_size}"
    )
    (tmp_path / "consistency.json").write_text(consistency.content.decode())
    result = run_verifier("--public-key", public, tmp_path / "consistency.json")
    assert result.returncode == 0, result.stdout
    export = auditor.get("/api/lcm/mode-changes/?format=csv")
    text = b"".join(export.streaming_content).decode()
    (tmp_path / "export.csv").write_text(text)
    (tmp_path / "witness.jsonl").write_text(
        "\n".join(json.dumps(line) for line in witness_lines(signing))
    )
    result = run_verifier(
        "--public-key", public, "--checkpoints", tmp_path / "witness.jsonl", tmp_path / "export.csv"
    )
    assert result.returncode == 0, result.stdout
    assert f"checkpoint #{second.tree_size}" in result.stdout

    # The auditors' views show the marker in place of the values.
    rows = {int(row["seq"]): row for row in csv.DictReader(io.StringIO(text))}
    assert rows[davids[0].seq]["erased"].startswith("erased on 2026-12-01 by admin")
    assert rows[davids[0].seq]["erased"].endswith(MARKER.format(seq=record.seq))
    assert rows[davids[0].seq]["new_number"] == ""
    assert rows[record.seq]["erased"] == f"erased the personal data of {len(davids)} entries: " + (
        REASON
    )
    assert rows[3]["erased"] == ""  # Maria's import entry
    listed = auditor.get("/api/lcm/mode-changes/", {"account": DAVID}).json()["results"]
    assert all(e["erased"].endswith(MARKER.format(seq=record.seq)) for e in listed[1:])
    assert all(e["new_number"] == "" and e["deleted_modes"] == [] for e in listed[1:])
    page = client_admin().get(f"/admin/lcm/modechange/{davids[0].pk}/change/").content.decode()
    assert "erased on 2026-12-01 by admin" in page and REASON in page
    changelist = client_admin().get("/admin/lcm/modechange/").content.decode()
    assert changelist.count(REASON) >= len(davids)


def client_admin():
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username="admin"))
    return client


def test_the_attacker_who_recomputes_every_hash_is_still_caught_after_an_erasure(demo, signing):
    davids_history()
    erase()
    checkpoint()
    audit_triggers.uninstall(connection)
    from lcm.audit import compute_hash

    target = ModeChange.objects.filter(account_number=MARIA).order_by("seq").first()
    previous = ModeChange.objects.get(seq=target.seq - 1).hash if target.seq > 1 else "0" * 64
    for entry in ModeChange.objects.filter(seq__gte=target.seq).order_by("seq"):
        if entry.seq == target.seq:
            entry.new_number = "2025550000"
        entry.prev_hash = previous
        entry.hash = previous = compute_hash(entry)  # erased ones too: from their digests
        entry.save()
    AuditChainHead.objects.update(hash=previous)
    audit_triggers.install(connection)
    assert "REWRITTEN" in verify_fails()


def test_values_blanked_without_an_erasure_entry_are_reported(demo):
    davids_history()
    erase()
    record = ModeChange.objects.get(action="erase")
    maria = ModeChange.objects.filter(account_number=MARIA).first()
    # The triggers refuse it: the erase entry is not Maria's.
    with pytest.raises(IntegrityError), transaction.atomic():
        ModeChange.objects.filter(pk=maria.pk).update(
            **ERASED_VALUES, salt=None, digests={}, erased_by=record
        )
    # Whoever drops them is caught by verify_audit.
    audit_triggers.uninstall(connection)
    from lcm.audit import personal_digests

    ModeChange.objects.filter(pk=maria.pk).update(
        **ERASED_VALUES, salt=None, digests=personal_digests(maria), erased_by=record
    )
    audit_triggers.install(connection)
    assert f"entry #{maria.seq}'s values were blanked without an erasure" in verify_fails()


def test_the_triggers_let_only_the_erasure_through(demo):
    davids_history()
    erase()
    entry = ModeChange.objects.filter(account_number=DAVID, action="set").first()
    maria = ModeChange.objects.filter(account_number=MARIA).first()
    for queryset, change in [
        (ModeChange.objects.filter(pk=entry.pk), {"source": "forged"}),  # already erased
        (ModeChange.objects.filter(pk=maria.pk), {"new_number": ""}),  # not an erasure
        (ModeChange.objects.filter(pk=maria.pk), {"hash": "0" * 64}),
    ]:
        with pytest.raises(IntegrityError, match=audit_triggers.REFUSED), transaction.atomic():
            queryset.update(**change)
    with pytest.raises(IntegrityError), transaction.atomic():
        ModeChange.objects.filter(pk=maria.pk).delete()
    assert verify().startswith("Audit chain OK")


# --- Format 1: entries sealed with their values ------------------------------------


@pytest.mark.parametrize("signed", [True, False])
def test_erasing_format1_entries_says_what_it_cannot_check(signed, request, tmp_path):
    if signed:
        settings = request.getfixturevalue("signing")
    legacy = write_legacy_entries(global_apps, 3)  # before format 2 began
    call_command("seed_demo", password="pw-123456", stdout=io.StringIO())
    bulk(2)  # format 4 entries after them (lcm wrote no format 2 or 3 between)
    if signed:
        made = checkpoint()
    epoch = legacy[-1] + 1
    assert f"Entries #1 to #{legacy[-1]} are in format 1" in verify("--full")
    assert (
        f"; format 4 (byte layouts, one personal digest with business fields) from #{epoch}."
        in verify("--full")
    )

    out = erase(LEGACY)

    assert "3 of them (#1, #2, #3) were sealed before format 2" in out
    if signed:
        assert f"attested by signed checkpoint #{made.tree_size}, made before the erasure" in out
    else:
        assert "no signed checkpoint covers them" in out
    assert not where_found(set(LEGACY_NUMBERS) | {"Olga", "Oldentry"})
    for output in (verify(), verify("--full")):
        assert output.startswith("Audit chain OK: ")
        assert "3 of them erased in format 1: their content could not be recomputed" in output
        assert "NOT CHECKED: the content of 3 erased entries of format 1 (#1, #2, #3)" in output
        if signed:
            assert f"attested by signed checkpoint #{made.tree_size}" in output
        else:
            assert "no signed checkpoint checked in this run covers them" in output
    if not signed:
        return
    checkpoint()
    auditor = client_for("auditor")
    proof = auditor.get("/api/lcm/mode-changes/2/proof/").json()
    assert proof["entry"] is None and proof["content_erased"] is True
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    result = run_verifier(
        "--public-key", settings.LCM_AUDIT_PUBLIC_KEY_FILE, tmp_path / "proof.json"
    )
    assert result.returncode == 0, result.stdout
    assert "its content was erased" in result.stdout and "was NOT checked" in result.stdout
    # A forged hash for it is not in the tree.
    proof["hash"] = "ab" * 32
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    result = run_verifier(
        "--public-key", settings.LCM_AUDIT_PUBLIC_KEY_FILE, tmp_path / "proof.json"
    )
    assert result.returncode == 1 and "does not lead to the checkpoint's root" in result.stdout
    export = b"".join(auditor.get("/api/lcm/mode-changes/?format=csv").streaming_content)
    (tmp_path / "export.csv").write_bytes(export)
    result = run_verifier(
        "--public-key",
        settings.LCM_AUDIT_PUBLIC_KEY_FILE,
        "--checkpoints",
        settings.LCM_AUDIT_WITNESS,
        tmp_path / "export.csv",
    )
    assert result.returncode == 0, result.stdout


def test_a_format1_entry_after_format4_began_is_reported(demo):
    write_legacy_entries(global_apps, 1)  # appended by something that is not lcm
    assert "is in format 1 (values in the hash) after format 4 began at #1" in verify_fails()


# --- Bad input ----------------------------------------------------------------------


def test_an_unknown_key_or_an_empty_reason_changes_nothing(demo):
    before = snapshot(), rows_of(DAVID), AuditCheckpoint.objects.count()
    with pytest.raises(CommandError, match=r"no account with LCM key '1\|2\|3'"):
        erase("1|2|3")
    for reason in ("", "   "):
        with pytest.raises(CommandError, match=re.escape(errors.ERASURE_REASON_REQUIRED)):
            erase(reason=reason)
    with pytest.raises(CommandError):
        call_command("erase_contact", DAVID, stdout=io.StringIO())  # --reason is required
    assert (snapshot(), rows_of(DAVID), AuditCheckpoint.objects.count()) == before


def test_erasing_twice_says_already_erased_and_changes_nothing(demo):
    erase()
    record = ModeChange.objects.get(action="erase")
    before = snapshot(), rows_of(DAVID)
    out = erase(reason="Second request")
    assert f"Account {DAVID} was already erased on 2026-12-01" in out
    assert f"(audit entry #{record.seq}): nothing changed" in out
    assert (snapshot(), rows_of(DAVID)) == before

    # Written to since (a number set again): that is erased by a second erase entry.
    post(client_for("testagent"), set_mode_body(ContactNumber="3005550199"))
    out = erase(reason="Second request")
    assert "Erased the personal data" in out and "1 audit entries" in out
    assert not where_found({"3005550199"})
    assert ModeChange.objects.filter(action="erase").count() == 2
    assert verify().startswith("Audit chain OK")


def test_erasing_needs_the_permission(demo):
    before = snapshot(), rows_of(DAVID)
    message = "You may not erase contacts' personal data (lcm.erase_contact)."
    for username in ("auditor", "testagent"):
        with pytest.raises(CommandError, match=re.escape(f"{message} Nothing was erased.")):
            erase(user=username)
    with pytest.raises(CommandError, match="Unknown user 'nobody'"):
        erase(user="nobody")
    assert (snapshot(), rows_of(DAVID)) == before
    user = get_user_model().objects.get(username="auditor")
    user.user_permissions.add(Permission.objects.get(codename="erase_contact"))
    assert "Erased the personal data" in erase(user="auditor")
    assert ModeChange.objects.get(action="erase").username == "auditor"


def test_an_entry_that_no_longer_matches_its_hash_is_not_erased(demo):
    davids_history()
    entry = ModeChange.objects.filter(account_number=DAVID, action="set").first()
    audit_triggers.uninstall(connection)
    ModeChange.objects.filter(pk=entry.pk).update(new_number="2025550000")
    audit_triggers.install(connection)
    before = snapshot(), rows_of(DAVID)
    with pytest.raises(CommandError, match=rf"Audit entry #{entry.seq} of this account does not"):
        erase()
    assert (snapshot(), rows_of(DAVID)) == before
    assert errors.ERASURE_BROKEN_ENTRY.startswith("Audit entry #{seq}")


@pytest.mark.postgres
def test_the_app_role_cannot_erase_the_owner_can(demo):
    """docs/audit.md, "PostgreSQL roles": lcm_app has no UPDATE on the log."""
    from .test_audit_roles import GRANTS

    def sql(statement):
        with connection.cursor() as cursor:
            cursor.execute(statement)

    davids_history()
    before = snapshot(), rows_of(DAVID)
    sql("CREATE ROLE lcm_app NOLOGIN")
    sql(GRANTS.read_text())
    sql("SET LOCAL ROLE lcm_app")
    with pytest.raises(CommandError, match=r"The database refused the erasure \(permission denied"):
        erase()
    sql("RESET ROLE")
    assert (snapshot(), rows_of(DAVID)) == before
    assert "Erased the personal data" in erase()  # as the owner
    assert verify().startswith("Audit chain OK")
