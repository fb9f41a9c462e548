"""The lean audit table (issue 26, decision 1; docs/audit.md "The table"):
no foreign keys on `lcm_modechange`, only the indexes a shipped query uses,
partial where the column is sparse, no uniqueness on `hash` — and the
migrations that bring an existing log there without rewriting an entry."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from lcm.audit import compute_hash, new_secret, verify_chain
from lcm.audit import triggers as audit_triggers
from lcm.models import ModeChange

from .audit_log import write_legacy_entries
from .test_audit_proofs import latest_migration

BEFORE = "0018_erasure"  # the last migration before the lean table
TABLE = "lcm_modechange"

# The indexes the auditors' queries use (docs/audit.md, "The table"), the
# primary key's and seq's aside.
INDEXES = {
    "modechange_account_seq_idx",
    "modechange_created_idx",
    "modechange_callid_idx",
    "modechange_agent_seq_idx",
    "modechange_source_seq_idx",
    "modechange_mode_seq_idx",
    "modechange_new_number_idx",
    "modechange_old_number_idx",
    "modechange_reverts_idx",
    "modechange_erased_by_idx",
}


def migrate(target: str) -> None:
    MigrationExecutor(connection).migrate([("lcm", target)])


def columns_of(apps) -> list[str]:
    return [f.column for f in apps.get_model("lcm", "ModeChange")._meta.concrete_fields]


def raw_rows(columns: list[str]) -> list[tuple]:
    """Every entry as the database holds it, column by column."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM {TABLE} ORDER BY seq")
        return cursor.fetchall()


def write_format2_entries(apps, count: int, *, reverts: int | None = None) -> None:
    """`count` format 2 entries (salted digests of the personal fields), as
    lcm wrote them at migration 0018, through that state's models. The last
    one reverts entry #`reverts` when given (the sparse column set)."""
    from django.utils import timezone

    Account = apps.get_model("lcm", "Account")
    Entry = apps.get_model("lcm", "ModeChange")
    Head = apps.get_model("lcm", "AuditChainHead")
    account = Account.objects.get(account_number="9|9|9|0|0|44|9")
    head = Head.objects.get(pk=1)
    names = {f.attname for f in Entry._meta.concrete_fields} - {"id"}
    for i in range(count):
        target = Entry.objects.get(seq=reverts) if reverts and i == count - 1 else None
        entry = ModeChange(
            seq=head.seq + 1,
            created_at=timezone.now(),
            action="revert" if target else "set",
            account_id=account.pk,
            account_number=account.account_number,
            username="before-lean",
            source="agentapp",
            mode_id=1,
            old_number="4015550101",
            new_number=f"40155502{i:02d}",
            new_number_e164=f"+140155502{i:02d}",
            deleted_modes=[],
            modes=[{"mode_id": 1, "before": None, "after": {"number": f"40155502{i:02d}"}}],
            reverts_id=target.pk if target else None,
            client_ip="10.0.0.8",
            request_id=f"before-lean-{i}",
            prev_hash=head.hash,
            salt=new_secret(),
        )
        entry.hash = compute_hash(entry)
        Entry.objects.create(**{name: getattr(entry, name) for name in names})
        head.seq, head.hash = entry.seq, entry.hash
        head.save()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_log_written_before_the_lean_table_moves_there_unchanged(request):
    """Entries written at migration 0018 (formats 1 and 2, a revert among
    them) come through the lean table's migration byte for byte: the same
    values in every column, the chain verifying, the triggers in place."""
    request.addfinalizer(lambda: migrate(latest_migration()))  # the next tests' schema
    migrate(BEFORE)
    state = MigrationExecutor(connection).loader.project_state(("lcm", BEFORE))
    write_legacy_entries(state.apps, 2)  # format 1, seq 1 and 2
    write_format2_entries(state.apps, 3, reverts=2)  # format 2, #5 reverts #2
    columns = columns_of(state.apps)
    before = raw_rows(columns)
    assert len(before) == 5
    assert before[4][columns.index("reverts_id")] == before[1][columns.index("id")]

    migrate(latest_migration())

    assert raw_rows(columns) == before
    report = verify_chain()
    assert report.ok, report.problem
    assert (report.count, report.head_seq, report.format2_from) == (5, 5, 3)
    assert report.missing_triggers == ()
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        ModeChange.objects.filter(seq=1).update(username="someone else")


def test_the_table_has_no_foreign_keys_and_only_the_indexes_queries_use(db):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    foreign = {name: c["columns"] for name, c in constraints.items() if c["foreign_key"]}
    unique = {
        tuple(c["columns"]) for c in constraints.values() if c["unique"] and not c["primary_key"]
    }
    indexes = {
        name
        for name, c in constraints.items()
        if c["index"] and not c["primary_key"] and not c["unique"]
    }
    assert foreign == {}
    assert unique == {("seq",)}  # not the hash: seq is the identity
    assert indexes == INDEXES


def test_the_sparse_columns_are_indexed_where_they_are_set(db):
    """Partial indexes: only entries that revert one, or were erased, are in them."""
    if connection.vendor == "postgresql":
        query = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s"
    else:
        query = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s"
    with connection.cursor() as cursor:
        cursor.execute(query, [TABLE])
        definitions = dict(cursor.fetchall())
    for name, column in [("modechange_reverts_idx", "reverts_id"),
                         ("modechange_erased_by_idx", "erased_by_id")]:  # fmt: skip
        definition = definitions[name].replace('"', "").replace("(", "").replace(")", "")
        assert definition.endswith(f"WHERE {column} IS NOT NULL"), definition


def test_an_erasure_still_names_a_real_erase_entry_without_a_foreign_key(demo):
    """With no foreign key on `erased_by`, the append-only trigger's own
    check stands: an UPDATE that points an entry at no erase entry is refused."""
    from lcm.audit import ERASED_VALUES, personal_digests

    entry = ModeChange.objects.get(seq=1)
    erasure = dict(ERASED_VALUES, salt=None, digests=personal_digests(entry))
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        ModeChange.objects.filter(pk=entry.pk).update(**erasure, erased_by_id=10**9)
    assert audit_triggers.missing(connection) == []
