"""docs/sql/app-role-grants.sql gives the application role what docs/audit.md says:
append to and read the audit log, advance the chain head, nothing more."""

from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction

from lcm.models import ModeChange

from .audit_log import DEMO_LOG, demo_log, make_log, new_entries
from .conftest import DEMO_ENTRIES

GRANTS = Path(__file__).resolve().parent.parent / "docs" / "sql" / "app-role-grants.sql"

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def sql(statement, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.fixture
def as_app_role(demo):
    """The test's transaction, acting as `lcm_app` (created and dropped with it)."""
    sql("CREATE ROLE lcm_app NOLOGIN")
    sql(GRANTS.read_text())
    sql("SET LOCAL ROLE lcm_app")
    yield
    sql("RESET ROLE")


def test_the_app_role_appends_and_reads_but_cannot_alter_the_log(as_app_role):
    entries = make_log()  # a real SetNewModeNumber, as the app role
    assert ModeChange.objects.count() == DEMO_ENTRIES + 3

    refused = [
        "UPDATE lcm_modechange SET new_number = '1'",
        "DELETE FROM lcm_modechange",
        "TRUNCATE lcm_modechange CASCADE",
        "DROP TRIGGER lcm_modechange_no_update ON lcm_modechange",
        "ALTER TABLE lcm_modechange DISABLE TRIGGER ALL",
        "DELETE FROM lcm_auditchainhead",
    ]
    for statement in refused:
        with (
            pytest.raises(DatabaseError, match=r"permission denied|must be owner"),
            transaction.atomic(),
        ):
            sql(statement)

    assert [e.hash for e in new_entries()] == [e.hash for e in entries]
    assert demo_log() == DEMO_LOG
