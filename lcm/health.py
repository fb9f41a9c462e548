"""Health checks for load balancers and orchestrators: live and ready.

- `GET /healthz/live` (`live`): the process answers. No database: a
  database outage is no reason to restart app servers.
- `GET /healthz` (`healthz`, ready): this process can take the agents' changes —
  the database answers *and accepts writes*. 503 with a JSON reason when it
  does not answer (``database unavailable``), when its disk is full
  (``database disk full``) or when it is read-only (``database read-only``:
  a standby, after a failover moved the primary elsewhere, or
  ``default_transaction_read_only``), as `lcm.faults.database_fault` names
  the failure; a load balancer then sends the agents elsewhere.

The write probe (PostgreSQL), in one transaction that writes no row:
``transaction_read_only`` (on for a standby or a read-only database), then a
sort of 5,000 numbers with ``work_mem`` at its 64 kB minimum, which
PostgreSQL must spill to a temporary file (72 kB in
``base/pgsql_tmp``, on the data directory's disk, or ``temp_tablespaces``):
when that disk is full, the write fails with ``No space left on device``,
as the agents' own writes do. It needs no privilege, writes no catalog row,
and costs a few milliseconds. On SQLite (`make run`): the disk holding the
database file must have `SQLITE_FREE_BYTES` free.

Plain Django views, outside DRF: no authentication, no throttling, no
session, nothing kept. docs/operations.md, "Health checks".
"""

import logging
import os

from django.db import DatabaseError, connection, transaction
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from lcm import errors
from lcm.faults import database_fault

logger = logging.getLogger(__name__)

UNAVAILABLE = "database unavailable"
REASONS = {errors.DatabaseFull: "database disk full", errors.DatabaseReadOnly: "database read-only"}
SQLITE_FREE_BYTES = 1024 * 1024
_PROBE = (
    "SELECT current_setting('transaction_read_only') = 'on', "
    "(SELECT count(*) FROM (SELECT g FROM generate_series(1, 5000) AS g ORDER BY g DESC) AS s)"
)


@never_cache
@require_safe
def live(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def healthz(request):
    """Ready: the database answers and accepts writes."""
    try:
        reason = _refuses_writes()
    except DatabaseError as exc:
        reason = REASONS.get(type(database_fault(exc)), UNAVAILABLE)
        said = "the database did not answer" if reason == UNAVAILABLE else reason
        logger.exception("healthz: %s", said)
    else:
        if reason is not None:
            logger.warning("healthz: %s", reason)
    if reason is not None:
        return JsonResponse({"status": "error", "reason": reason}, status=503)
    return JsonResponse({"status": "ok"})


def _refuses_writes() -> str | None:
    """Why the database would refuse the agents' writes now, or None."""
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('work_mem', '64kB', true)")
            cursor.execute(_PROBE)
            read_only, _ = cursor.fetchone()
        return REASONS[errors.DatabaseReadOnly] if read_only else None
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    if connection.vendor == "sqlite" and not connection.is_in_memory_db():
        disk = os.statvfs(os.path.dirname(os.path.abspath(connection.settings_dict["NAME"])))
        if disk.f_bavail * disk.f_frsize < SQLITE_FREE_BYTES:
            return REASONS[errors.DatabaseFull]
    return None
