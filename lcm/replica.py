"""The auditors' reads on a read replica (`LCM_AUDIT_READS_DATABASE`).

The auditors read much (the audit list, a CSV of a million entries,
`verify_audit`'s walk of the whole chain); the agents write. With a
PostgreSQL streaming replica configured as a second database alias, only
the auditors' reads go there, and only at the few places that say so:

- a queryset that leaves the view unevaluated (a page rendered later, a
  streamed CSV) is bound with ``.using(auditor_db())``;
- code that reads through helpers (proofs, `verify_audit`) runs inside
  ``with auditor_reads():``, where `AuditorReadsRouter` sends reads — and
  only reads — to that alias.

Everything else, and every write, stays on ``default`` (the primary): the
agents' API, the supervisors' pages that must show what they just changed.
A replica lags its primary (docs/scaling.md, "Replica lag"): the auditors
may see the log as it was up to that lag ago, never a changed or reordered
one, as the entries are append-only.

Unset (the default), `auditor_db()` is ``default`` and nothing changes.

Set, every auditor's read starts with `check_auditor_db()`: a replica that
does not answer, or lags more than `LCM_AUDIT_REPLICA_MAX_LAG` seconds, is
`errors.ReplicaUnavailable` — a 503 page in the console, a JSON 503 in the
API — never a 500 or a log silently out of date (docs/operations.md,
"Faults").
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError

from lcm import errors
from lcm.conf import lcm_settings

logger = logging.getLogger(__name__)

ROUTER = "lcm.replica.AuditorReadsRouter"

_auditor_reads: ContextVar[bool] = ContextVar("lcm_auditor_reads", default=False)


def auditor_db() -> str:
    """The database alias the auditors read from."""
    return lcm_settings.LCM_AUDIT_READS_DATABASE


@contextmanager
def auditor_reads() -> Iterator[str]:
    """Within the block, this thread's (or task's) reads go to `auditor_db()`."""
    token = _auditor_reads.set(True)
    try:
        yield auditor_db()
    finally:
        _auditor_reads.reset(token)


class AuditorReadsRouter:
    """Reads inside `auditor_reads()` go to the auditors' database; every
    write, and every read elsewhere, to ``default``.

    Writes return ``default`` explicitly: without it, Django would write an
    object back to the database it was read from — the replica, which
    refuses (read-only) — if one read there were ever saved.
    """

    def db_for_read(self, model, **hints):
        if _auditor_reads.get():
            return auditor_db()
        return None  # Django's default: the instance's own database, else default

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # The replica holds the primary's rows: an object read there may
        # relate to one read from the primary.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # A replica is migrated by replaying its primary, never directly.
        if db == DEFAULT_DB_ALIAS or db != auditor_db():
            return None
        return False


# --- Lag -----------------------------------------------------------------------


def replica_lag_bytes() -> int | None:
    """How much WAL the auditors' replica has yet to replay of what the
    primary has written now, in bytes; None without a PostgreSQL replica."""
    from django.db import connections

    alias = auditor_db()
    if alias == DEFAULT_DB_ALIAS or connections[alias].vendor != "postgresql":
        return None
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        (primary_lsn,) = cursor.fetchone()
    return _behind(alias, primary_lsn)


def _behind(alias: str, primary_lsn: str) -> int:
    from django.db import connections

    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT greatest(0, pg_wal_lsn_diff(%s::pg_lsn, "
            "coalesce(pg_last_wal_replay_lsn(), '0/0'::pg_lsn)))::bigint",
            [primary_lsn],
        )
        return cursor.fetchone()[0]


def describe(alias: str) -> str:
    """A database alias as an operator finds it: "replica (10.0.0.2:5432)"."""
    from django.db import connections

    settings = connections[alias].settings_dict
    where = f"{settings.get('HOST') or 'localhost'}:{settings.get('PORT') or 5432}"
    return f"{alias} ({where})" if settings.get("HOST") or settings.get("PORT") else alias


# After a quiet spell, the replica's last replayed commit is old: a commit
# arriving that instant would look like a lag as long as the spell. A
# replica that replays what the primary had within this long is not behind.
_SECOND_LOOK_SECONDS = 0.25


def check_auditor_db() -> None:
    """Raise `errors.ReplicaUnavailable` when the auditors read a replica
    that does not answer, or that is more than `LCM_AUDIT_REPLICA_MAX_LAG`
    seconds behind: the primary's WAL position is not replayed, and the last
    transaction it replayed committed longer ago than that. Two short
    queries (the primary's position, then the replica's); none without a
    replica. A primary that does not answer raises its own error."""
    from django.db import connections

    alias = auditor_db()
    if alias == DEFAULT_DB_ALIAS or connections[alias].vendor != "postgresql":
        return
    bound = lcm_settings.LCM_AUDIT_REPLICA_MAX_LAG
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        (primary_lsn,) = cursor.fetchone()
    try:
        lag = _lag_seconds(alias, primary_lsn)
        deadline = time.monotonic() + _SECOND_LOOK_SECONDS
        while lag > bound and time.monotonic() < deadline:
            time.sleep(0.02)
            lag = _lag_seconds(alias, primary_lsn)
    except (OperationalError, InterfaceError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        logger.warning("the auditors' replica %s does not answer: %s", describe(alias), first_line)
        raise errors.ReplicaUnavailable(errors.REPLICA_DOWN.format(alias=alias)) from exc
    if lag > bound:
        shown = f"{lag:,.1f} s" if math.isfinite(lag) else "an unknown time"
        logger.warning("the auditors' replica %s is %s behind", describe(alias), shown)
        raise errors.ReplicaUnavailable(
            errors.REPLICA_BEHIND.format(alias=alias, lag=shown, bound=bound)
        )


def _lag_seconds(alias: str, primary_lsn: str) -> float:
    """0 when the replica has replayed `primary_lsn`; else the age of the
    last transaction it replayed (infinite when it replayed none since it
    started)."""
    from django.db import connections

    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT pg_wal_lsn_diff(%s::pg_lsn, coalesce(pg_last_wal_replay_lsn(), "
            "'0/0'::pg_lsn)) > 0, extract(epoch FROM now() - pg_last_xact_replay_timestamp())",
            [primary_lsn],
        )
        behind, age = cursor.fetchone()
    if not behind:
        return 0.0
    return max(float(age), 0.0) if age is not None else math.inf


def wait_for_replica(timeout: float, poll: float = 0.05) -> int:
    """Wait until the replica has replayed everything the primary had
    written when called (so it holds every transaction committed before),
    at most `timeout` seconds. Returns the bytes still behind: 0 when
    caught up (or when there is no replica)."""
    import time

    from django.db import connections

    alias = auditor_db()
    if alias == DEFAULT_DB_ALIAS or connections[alias].vendor != "postgresql":
        return 0
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        (primary_lsn,) = cursor.fetchone()
    deadline = time.monotonic() + timeout
    while True:
        behind = _behind(alias, primary_lsn)
        if behind == 0 or time.monotonic() >= deadline:
            return behind
        time.sleep(poll)
