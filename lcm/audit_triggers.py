"""The database triggers that make `lcm_modechange` append-only.

Code already never updates or deletes an audit entry; these triggers make
the database refuse it too, whoever asks (the ORM, a cascade, raw SQL from
a shell). Both refuse with an integrity error (SQLSTATE 23001
`restrict_violation` on PostgreSQL, a trigger ABORT on SQLite), which
Django raises as `django.db.IntegrityError`.

Migration 0003 installs them; `verify_audit` checks they are still there.
If this SQL ever changes, a new migration must re-run `install`.

SQLite caveat: a migration that *rebuilds* `lcm_modechange` (SQLite's way of
altering a column) drops its triggers with the old table; such a migration
must call `install` again. `verify_audit` reports missing triggers.
"""

from __future__ import annotations

TABLE = "lcm_modechange"
TRIGGERS = {
    "postgresql": (
        "lcm_modechange_no_update",
        "lcm_modechange_no_delete",
        "lcm_modechange_no_truncate",
    ),
    "sqlite": ("lcm_modechange_no_update", "lcm_modechange_no_delete"),
}
REFUSED = "lcm_modechange is append-only"

_POSTGRESQL_INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION lcm_modechange_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        -- Emptying an empty table destroys nothing (Django's test flush does it).
        IF TG_OP = 'TRUNCATE' AND NOT EXISTS (SELECT 1 FROM {TABLE}) THEN
            RETURN NULL;
        END IF;
        RAISE EXCEPTION '{REFUSED}: % refused', TG_OP
            USING ERRCODE = 'restrict_violation',
                  HINT = 'Audit entries are never changed or removed; see docs/audit.md.';
    END
    $$
    """,  # noqa: S608 (constant names, no input)
    f"CREATE TRIGGER lcm_modechange_no_update BEFORE UPDATE ON {TABLE} "
    "FOR EACH ROW EXECUTE FUNCTION lcm_modechange_append_only()",
    f"CREATE TRIGGER lcm_modechange_no_delete BEFORE DELETE ON {TABLE} "
    "FOR EACH ROW EXECUTE FUNCTION lcm_modechange_append_only()",
    f"CREATE TRIGGER lcm_modechange_no_truncate BEFORE TRUNCATE ON {TABLE} "
    "FOR EACH STATEMENT EXECUTE FUNCTION lcm_modechange_append_only()",
]
_POSTGRESQL_UNINSTALL = [
    f"DROP TRIGGER IF EXISTS lcm_modechange_no_update ON {TABLE}",
    f"DROP TRIGGER IF EXISTS lcm_modechange_no_delete ON {TABLE}",
    f"DROP TRIGGER IF EXISTS lcm_modechange_no_truncate ON {TABLE}",
    "DROP FUNCTION IF EXISTS lcm_modechange_append_only()",
]
_SQLITE_INSTALL = [
    f"CREATE TRIGGER lcm_modechange_no_update BEFORE UPDATE ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{REFUSED}: UPDATE refused'); END",
    f"CREATE TRIGGER lcm_modechange_no_delete BEFORE DELETE ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{REFUSED}: DELETE refused'); END",
]
_SQLITE_UNINSTALL = [
    "DROP TRIGGER IF EXISTS lcm_modechange_no_update",
    "DROP TRIGGER IF EXISTS lcm_modechange_no_delete",
]

INSTALL = {"postgresql": _POSTGRESQL_INSTALL, "sqlite": _SQLITE_INSTALL}
UNINSTALL = {"postgresql": _POSTGRESQL_UNINSTALL, "sqlite": _SQLITE_UNINSTALL}


def _statements(table: dict, vendor: str) -> list[str]:
    try:
        return table[vendor]
    except KeyError:
        raise NotImplementedError(
            f"lcm's append-only audit triggers exist for PostgreSQL and SQLite, not {vendor}."
        ) from None


def install(connection) -> None:
    """Create the triggers (idempotent: drops any old ones first)."""
    with connection.cursor() as cursor:
        for sql in _statements(UNINSTALL, connection.vendor):
            cursor.execute(sql)
        for sql in _statements(INSTALL, connection.vendor):
            cursor.execute(sql)


def uninstall(connection) -> None:
    with connection.cursor() as cursor:
        for sql in _statements(UNINSTALL, connection.vendor):
            cursor.execute(sql)


def missing(connection) -> list[str]:
    """Names of the append-only triggers that are absent or disabled."""
    expected = _statements(TRIGGERS, connection.vendor)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass "
                "AND NOT tgisinternal AND tgenabled <> 'D'",
                [TABLE],
            )
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                [TABLE],
            )
        present = {row[0] for row in cursor.fetchall()}
    return [name for name in expected if name not in present]
