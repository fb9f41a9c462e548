"""The overlapped import (`lcm.actions.imports.import_rows`, `writers=2`):
two connections write a file's batches in turn, each in its own thread. It
writes exactly what one batch at a time writes — accounts, modes, audit
entries in file order, rejected rows, `on_batch_committed` — a batch the
database refuses writes nothing and its rows are retried one by one, and a
fault stops the import with nothing written after the batch at fault.

PostgreSQL only (the overlap is; SQLite imports one batch at a time), and
outside a test transaction: the writers' connections must see the data."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from lcm import errors
from lcm.actions import campaigns
from lcm.actions import imports as writer
from lcm.actions.imports import import_rows
from lcm.audit import verify_chain
from lcm.models import Account, ContactMode, ModeChange

from .test_import_pipeline import HEADER, admin, file_of, outcome, rows_of

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.postgres,
]


def campaigns_file(prefix: str, n: int) -> str:
    """Rows naming a new campaign every few rows (each batch makes sure of
    some, as the batch before it does), some rejected by the reader, some
    accounts named twice."""
    text = file_of(prefix, n)
    lines = text.splitlines(keepends=True)
    out = [lines[0]]
    for i, line in enumerate(lines[1:]):
        cells = line.split(",")
        cells[3] = f"{prefix}K{i // 3 % 17}"
        out.append(",".join(cells))
    return "".join(out)


def same_campaigns(prefix: str):
    """`outcome(prefix)` with the campaigns' codes taken off their prefix too
    (and whether each account has its fingerprint: the campaign is in it)."""
    accounts, modes, entries = outcome(prefix)
    accounts = [(*a[:3], a[3].code.removeprefix(prefix), bool(a[4])) for a in accounts]
    return accounts, modes, entries


def run_of(text: str, writers: int, **kwargs):
    calls, rejected = [], []
    run = import_rows(
        rows_of(text),
        actor=admin(),
        batch_size=7,
        writers=writers,
        on_batch_committed=lambda run, n: calls.append(n),
        on_rejected=rejected.extend,
        **kwargs,
    )
    return run, calls, [(r.line, r.reason) for r in rejected]


def test_overlapped_batches_write_what_one_batch_at_a_time_writes(demo):
    serial, serial_calls, serial_rejected = run_of(campaigns_file("S-", 400), writers=1)
    both, calls, rejected = run_of(campaigns_file("O-", 400), writers=2)

    assert "waiting for the batch before" in both.phases  # the overlap ran
    assert "waiting for the batch before" not in serial.phases
    # Entries compared in seq order: file order.
    assert same_campaigns("O-") == same_campaigns("S-")
    assert len(outcome("O-")[2]) > 300
    assert (rejected, calls) == (serial_rejected, serial_calls)
    assert calls == sorted(set(calls)) and calls[-1] == both.read
    for name in ("rows", "accounts_created", "modes_added", "modes_changed", "rows_changed"):
        assert getattr(both.total, name) == getattr(serial.total, name), name
    assert len(both.total.campaigns_created) == len(serial.total.campaigns_created) == 17
    assert [c.removeprefix("O-") for c in both.total.campaigns_created] == [
        c.removeprefix("S-") for c in serial.total.campaigns_created
    ]
    # The entries of each run, seq by seq, follow the file (one account per row).
    order = [e.account_number for e in ModeChange.objects.filter(account_number__startswith="O-")
             .order_by("seq")]  # fmt: skip
    firsts = list(dict.fromkeys(order))
    assert firsts == sorted(firsts, key=lambda k: int(k.removeprefix("O-")))
    assert verify_chain().ok
    # The same file again: no mode changes, no entry (the accounts named
    # twice in other campaigns move between them: a field, not audited).
    before = ModeChange.objects.count()
    again, _calls, _rejected = run_of(campaigns_file("O-", 400), writers=2)
    assert (again.total.rows, again.total.modes_added, again.total.modes_changed) == (
        both.total.rows, 0, 0)  # fmt: skip
    assert ModeChange.objects.count() == before


def test_a_refused_batch_in_the_overlap_writes_nothing_and_its_rows_are_retried(demo):
    """A key the sift found absent, inserted before its batch runs (here by
    the callback of the first batch): that batch's INSERT finds it, the
    batch writes nothing and its rows are retried one by one while the batch
    after it waits (and runs again after them). The result is the one of
    one batch at a time, entries in file order."""
    text = HEADER + "".join(f"{{p}}{i},Ada,B{i},C1,20255{i:05d},,\n" for i in range(60))

    def insert_one(prefix):
        def insert(run, through):
            key = f"{prefix}30"
            if not Account.objects.filter(account_number=key).exists():
                Account.objects.create(account_number=key, first_name="Old", campaign_id="C1")

        return insert

    runs = {}
    for prefix, writers in (("RS-", 1), ("RO-", 2)):
        rejected = []
        runs[prefix] = import_rows(
            rows_of(text.replace("{p}", prefix)), actor=admin(), batch_size=5, writers=writers,
            on_batch_committed=insert_one(prefix), on_rejected=rejected.extend,
        )  # fmt: skip
        assert rejected == []
    assert runs["RO-"].total.rows == runs["RS-"].total.rows == 60
    assert outcome("RO-") == outcome("RS-")
    old = Account.objects.get(account_number="RO-30")
    assert (old.first_name, old.last_name) == ("Ada", "B30")
    assert [m.number for m in ContactMode.objects.filter(account=old)] == ["2025500030"]
    seqs = [e.account_number for e in ModeChange.objects.filter(account_number__startswith="RO-")
            .order_by("seq")]  # fmt: skip
    assert seqs == [f"RO-{i}" for i in range(60)]  # one entry each, in file order
    assert verify_chain().ok


def test_a_fault_stops_the_overlap_with_nothing_written_after_its_batch(demo):
    """An account of the fourth batch locked by another transaction past the
    lock bound: a fault. The import raises it; the three batches before
    are committed and reported, nothing of the fourth or after is written."""
    text = HEADER + "".join(f"F-{i},Ada,B{i},C1,20255{i:05d},,\n" for i in range(80))
    campaigns.ensure(["C1"])
    Account.objects.create(account_number="F-17", first_name="Ada", campaign_id="C1")
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                Account.objects.select_for_update().get(account_number="F-17")
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(10)
    calls = []
    try:
        with pytest.raises(errors.DatabaseUnavailable):
            import_rows(rows_of(text), actor=admin(), batch_size=5, writers=2,
                        on_batch_committed=lambda run, n: calls.append(n))  # fmt: skip
    finally:
        release.set()
        holder.join()
    assert calls == [5, 10, 15]
    written = set(
        Account.objects.filter(account_number__startswith="F-").values_list(
            "account_number", flat=True
        )
    )
    assert written == {f"F-{i}" for i in range(15)} | {"F-17"}
    assert ModeChange.objects.filter(account_number__startswith="F-").count() == 15
    assert verify_chain().ok


def test_sqlite_and_transactions_write_one_batch_at_a_time(demo):
    """Inside a transaction the overlap is off (its connections could not
    see it): the batches are written here, in this thread."""
    with transaction.atomic():
        run = import_rows(rows_of(file_of("T-", 30)), actor=admin(), batch_size=5, writers=2)
    assert "waiting for the batch before" not in run.phases
    assert run.total.accounts_created > 0
    assert writer.WRITERS == 2
