"""The audit log is append-only in the database and its chain proves it.

Tampering tests drop the triggers inside the test's own transaction (as
someone with direct SQL access would), so the rollback at the end of the
test puts them back.
"""

import io
import itertools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError

from lcm.actions import agent_requests
from lcm.audit import GENESIS_HASH, append_entry, compute_hash, verify_chain
from lcm.audit import triggers as audit_triggers
from lcm.models import Account, Agent, AuditChainHead, Call, ModeChange

from .audit_log import DEMO_LOG, demo_log, seq
from .conftest import DEMO_ENTRIES, set_mode_body
from .test_api_set_new_mode_number import DAVID

pytestmark = pytest.mark.django_db


def change(n: int = 1, **overrides) -> list[ModeChange]:
    """`n` SetNewModeNumber calls by testagent on David, through the service."""
    actor = get_user_model().objects.get(username="testagent")
    return [
        agent_requests.set_new_mode_number(
            callid="12345",
            account_number=DAVID,
            mode_id=1 + i % 2,
            contact_number=f"30055501{i:02d}",
            delete_other_modes=False,
            agent_id="testagent",
            actor=actor,
            **overrides,
        )
        for i in range(n)
    ]


def row(entry: ModeChange) -> dict:
    return ModeChange.objects.filter(pk=entry.pk).values().get()


def sql(statement: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def verify() -> str:
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def verify_fails() -> str:
    with pytest.raises(CommandError) as refused:
        verify()
    return str(refused.value)


# --- Append-only, whoever asks ------------------------------------------------


def test_the_migrations_install_the_append_only_triggers(db):
    assert audit_triggers.missing(connection) == []


def test_the_database_refuses_every_update_of_an_entry(demo):
    entry = change()[0]
    before = row(entry)

    entry.new_number = "999"
    attempts = [
        lambda: entry.save(),
        lambda: ModeChange.objects.filter(pk=entry.pk).update(new_number="999"),
        lambda: ModeChange.objects.update(source="forged"),
        lambda: sql("UPDATE lcm_modechange SET new_number = '999' WHERE id = %s", [entry.pk]),
    ]
    for attempt in attempts:
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
            attempt()

    assert row(entry) == before


def test_the_database_refuses_every_delete_of_an_entry(demo):
    entry = change()[0]
    before = row(entry)

    attempts = [
        lambda: ModeChange.objects.get(pk=entry.pk).delete(),
        lambda: ModeChange.objects.all().delete(),
        lambda: sql("DELETE FROM lcm_modechange WHERE id = %s", [entry.pk]),
        lambda: sql("DELETE FROM lcm_modechange"),
    ]
    for attempt in attempts:
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
            attempt()

    assert row(entry) == before


@pytest.mark.postgres
def test_postgresql_refuses_to_truncate_the_log(demo):
    entry = change()[0]

    sql("SET CONSTRAINTS ALL IMMEDIATE")  # fire the deferred FK checks of the setup first
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        sql("TRUNCATE lcm_modechange CASCADE")

    assert ModeChange.objects.get(pk=entry.pk).hash == entry.hash


def test_the_chain_head_row_stays_updatable(demo):
    change(2)

    assert AuditChainHead.objects.get().seq == seq(2)


def test_deleting_what_an_entry_names_is_refused_and_the_entry_is_intact(demo):
    entry = change()[0]
    before = row(entry)
    named = [
        Account.objects.get(account_number=DAVID),
        Agent.objects.get(agent_id="testagent"),
        Call.objects.get(callid="12345"),
        get_user_model().objects.get(username="testagent"),
    ]

    for obj in named:
        with pytest.raises(ProtectedError) as refused, transaction.atomic():
            obj.delete()
        assert entry in refused.value.protected_objects, obj

    assert row(entry) == before
    assert verify_chain().ok


def test_raw_sql_past_the_orm_does_not_touch_the_entry(demo):
    """The lean table (docs/audit.md, "The table"): no foreign key of the log
    checks or locks a live row, so raw SQL that removes a row an entry names
    is not the log's to stop; the entry keeps the id and the text it was
    sealed with, and the chain still verifies."""
    entry = change()[0]
    before = row(entry)

    with transaction.atomic():
        sql("DELETE FROM lcm_call WHERE id = %s", [entry.call_id])
        connection.check_constraints()  # nothing of lcm_modechange to check

    assert not Call.objects.filter(pk=entry.call_id).exists()
    assert row(entry) == before
    assert (row(entry)["call_id"], row(entry)["callid"]) == (entry.call_id, "12345")
    assert verify_chain().ok


# --- verify_audit ------------------------------------------------------------


def test_verify_audit_on_an_empty_log_succeeds(db):
    assert verify() == f"Audit chain OK: 0 entries, head #0 {GENESIS_HASH}\n"


def test_the_demo_log_holds_only_the_seeded_import(demo):
    head = ModeChange.objects.get(seq=DEMO_ENTRIES)

    assert demo_log() == DEMO_LOG
    assert ModeChange.objects.count() == DEMO_ENTRIES
    assert verify() == f"Audit chain OK: {DEMO_ENTRIES} entries, head #{DEMO_ENTRIES} {head.hash}\n"


def test_verify_audit_prints_the_count_and_the_head_hash(demo, agent_client):
    entries = change(3)
    agent_client.post("/api/lcm/webservice/", set_mode_body(), format="json")
    head = ModeChange.objects.get(seq=seq(4))

    assert verify() == f"Audit chain OK: {seq(4)} entries, head #{seq(4)} {head.hash}\n"
    assert [e.seq for e in entries] == [seq(1), seq(2), seq(3)]
    assert head.prev_hash == entries[-1].hash


def test_verify_audit_names_an_altered_entry(demo):
    entries = change(4)
    audit_triggers.uninstall(connection)
    sql("UPDATE lcm_modechange SET old_number = '2025550000' WHERE seq = %s", [seq(3)])

    message = verify_fails()

    assert f"entry #{seq(3)} (id {entries[2].pk}) was altered" in message
    assert f"{seq(2)} entries before it are intact" in message


def test_verify_audit_names_an_entry_altered_with_its_hash_recomputed(demo):
    change(4)
    audit_triggers.uninstall(connection)
    forged = ModeChange.objects.get(seq=seq(2))
    forged.new_number = "2025550000"
    forged.hash = compute_hash(forged)
    forged.save()

    assert f"entry #{seq(3)}" in verify_fails()  # its prev_hash no longer matches seq(2)'s
    assert f"does not follow entry #{seq(2)}" in verify_fails()


def test_verify_audit_names_a_removed_entry(demo):
    entries = change(4)
    audit_triggers.uninstall(connection)
    sql("DELETE FROM lcm_modechange WHERE seq = %s", [seq(2)])

    message = verify_fails()

    assert f"entry #{seq(2)} was removed" in message
    assert f"jumps from #{seq(1)} to #{seq(3)} (id {entries[2].pk})" in message


def test_verify_audit_names_the_last_entry_removed(demo):
    change(3)
    audit_triggers.uninstall(connection)
    sql("DELETE FROM lcm_modechange WHERE seq = %s", [seq(3)])

    assert f"entry #{seq(3)} was removed: the chain head is at #{seq(3)}" in verify_fails()


def test_verify_audit_names_reordered_entries(demo):
    entries = change(4)
    audit_triggers.uninstall(connection)
    sql("UPDATE lcm_modechange SET seq = -1 WHERE seq = %s", [seq(2)])
    sql("UPDATE lcm_modechange SET seq = %s WHERE seq = %s", [seq(2), seq(3)])
    sql("UPDATE lcm_modechange SET seq = %s WHERE seq = -1", [seq(3)])

    message = verify_fails()

    assert (
        f"entry #{seq(2)} (id {entries[2].pk}) was reordered: it was written as #{seq(3)}"
        in message
    )


def test_verify_audit_names_an_entry_inserted_in_the_middle(demo):
    entries = change(3)
    audit_triggers.uninstall(connection)
    sql("UPDATE lcm_modechange SET seq = seq + 100 WHERE seq >= %s", [seq(2)])
    sql("UPDATE lcm_modechange SET seq = seq - 99 WHERE seq >= 100")
    forged = ModeChange.objects.get(seq=seq(3))
    forged.pk, forged.seq, forged.new_number = None, seq(2), "2025550000"
    forged.prev_hash = entries[0].hash
    forged.hash = compute_hash(forged)
    forged.save(force_insert=True)

    message = verify_fails()

    # The forgery chains onto seq(1); the genuine entry after it does not.
    assert (
        f"entry #{seq(3)} (id {entries[1].pk}) was reordered: it was written as #{seq(2)}"
        in message
    )


def test_verify_audit_names_an_entry_appended_past_the_head(demo):
    last = change(2)[-1]
    forged = ModeChange.objects.get(pk=last.pk)
    forged.pk, forged.seq, forged.prev_hash = None, seq(3), last.hash
    forged.hash = compute_hash(forged)
    forged.save(force_insert=True)  # an INSERT: the triggers allow it

    message = verify_fails()

    assert (
        f"entry #{seq(3)} (id {forged.pk}) was inserted: it lies past the chain head #{seq(2)}"
        in message
    )


def test_verify_audit_checks_the_head_row_against_the_last_entry(demo):
    change(2)
    AuditChainHead.objects.update(hash="f" * 64)

    assert f"entry #{seq(2)} does not match the chain head" in verify_fails()


def test_verify_audit_catches_a_consistent_rewrite_with_the_recorded_head(demo):
    change(3)
    recorded = verify().split("head ")[1].replace(" ", ":").strip()  # "#<seq(3)>:<hash>"
    audit_triggers.uninstall(connection)
    previous = GENESIS_HASH
    for entry in ModeChange.objects.order_by("seq"):  # rewrite every hash, the demo's too
        entry.source = "rewritten"
        entry.prev_hash = previous
        entry.hash = previous = compute_hash(entry)
        entry.save()
    AuditChainHead.objects.update(hash=previous)
    audit_triggers.install(connection)

    assert verify().startswith(f"Audit chain OK: {seq(3)} entries")  # a rewrite is consistent
    with pytest.raises(CommandError, match=f"REWRITTEN: the recorded head #{seq(3)}"):
        call_command("verify_audit", expect=recorded.lstrip("#"), stdout=io.StringIO())


def test_verify_audit_fails_when_the_triggers_are_missing(demo):
    change(1)
    audit_triggers.uninstall(connection)

    message = verify_fails()

    assert "intact, but the append-only triggers are missing" in message
    assert "lcm_modechange_no_delete" in message


def test_verify_audit_refuses_a_malformed_expected_head(db):
    with pytest.raises(CommandError, match="SEQ:HASH"):
        call_command("verify_audit", expect="3:nothex", stdout=io.StringIO())


# --- No gap, no fork -------------------------------------------------------------


def test_a_failed_append_gives_its_number_back(demo):
    first = change()[0]
    broken = ModeChange(account_id=None, mode_id=None, new_number="1")  # violates NOT NULL

    with pytest.raises(IntegrityError), transaction.atomic():
        append_entry(broken)
    second = change()[0]

    assert (first.seq, second.seq) == (seq(1), seq(2))
    assert second.prev_hash == first.hash
    assert AuditChainHead.objects.get().seq == seq(2)
    assert verify_chain().ok


def test_a_refused_request_leaves_no_gap(demo, agent_client):
    webservice = "/api/lcm/webservice/"
    assert agent_client.post(webservice, set_mode_body(), format="json").status_code == 200
    refused = agent_client.post(
        webservice, set_mode_body(ContactNumber="2025550199"), format="json"
    )
    assert agent_client.post(webservice, set_mode_body(ModeID=2), format="json").status_code == 200

    assert refused.status_code == 409
    assert list(ModeChange.objects.order_by("seq").values_list("seq", flat=True)) == [
        *range(1, DEMO_ENTRIES + 1),  # the demo's
        seq(1),
        seq(2),
    ]
    assert verify_chain().ok


def chain_is_whole(entries: list[ModeChange]) -> None:
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    assert entries[0].prev_hash == GENESIS_HASH
    for prev, entry in itertools.pairwise(entries):
        assert entry.prev_hash == prev.hash
    assert all(compute_hash(e) == e.hash for e in entries)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_changes_on_different_accounts_form_one_gap_free_chain(live_server):
    from .factories import AccountFactory, AgentFactory, CallFactory, ModeTypeFactory
    from .test_concurrency import _post

    call_command("seed_demo", password="pw-123456", stdout=io.StringIO())
    ModeTypeFactory(id=1)
    calls = [CallFactory(account=AccountFactory(), agent=AgentFactory()) for _ in range(8)]
    token = _token_of("dialer")
    bodies = [
        set_mode_body(
            callid=call.callid,
            AccountNumber=call.account.account_number,
            AgentID=call.agent.agent_id,
            # every fifth request is refused (do-not-call) and must leave no gap
            ContactNumber="2025550199" if i % 5 == 4 else f"30055502{i:02d}",
        )
        for i, call in zip(range(48), itertools.cycle(calls), strict=False)
    ]

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(
            pool.map(
                lambda body: _post(f"{live_server.url}/api/lcm/webservice/", token, body)[0],
                bodies,
            )
        )

    assert sorted(statuses) == [200] * 39 + [409] * 9
    entries = list(ModeChange.objects.order_by("seq"))  # the demo's, then the 39
    assert len(entries) == seq(39)
    assert demo_log() == DEMO_LOG
    chain_is_whole(entries)
    assert AuditChainHead.objects.get().seq == seq(39)
    assert verify().startswith(
        f"Audit chain OK: {seq(39)} entries, head #{seq(39)} {entries[-1].hash}"
    )


def _token_of(username: str) -> str:
    from rest_framework.authtoken.models import Token

    user = get_user_model().objects.get(username=username)
    return Token.objects.get_or_create(user=user)[0].key


def test_the_documented_example_hash():
    """docs/audit.md shows these canonical bytes and this hash."""
    from datetime import UTC, datetime

    from lcm.audit import canonical_bytes

    entry = ModeChange(
        seq=1,
        created_at=datetime(2026, 11, 26, 14, 30, 0, 123456, tzinfo=UTC),
        action="set",
        account_id=1,
        account_number="5|3|1|0|0|44|1",
        call_id=1,
        callid="12345",
        agent_id=1,
        agent_code="testagent",
        user_id=2,
        username="testagent",
        source="agentapp",
        mode_id=1,
        old_number="6491462346",
        new_number="961084836",
        new_number_e164="",
        deleted_modes=[],
        reverts_id=None,
        client_ip="10.1.2.3",
        request_id="req-1",
        prev_hash=GENESIS_HASH,
    )
    docs = (Path(__file__).resolve().parent.parent / "docs" / "audit.md").read_text()

    assert canonical_bytes(entry).decode() in docs
    assert compute_hash(entry) == "8df0b5861dbcd638f062e71a56ce25f6e4e6d5de4dd131a4487bbc4fc7bd64ef"
    assert compute_hash(entry) in docs


def test_an_append_sends_each_value_as_the_orm_would(demo, agent_client):
    """`insert_params` (the append's INSERT and the import's COPY) passes
    plain values through unchanged: for every kind of entry, what it sends
    equals each field's own `get_db_prep_save`."""
    from django.db import connection

    from lcm.bulk import insert_fields, insert_params

    webservice = "/api/lcm/webservice/"
    assert agent_client.post(webservice, set_mode_body(), format="json").status_code == 200
    body = set_mode_body(ModeID=2, DeleteOtherModes=True)
    assert agent_client.post(webservice, body, format="json").status_code == 200
    entries = list(ModeChange.objects.order_by("seq"))  # imports, do-not-call, sets
    assert {e.action for e in entries} >= {"import", "dnc", "set"}
    fields = insert_fields(ModeChange)

    def compared(values: list) -> list:
        # psycopg's Jsonb wrapper (a JSON column on PostgreSQL) has no
        # equality of its own: compare what it wraps.
        return [(type(v), v.obj) if type(v).__name__ == "Jsonb" else v for v in values]

    for entry in entries:
        expected = [f.get_db_prep_save(getattr(entry, f.attname), connection) for f in fields]
        assert compared(insert_params(entry)) == compared(expected)
    entry.agent_id, entry.mode_id = True, False  # not plain ints: through the field
    assert compared(insert_params(entry)) == compared(
        [f.get_db_prep_save(getattr(entry, f.attname), connection) for f in fields]
    )
