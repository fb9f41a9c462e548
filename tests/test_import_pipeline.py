"""The import's pipeline (issue 26): fingerprints of unchanged rows, and a
run stopped after a committed batch and restarted from `through` (the
contract with issue 30's background jobs, /work/notes/contract-import.md)."""

import io
import itertools
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lcm import imports
from lcm.actions import campaigns, do_not_call
from lcm.actions import imports as writer
from lcm.actions.imports import import_rows
from lcm.audit import verify_chain
from lcm.models import Account, ContactMode, ModeChange, ModeType

from .conftest import WEBSERVICE, live_modes, set_mode_body

pytestmark = pytest.mark.django_db

HEADER = "AccountNumber,FirstName,LastName,Campaign,Mode1,Mode2,Mode1PEWC\n"


def rows_of(text: str):
    return imports.read_csv(io.BytesIO(text.encode()), mode_types=list(ModeType.objects.all()))


def admin():
    return get_user_model().objects.get(username="admin")


def file_of(prefix: str, n: int) -> str:
    lines = []
    for i in range(n):
        if i % 7 == 3:
            lines.append(f"{prefix}{i},Ada,B{i},C1,not-a-number,,\n")  # rejected by the reader
        elif i % 5 == 0:
            # Named twice: the second row changes Mode2 and grants consent.
            lines.append(f"{prefix}{i},Ada,B{i},C1,20255{i:05d},,\n")
            lines.append(f"{prefix}{i},Ada,B{i},C1,20255{i:05d},+44 20 7946 {i:04d},true\n")
        else:
            lines.append(f"{prefix}{i},Ada,B{i},C1,20255{i:05d},,\n")
    return HEADER + "".join(lines)


def outcome(prefix: str):
    """Accounts, live modes and audit entries of the keys starting with
    `prefix`, with the prefix taken off (so two runs compare)."""
    accounts = sorted(
        (a.account_number.removeprefix(prefix), a.first_name, a.last_name, a.campaign,
         a.import_fingerprint)
        for a in Account.objects.filter(account_number__startswith=prefix)
    )  # fmt: skip
    modes = sorted(
        (m.account.account_number.removeprefix(prefix), m.mode_type_id, m.number, m.has_consent,
         m.consent_source, m.deleted_at is None)
        for m in ContactMode.objects.filter(account__account_number__startswith=prefix)
    )  # fmt: skip
    entries = [
        (e.account_number.removeprefix(prefix), e.action, e.mode_id, e.old_number, e.new_number,
         [{**m, "after": {**m["after"], "pewc_at": bool(m["after"]["pewc_at"])}} for m in e.modes])
        for e in ModeChange.objects.filter(account_number__startswith=prefix).order_by("seq")
    ]  # fmt: skip
    return accounts, modes, entries


class Stop(Exception):
    pass


def test_a_run_stopped_after_a_committed_batch_and_restarted_from_through_ends_as_one_run(demo):
    calls, rejected = [], []

    def stop_at_third(run, through):
        calls.append(through)
        if len(calls) == 3:
            raise Stop

    with pytest.raises(Stop):
        import_rows(rows_of(file_of("A-", 60)), actor=admin(), batch_size=7,
                    on_batch_committed=stop_at_third, on_rejected=rejected.extend)  # fmt: skip
    through = calls[-1]
    assert calls == sorted(calls) and 0 < through < 60
    later = []
    import_rows(
        itertools.islice(rows_of(file_of("A-", 60)), through, None),
        actor=admin(),
        batch_size=7,
        on_batch_committed=lambda run, n: later.append(n),
    )
    import_rows(rows_of(file_of("B-", 60)), actor=admin(), batch_size=7)

    assert later[-1] == sum(1 for _ in rows_of(file_of("A-", 60))) - through
    assert outcome("A-") == outcome("B-")
    assert len(outcome("A-")[2]) > 60  # both runs wrote every entry once
    assert verify_chain().ok


def test_on_batch_committed_counts_every_item_and_never_runs_dry(demo):
    seen = []
    run = import_rows(rows_of(file_of("C-", 20)), actor=admin(), batch_size=4,
                      on_batch_committed=lambda run, n: seen.append(n))  # fmt: skip
    assert seen[-1] == run.read and seen == sorted(set(seen))
    dry = []
    import_rows(rows_of(file_of("D-", 20)), actor=admin(), dry_run=True,
                on_batch_committed=lambda run, n: dry.append(n))  # fmt: skip
    assert dry == []


def test_an_unchanged_reimport_locks_and_writes_nothing(demo):
    """(An account the file names twice is read each time: its print is
    the second row's, which the first row does not match.)"""
    text = HEADER + "".join(
        line
        for line in file_of("E-", 30).splitlines(keepends=True)[1:]
        if not line.endswith("true\n")
    )
    first = import_rows(rows_of(text), actor=admin(), batch_size=10)
    before = outcome("E-")
    with CaptureQueriesContext(connection) as ctx:
        again = import_rows(rows_of(text), actor=admin(), batch_size=10)

    sql = [q["sql"].upper() for q in ctx.captured_queries]
    assert not [s for s in sql if any(w in s for w in ("FOR UPDATE", "INSERT", "UPDATE", "COPY"))]
    assert again.total.rows == first.total.rows and again.total.rows_unchanged == again.total.rows
    assert outcome("E-") == before


def test_a_change_since_the_import_makes_its_row_count_again(demo, agent_client):
    """An agent changes the mode the file set: the same file puts it back,
    as before fingerprints (the agent's entry is newer than the print)."""
    text = HEADER + "5|3|1|0|0|44|1,Ada,Lovelace,Spring,2025550101,,\n"
    import_rows(rows_of(text), actor=admin())
    assert agent_client.post(WEBSERVICE, set_mode_body(), format="json").status_code == 200
    assert live_modes("5|3|1|0|0|44|1")[1] == "961084836"

    run = import_rows(rows_of(text), actor=admin())

    assert run.total.modes_changed == 1
    assert live_modes("5|3|1|0|0|44|1")[1] == "2025550101"


def test_an_unchanged_row_whose_number_was_blocked_since_is_rejected(demo):
    text = HEADER + "F-1,Ada,Lovelace,Spring,2025550177,,\n"
    import_rows(rows_of(text), actor=admin())
    do_not_call.add_number(number="2025550177", actor=admin())
    rejected = []

    run = import_rows(rows_of(text), actor=admin(), on_rejected=rejected.extend)

    assert run.total.rows == 0 and len(rejected) == 1
    assert "do-not-call" in rejected[0].reason.lower() or "2025550177" in rejected[0].reason


def test_new_accounts_get_their_fingerprint_in_their_insert(demo):
    """No UPDATE of lcm_account right after its INSERT: a first import's
    prints are written with the rows, and the same file next is skipped."""
    text = HEADER + "".join(f"G-{i},Ada,B{i},C1,20255{i:05d},,\n" for i in range(12))
    with CaptureQueriesContext(connection) as ctx:
        first = import_rows(rows_of(text), actor=admin(), batch_size=5)

    assert first.total.accounts_created == 12
    sql = [q["sql"] for q in ctx.captured_queries]
    assert not [s for s in sql if re.search(r'UPDATE\s+"?lcm_account"?\s+SET', s, re.I)]
    assert [s for s in sql if "lcm_account" in s and "INSERT" in s.upper()]
    accounts = Account.objects.filter(account_number__startswith="G-")
    assert all(a.import_fingerprint for a in accounts)
    again = import_rows(rows_of(text), actor=admin(), batch_size=5)
    assert again.total.rows_unchanged == 12


def deferred_rows_of(text: str, defer: imports.Deferral):
    return imports.read_csv(
        io.BytesIO(text.encode()), mode_types=list(ModeType.objects.all()), defer=defer
    )


def test_rows_handed_over_unvalidated_import_as_the_reader_would_have(demo):
    """Deferral on from the first row: every row is validated by the
    importer instead, with the same rejections and the same result."""
    bad = "H-900,Ada,B,C1,2025550100,,maybe\nH-901,Ada,B,C1,12,,\n,Ada,B,C1,2025550102,,\n"
    eager, late = [], []
    import_rows(rows_of(file_of("H-", 30) + bad), actor=admin(), batch_size=7,
                on_rejected=eager.extend)  # fmt: skip
    defer = imports.Deferral()
    defer.set(True)
    text = file_of("I-", 30) + bad.replace("H-", "I-")
    import_rows(deferred_rows_of(text, defer), actor=admin(), batch_size=7,
                on_rejected=late.extend)  # fmt: skip

    assert outcome("H-") == outcome("I-")
    assert sorted((r.line, r.reason) for r in eager) == sorted((r.line, r.reason) for r in late)
    assert len(late) > 3


def test_an_unchanged_reimport_reads_no_modes_while_the_list_blocked_nothing_new(demo):
    """No block newer than the prints: the unchanged rows are not checked
    (no live modes read); a number blocked since: checked, and rejected."""
    text = HEADER + "".join(f"J-{i},Ada,B{i},C1,20255{i:05d},,\n" for i in range(20))
    import_rows(rows_of(text), actor=admin(), batch_size=10)
    defer = imports.Deferral()
    with CaptureQueriesContext(connection) as ctx:
        again = import_rows(deferred_rows_of(text, defer), actor=admin(), batch_size=10,
                            defer=defer)  # fmt: skip
    assert again.total.rows_unchanged == 20 and bool(defer)
    assert not [q for q in ctx.captured_queries if "lcm_contactmode" in q["sql"]]

    do_not_call.add_number(number="2025500007", actor=admin())
    rejected = []
    with CaptureQueriesContext(connection) as ctx:
        third = import_rows(deferred_rows_of(text, defer), actor=admin(), batch_size=10,
                            defer=defer, on_rejected=rejected.extend)  # fmt: skip
    assert [r.account_number for r in rejected] == ["J-7"]
    assert third.total.rows == 19
    assert [q for q in ctx.captured_queries if "lcm_contactmode" in q["sql"]]


def test_an_expiry_moved_ahead_counts_as_a_new_block(demo, time_machine):
    """An expired block that its change makes count again rejects the
    unchanged row imported while it was expired."""
    text = HEADER + "K-1,Ada,Lovelace,Spring,2025550188,,\n"
    start = timezone.now()
    time_machine.move_to(start, tick=False)
    entry, _ = do_not_call.add_number(
        number="2025550188", actor=admin(), expires_at=start + timedelta(hours=1)
    )
    time_machine.move_to(start + timedelta(hours=2), tick=False)
    assert import_rows(rows_of(text), actor=admin()).total.rows == 1  # expired: imported
    assert import_rows(rows_of(text), actor=admin()).total.rows_unchanged == 1
    do_not_call.change_entry(
        entry_pk=entry.pk, reason="again", expires_at=start + timedelta(days=1), actor=admin()
    )
    rejected = []

    run = import_rows(rows_of(text), actor=admin(), on_rejected=rejected.extend)

    assert run.total.rows == 0 and [r.account_number for r in rejected] == ["K-1"]


def test_a_name_changed_without_an_entry_makes_its_row_count_again(demo):
    """A field no audit entry records (the console's account form): the
    unchanged file puts it back."""
    text = HEADER + "L-1,Ada,Lovelace,Spring,2025550166,,\n"
    import_rows(rows_of(text), actor=admin())
    Account.objects.filter(account_number="L-1").update(last_name="Byron")

    run = import_rows(rows_of(text), actor=admin())

    assert run.total.accounts_updated == 1
    assert Account.objects.get(account_number="L-1").last_name == "Lovelace"


ACCOUNT_COLUMNS = [f.attname for f in Account._meta.concrete_fields if not f.primary_key]


def test_new_accounts_inserted_in_one_statement_hold_what_the_orm_would_write(demo):
    """The first import's INSERT … RETURNING (a JSON parameter on
    PostgreSQL, a multi-row VALUES elsewhere) stores every column as
    ``Account.objects.create`` with the same values does; modes and entries
    are those of a run that looked each key up in its transaction; the
    chain verifies."""
    text = file_of("J-", 40)
    import_rows(rows_of(text), actor=admin(), batch_size=6)  # sifted: keys known absent
    for row in rows_of(text.replace("J-", "K-")):
        if isinstance(row, imports.ImportRow):  # one batch each: looked up in its transaction
            writer.import_accounts(rows=[row], actor=admin())

    assert outcome("J-") == outcome("K-")
    for account in Account.objects.filter(account_number__startswith="J-"):
        orm = Account.objects.create(
            account_number="L-" + account.account_number,
            **{name: getattr(account, name) for name in ACCOUNT_COLUMNS
               if name not in ("account_number", "created_at")},
        )  # fmt: skip
        orm.refresh_from_db()
        for name in ACCOUNT_COLUMNS:
            if name == "account_number":
                continue
            mine, theirs = getattr(account, name), getattr(orm, name)
            if name == "created_at":
                assert abs(mine - theirs) < timedelta(minutes=1) and mine.tzinfo is not None
            else:
                assert (name, mine) == (name, theirs)
    assert verify_chain().problem is None


def test_a_key_inserted_after_the_sift_found_it_absent_is_imported_as_existing(demo):
    """The sift reads which keys exist once per window; a batch does not look
    those it found absent up again. One inserted meanwhile (here by the
    callback after the first batch) makes its batch write nothing and retry
    row by row, looked up: it is imported onto the existing account."""
    text = HEADER + "".join(f"M-{i},Ada,B{i},C1,20255{i:05d},,\n" for i in range(6))
    rejected = []

    def insert_one(run, through):
        if not Account.objects.filter(account_number="M-4").exists():
            Account.objects.create(account_number="M-4", first_name="Old", campaign_id="C1")

    run = import_rows(rows_of(text), actor=admin(), batch_size=3,
                      on_batch_committed=insert_one, on_rejected=rejected.extend)  # fmt: skip

    assert rejected == []
    assert run.total.rows == 6
    m4 = Account.objects.get(account_number="M-4")
    assert (m4.first_name, m4.last_name) == ("Ada", "B4")
    assert [m.number for m in ContactMode.objects.filter(account=m4)] == ["2025500004"]
    assert ModeChange.objects.filter(account_number__startswith="M-").count() == 6
    assert verify_chain().problem is None


def test_a_batch_told_a_key_is_absent_that_exists_writes_nothing(demo):
    from django.db import IntegrityError

    campaigns.ensure(["C1"])
    Account.objects.create(account_number="N-1", campaign_id="C1")
    rows = [r for r in rows_of(HEADER + "N-0,A,B,C1,2025500000,,\nN-1,A,B,C1,2025500001,,\n")]
    before = ModeChange.objects.count()
    with pytest.raises(IntegrityError, match="N-1 was inserted meanwhile"):
        writer.import_accounts(rows=rows, actor=admin(), absent=frozenset({"N-0", "N-1"}))
    assert ModeChange.objects.count() == before
    assert not Account.objects.filter(account_number="N-0").exists()
