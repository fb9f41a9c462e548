"""Fill a freshly migrated lcm database with a benchmark data set, fast.

    DATABASE_URL=… .venv/bin/python bench/fill.py --accounts 100000 --out /tmp/calls.csv

Set-based SQL only (``INSERT … SELECT`` over ``generate_series`` on
PostgreSQL, a recursive CTE on SQLite), so 1,000,000 accounts take seconds,
not the hours the ORM would. What it makes:

- mode types 1 Home, 2 Office, 3 Mobile, 4 Other;
- ``--accounts`` accounts ``B|<i>|1|0|0|44|1``, account *i* with 1-4 live
  modes (1 + i mod 4), 10-digit numbers starting with 2;
- ``--agents`` agents ``benchagent<i>``, logged in, each with a user and a
  random DRF token, plus the integration user ``benchdialer`` holding
  ``lcm.act_for_any_agent``;
- ``--calls`` active calls ``bench-<i>``, call *i* handled by agent
  *1 + (i-1) mod agents*, on accounts spread evenly over the whole table;
- ``--dnc`` do-not-call numbers (starting with 19: never hit by the load);
- ``--audit-entries`` synthetic audit entries on random accounts, and the
  chain head moved past them. Their hashes are placeholders (md5-based), not
  a verifiable chain: they give the audit table and its indexes their size.
  Entries written by the benchmark itself chain correctly from the head.

``--out`` writes ``callid,AccountNumber,AgentID,token`` per call (the load
generator's input) and ``--dialer-token-out`` the integration token.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")


def series(vendor: str, n: int) -> str:
    """A FROM item yielding s.i = 1..n."""
    if vendor == "postgresql":
        return f"generate_series(1::bigint, {int(n)}) AS s(i)"
    return (
        "(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s "
        f"WHERE i < {int(n)}) SELECT i FROM s) AS s"
    )


def constant_columns(model, given: str) -> tuple[str, str, list]:
    """What a raw INSERT into `model`'s table naming only the columns in
    `given` (comma-separated) must add: every other NOT NULL column that has
    a model default ("" for text), as (", col…", ", %s…", values). Django
    keeps defaults in Python, not in the table, so a column a migration adds
    later would otherwise break the fill with a NOT NULL violation."""
    named = {name.strip() for name in given.split(",")}
    fields = [
        f
        for f in model._meta.concrete_fields
        if not (f.primary_key or f.null or f.column in named) and f.get_default() is not None
    ]
    return (
        "".join(f", {f.column}" for f in fields),
        "".join(", %s" for _ in fields),
        [f.get_db_prep_save(f.get_default(), connection=None) for f in fields],
    )


def fill(
    *,
    accounts: int,
    agents: int,
    calls: int,
    dnc: int,
    audit_entries: int,
    out: Path | None,
    dialer_token_out: Path | None,
) -> None:
    import django

    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from lcm.actions import campaigns
    from lcm.models import DoNotCallNumber, ModeChange

    vendor = connection.vendor
    pg = vendor == "postgresql"
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    # Text of an integer, a 40-hex random token, a 64-hex placeholder hash.
    token_sql = (
        "substr(md5(random()::text) || md5(random()::text), 1, 40)"
        if pg
        else "lower(hex(randomblob(20)))"
    )
    hash_sql = "md5('h' || s.i::text) || md5('g' || s.i::text)" if pg else "printf('%%064x', s.i)"
    prev_hash_sql = (
        "md5('h' || (s.i - 1)::text) || md5('g' || (s.i - 1)::text)"
        if pg
        else "printf('%%064x', s.i - 1)"
    )
    if calls > accounts:
        raise SystemExit("fill: --calls may not exceed --accounts")
    if calls > agents * 1000:
        raise SystemExit("fill: too few agents for that many calls")

    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM lcm_account")
        if cur.fetchone()[0]:
            raise SystemExit("fill: the database already holds accounts; use a fresh one")
        campaigns.ensure(["bench"])  # the accounts' campaign, made as an import makes it

        def step(label: str, sql: str, params=None) -> None:
            t = time.monotonic()
            cur.execute(sql, params)
            print(f"fill: {label:<28} {time.monotonic() - t:6.1f}s", file=sys.stderr)

        step(
            "mode types",
            "INSERT INTO lcm_modetype (id, name, channel_type, window_start, window_end) VALUES "
            "(1, 'Home', 'voice', '08:00', '21:00'), (2, 'Office', 'voice', '08:00', '21:00'), "
            "(3, 'Mobile', 'voice', '08:00', '21:00'), (4, 'Other', 'voice', '08:00', '21:00')",
        )
        step(
            f"{accounts:,} accounts",
            "INSERT INTO lcm_account (account_number, first_name, last_name, campaign, "
            "country, time_zone, zip_code, created_at) "
            f"SELECT 'B|' || CAST(s.i AS TEXT) || '|1|0|0|44|1', 'Ada', "
            f"'Customer' || CAST(s.i AS TEXT), 'bench', '', '', '', %s "
            f"FROM {series(vendor, accounts)}",
            [now],
        )
        cur.execute("SELECT min(id) FROM lcm_account")
        base = cur.fetchone()[0] - 1  # account i has id base + i
        step(
            "modes (1-4 per account)",
            # No region: a number's country is unknown and its national key is
            # its digits (lcm.numbers.identify), unless they read as a valid
            # international number, which the do-not-call-free bench ignores.
            "INSERT INTO lcm_contactmode (account_id, mode_type_id, number, number_as_given, "
            "number_e164, number_national, has_consent, consent_source, consent_by, time_zone, "
            "changed_at, changed_by, deleted_by) "
            "SELECT %s + s.i, mt.id, n.number, n.number, '', n.number, %s, '', '', '', %s, "
            "'fill', '' "
            f"FROM {series(vendor, accounts)} "
            "JOIN lcm_modetype mt ON mt.id <= 1 + s.i %% 4 "
            "CROSS JOIN LATERAL (SELECT CAST(2000000000 + (s.i * 7919 + mt.id * 104729) "
            "%% 7000000000 AS TEXT) AS number) n"
            if pg
            else "INSERT INTO lcm_contactmode (account_id, mode_type_id, number, "
            "number_as_given, number_e164, number_national, has_consent, consent_source, "
            "consent_by, time_zone, changed_at, changed_by, deleted_by) "
            "SELECT %s + s.i, mt.id, "
            "CAST(2000000000 + (s.i * 7919 + mt.id * 104729) %% 7000000000 AS TEXT), "
            "CAST(2000000000 + (s.i * 7919 + mt.id * 104729) %% 7000000000 AS TEXT), '', "
            "CAST(2000000000 + (s.i * 7919 + mt.id * 104729) %% 7000000000 AS TEXT), "
            "%s, '', '', '', %s, 'fill', '' "
            f"FROM {series(vendor, accounts)} JOIN lcm_modetype mt ON mt.id <= 1 + s.i %% 4",
            [base, False, now],
        )
        step(
            f"{agents:,} agent users",
            "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, "
            "email, is_staff, is_active, date_joined) "
            "SELECT '!', %s, 'benchagent' || CAST(s.i AS TEXT), '', '', '', %s, %s, %s "
            f"FROM {series(vendor, agents)}",
            [False, False, True, now],
        )
        step(
            "agents",
            "INSERT INTO lcm_agent (agent_id, user_id, is_logged_in, logged_in_changed_at) "
            "SELECT username, id, %s, %s FROM auth_user WHERE username LIKE 'benchagent%%'",
            [True, now],
        )
        step(
            "integration user",
            "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, "
            "email, is_staff, is_active, date_joined) "
            "VALUES ('!', %s, 'benchdialer', '', '', '', %s, %s, %s)",
            [False, False, True, now],
        )
        step(
            "integration permission",
            "INSERT INTO auth_user_user_permissions (user_id, permission_id) "
            "SELECT u.id, p.id FROM auth_user u, auth_permission p "
            "JOIN django_content_type ct ON ct.id = p.content_type_id "
            "WHERE u.username = 'benchdialer' AND p.codename = 'act_for_any_agent' "
            "AND ct.app_label = 'lcm'",
        )
        step(
            "tokens",
            f"INSERT INTO authtoken_token (key, user_id, created) SELECT {token_sql}, id, %s "
            "FROM auth_user WHERE username LIKE 'bench%%'",
            [now],
        )
        cur.execute("SELECT min(id) FROM lcm_agent")
        agent_base = cur.fetchone()[0] - 1
        stride = max(accounts // calls, 1)
        step(
            f"{calls:,} active calls",
            "INSERT INTO lcm_call (callid, account_id, agent_id, state, started_at) "
            "SELECT 'bench-' || CAST(s.i AS TEXT), %s + 1 + (s.i - 1) * %s, "
            "%s + 1 + (s.i - 1) %% %s, 'active', %s "
            f"FROM {series(vendor, calls)}",
            [base, stride, agent_base, agents, now],
        )
        named = "number, number_e164, number_national, reason, added_at, added_by"
        columns, placeholders, values = constant_columns(DoNotCallNumber, named)
        step(
            f"{dnc:,} do-not-call numbers",
            # 19…: no region, not a valid international number: country unknown,
            # national key the digits (as lcm.numbers.identify makes it).
            f"INSERT INTO lcm_donotcallnumber ({named}{columns}) "
            "SELECT '19' || CAST(10000000 + s.i AS TEXT), '', '19' || CAST(10000000 + s.i AS "
            f"TEXT), 'bench', %s, 'fill'{placeholders} "
            f"FROM {series(vendor, dnc)}",
            [now, *values],
        )
        if audit_entries and pg:
            # Bulk-load recipe: no per-row foreign-key triggers (the rows are
            # consistent by construction) and the indexes built once, after.
            cur.execute("SET LOCAL session_replication_role = replica")
            cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
            cur.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'lcm_modechange'::regclass AND contype = 'u'"
            )
            constraints = cur.fetchall()
            for name, _ in constraints:
                cur.execute(f'ALTER TABLE lcm_modechange DROP CONSTRAINT "{name}"')
            cur.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'lcm_modechange' "
                "AND indexname NOT LIKE '%pkey'"
            )
            indexes = cur.fetchall()
            for name, _ in indexes:
                cur.execute(f'DROP INDEX "{name}"')
        if audit_entries:
            named = (
                "seq, created_at, action, account_id, account_number, callid, agent_code, "
                "username, source, mode_id, old_number, new_number, new_number_e164, "
                "deleted_modes, request_id, prev_hash, hash"
            )
            columns, placeholders, values = constant_columns(ModeChange, named)
            step(
                f"{audit_entries:,} audit entries",
                f"INSERT INTO lcm_modechange ({named}{columns}) "
                "SELECT s.i, %s, 'set', a.id, a.account_number, '', '', 'fill', 'fill', 1, "
                f"'2000000000', '2000000001', '', '[]', '', {prev_hash_sql}, {hash_sql}"
                f"{placeholders} FROM {series(vendor, audit_entries)} "
                "JOIN lcm_account a ON a.id = %s + 1 + (s.i * 7919) %% %s",
                [now, *values, base, accounts],
            )
            cur.execute(
                "UPDATE lcm_auditchainhead SET seq = %s, hash = "
                "(SELECT hash FROM lcm_modechange WHERE seq = %s) WHERE id = 1",
                [audit_entries, audit_entries],
            )
        if audit_entries and pg:
            t = time.monotonic()
            for _, definition in indexes:
                cur.execute(definition)
            for name, definition in constraints:
                cur.execute(f'ALTER TABLE lcm_modechange ADD CONSTRAINT "{name}" {definition}')
            print(f"fill: {'audit indexes':<28} {time.monotonic() - t:6.1f}s", file=sys.stderr)
    if pg:
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    print(f"fill: done in {time.monotonic() - started:.1f}s", file=sys.stderr)

    with connection.cursor() as cur:
        if out:
            cur.execute(
                "SELECT c.callid, ac.account_number, ag.agent_id, t.key FROM lcm_call c "
                "JOIN lcm_account ac ON ac.id = c.account_id "
                "JOIN lcm_agent ag ON ag.id = c.agent_id "
                "JOIN authtoken_token t ON t.user_id = ag.user_id "
                "WHERE c.callid LIKE 'bench-%' ORDER BY c.id"
            )
            with open(out, "w", newline="") as fh:
                csv.writer(fh, lineterminator="\n").writerows(cur.fetchall())
        if dialer_token_out:
            cur.execute(
                "SELECT t.key FROM authtoken_token t JOIN auth_user u ON u.id = t.user_id "
                "WHERE u.username = 'benchdialer'"
            )
            Path(dialer_token_out).write_text(cur.fetchone()[0] + "\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--agents", type=int, default=2_000)
    parser.add_argument("--calls", type=int, default=2_000)
    parser.add_argument("--dnc", type=int, default=10_000)
    parser.add_argument("--audit-entries", type=int, default=None, help="default: 5 per account")
    parser.add_argument("--out", type=Path, help="write callid,AccountNumber,AgentID,token")
    parser.add_argument("--dialer-token-out", type=Path)
    args = parser.parse_args(argv)
    fill(
        accounts=args.accounts,
        agents=args.agents,
        calls=args.calls,
        dnc=args.dnc,
        audit_entries=args.accounts * 5 if args.audit_entries is None else args.audit_entries,
        out=args.out,
        dialer_token_out=args.dialer_token_out,
    )


if __name__ == "__main__":
    main()
