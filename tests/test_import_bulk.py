"""The import's bulk writes on PostgreSQL (`lcm.bulk`): COPY, and plans that
stay right while the tables grow under the import."""

import io

import pytest
from django.db import connection

from lcm import bulk, imports
from lcm.actions.imports import import_rows
from lcm.models import Account, ContactMode, ModeChange, ModeType

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def csv_rows(start: int, n: int):
    lines = ["AccountNumber,LastName,Mode1"]
    lines += [f"77|{i},Customer{i},20255{i:05d}" for i in range(start, start + n)]
    data = io.BytesIO("\n".join(lines).encode())
    return imports.read_csv(data, mode_types=list(ModeType.objects.all()))


def seq_scans(table: str) -> int:
    """Sequential scans of `table` in this transaction so far (the test's
    transaction: PostgreSQL's per-transaction statistics, not yet flushed)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = %s", [table])
        row = cursor.fetchone()
    return row[0] if row else 0


def test_a_late_batch_finds_its_accounts_by_index_not_by_a_plan_made_on_an_empty_table(demo):
    """psycopg prepares a statement run five times and PostgreSQL may keep
    a generic plan made then: a scan of the then near-empty account table.
    Kept, that plan scanned the whole table for every batch of a large
    import (over a second a batch at 100,000 rows). The writer plans each
    batch's lookups for their own keys."""
    run = import_rows(csv_rows(0, 80), batch_size=10)  # eight batches on a small table
    assert run.total.accounts_created == 80
    # The table grows, as under a long import.
    bulk.insert_many([Account(account_number=f"78|{i}") for i in range(40_000)])

    before = seq_scans("lcm_account")
    run = import_rows(csv_rows(80, 10), batch_size=10)

    assert run.total.accounts_created == 10
    assert seq_scans("lcm_account") == before


def test_copy_writes_what_the_orm_would(demo):
    """Modes and audit entries that went in by COPY read back whole: every
    column, the chain intact (the SQLite run of the import tests covers
    `bulk_create`)."""
    from lcm.audit import verify_chain

    import_rows(csv_rows(0, 30), batch_size=30)

    modes = ContactMode.objects.filter(account__account_number__startswith="77|")
    assert modes.count() == 30
    mode = modes.get(account__account_number="77|7")
    assert (mode.number, mode.number_as_given, mode.mode_type_id) == ("2025500007", "2025500007", 1)
    assert mode.changed_at is not None and mode.deleted_at is None
    entry = ModeChange.objects.get(account_number="77|7")
    assert entry.account == Account.objects.get(account_number="77|7")
    assert entry.modes == [{"mode_id": 1, "before": None, "after": entry.modes[0]["after"]}]
    assert entry.modes[0]["after"]["number"] == "2025500007"
    assert entry.created_at.tzinfo is not None
    report = verify_chain()
    assert report.problem is None and report.count == ModeChange.objects.count()
