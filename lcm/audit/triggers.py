"""The database triggers that make `lcm_modechange` append-only.

Code already never updates or deletes an audit entry; these triggers make
the database refuse it too, whoever asks (the ORM, a cascade, raw SQL from
a shell). Both refuse with an integrity error (SQLSTATE 23001
`restrict_violation` on PostgreSQL, a trigger ABORT on SQLite), which
Django raises as `django.db.IntegrityError`.

Migration 0003 installs them; `verify_audit` checks they are still there.
If this SQL ever changes, a new migration must re-run `install`.

Erasure (migration 0018): one UPDATE is let through, exactly the one
`lcm.actions.erasure` makes: it blanks an entry's personal fields
(`lcm.audit.ERASED_VALUES`), drops its secret, may keep its digests (format 2
only), sets `erased_by` once to an `erase` entry of the same account later in
the chain, and changes nothing else: not the hash, not the chained fields.

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

# Every column but the personal ones, the secret, the digests and erased_by:
# an erasure leaves them exactly as they were.
_KEPT = (
    "id", "seq", "created_at", "action", "account_id", "account_number", "call_id", "callid",
    "agent_id", "agent_code", "user_id", "username", "source", "mode_id", "reverts_id",
    "client_ip", "request_id", "erasure", "prev_hash", "hash",
)  # fmt: skip
# Added by migration 0022 (campaign entries' settings): kept by an erasure too.
_KEPT_SINCE_0019 = ("details",)
# Added by migration 0026 (format 3): kept by an erasure too.
_KEPT_SINCE_0026 = ("version",)


def _erasure_allowed(
    same: str,
    empty_list: str,
    *,
    details: bool = True,
    version: bool = True,
    business: bool = True,
) -> str:
    """The SQL condition under which an UPDATE is the erasure (NEW/OLD rows).
    `details=False`: the table before migration 0022 (no `details` column);
    `version=False`: before migration 0026 (no `version` column);
    `business=False`: before migration 0030 (no `business_fields` column, a
    personal one: the erasure empties it)."""
    columns = _KEPT + (_KEPT_SINCE_0019 if details else ()) + (_KEPT_SINCE_0026 if version else ())
    kept = " AND ".join(f"NEW.{c} {same} OLD.{c}" for c in columns)
    erased_business = "AND NEW.business_fields IS NULL " if business else ""
    return (
        "OLD.erased_by_id IS NULL AND NEW.erased_by_id IS NOT NULL "  # noqa: S608 (constants)
        f"AND {kept} "
        "AND NEW.old_number = '' AND NEW.new_number = '' AND NEW.new_number_e164 = '' "
        f"AND NEW.deleted_modes = {empty_list} AND NEW.modes = {empty_list} "
        "AND NEW.do_not_call IS NULL AND NEW.callback IS NULL AND NEW.salt IS NULL "
        f"{erased_business}"
        "AND ((OLD.salt IS NULL AND OLD.digests IS NULL AND NEW.digests IS NULL) "
        "OR (OLD.salt IS NOT NULL AND NEW.digests IS NOT NULL)) "
        f"AND EXISTS (SELECT 1 FROM {TABLE} e WHERE e.id = NEW.erased_by_id "
        "AND e.action = 'erase' AND e.account_id = OLD.account_id AND e.seq > OLD.seq)"
    )


_POSTGRESQL_INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION lcm_modechange_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        -- Emptying an empty table destroys nothing (Django's test flush does it).
        IF TG_OP = 'TRUNCATE' AND NOT EXISTS (SELECT 1 FROM {TABLE}) THEN
            RETURN NULL;
        END IF;
        __ERASURE__
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
_POSTGRESQL_INSTALL_V1 = [
    _POSTGRESQL_INSTALL[0].replace("__ERASURE__", ""),
    *_POSTGRESQL_INSTALL[1:],
]
_SQLITE_INSTALL_V1 = list(_SQLITE_INSTALL)


def _postgresql_install(*, details: bool, version: bool = True, business: bool = True) -> list[str]:
    erasure = _erasure_allowed(
        "IS NOT DISTINCT FROM",
        "'[]'::jsonb",
        details=details,
        version=version,
        business=business,
    )
    function = _POSTGRESQL_INSTALL[0].replace(
        "__ERASURE__",
        "-- The erasure of an entry's personal values (lcm.actions.erasure), nothing else.\n"
        f"        IF TG_OP = 'UPDATE' AND {erasure} THEN\n"
        "            RETURN NEW;\n        END IF;",
    )
    return [function, *_POSTGRESQL_INSTALL[1:]]


def _sqlite_install(*, details: bool, version: bool = True, business: bool = True) -> list[str]:
    erasure = _erasure_allowed("IS", "'[]'", details=details, version=version, business=business)
    return [
        f"CREATE TRIGGER lcm_modechange_no_update BEFORE UPDATE ON {TABLE} "
        f"WHEN NOT ({erasure}) "
        f"BEGIN SELECT RAISE(ABORT, '{REFUSED}: UPDATE refused'); END",
        *_SQLITE_INSTALL[1:],
    ]


_SQLITE_UNINSTALL = [
    "DROP TRIGGER IF EXISTS lcm_modechange_no_update",
    "DROP TRIGGER IF EXISTS lcm_modechange_no_delete",
]

INSTALL = {"postgresql": _postgresql_install(details=True), "sqlite": _sqlite_install(details=True)}
# Migration 0026 (format 3) ran before the `business_fields` column existed (0030).
INSTALL_0026 = {
    "postgresql": _postgresql_install(details=True, business=False),
    "sqlite": _sqlite_install(details=True, business=False),
}
# Migration 0022 ran before the `version` column existed (0026).
INSTALL_0022 = {
    "postgresql": _postgresql_install(details=True, version=False, business=False),
    "sqlite": _sqlite_install(details=True, version=False, business=False),
}
# Migrations 0018 (erasure) and 0019 (lean table) ran before the `details` column existed (0022).
INSTALL_0018 = {
    "postgresql": _postgresql_install(details=False, version=False, business=False),
    "sqlite": _sqlite_install(details=False, version=False, business=False),
}
# Before migration 0018 the table has no erasure columns: migration 0003
# installs these, which refuse every UPDATE.
INSTALL_V1 = {"postgresql": _POSTGRESQL_INSTALL_V1, "sqlite": _SQLITE_INSTALL_V1}
UNINSTALL = {"postgresql": _POSTGRESQL_UNINSTALL, "sqlite": _SQLITE_UNINSTALL}


def _statements(table: dict, vendor: str) -> list[str]:
    try:
        return table[vendor]
    except KeyError:
        raise NotImplementedError(
            f"lcm's append-only audit triggers exist for PostgreSQL and SQLite, not {vendor}."
        ) from None


def install(
    connection,
    *,
    erasure: bool = True,
    details: bool = True,
    version: bool = True,
    business: bool = True,
) -> None:
    """Create the triggers (idempotent: drops any old ones first), as the
    latest migration makes them, or as an earlier one left them:
    `business=False`: as migration 0026 made them, before `business_fields` (0030).
    `version=False`: as migration 0022 made them, before the `version` column.
    `details=False`: as migration 0018 made them, before the `details` column.
    `erasure=False`: the triggers as before migration 0018 (for 0003).
    A flag set False implies the columns of the later ones absent too (a
    table without `version` has no `business_fields` either)."""
    with connection.cursor() as cursor:
        for sql in _statements(UNINSTALL, connection.vendor):
            cursor.execute(sql)
        if not erasure:
            table = INSTALL_V1
        elif not details:
            table = INSTALL_0018
        elif not version:
            table = INSTALL_0022
        else:
            table = INSTALL if business else INSTALL_0026
        for sql in _statements(table, connection.vendor):
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
