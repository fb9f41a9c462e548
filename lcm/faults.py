"""Database faults as the user sees them: one mapping for every door, and
the one bound on lock waits. docs/operations.md, "Faults".

- `database_fault(exc)` says what a database exception means to the user:
  the database is unavailable (lost, unreachable, restarting, or a lock
  waited for past `LCM_DATABASE_LOCK_TIMEOUT`), its disk is full, or it is
  read-only — `lcm.errors.DatabaseUnavailable` or one of its kinds, each a
  503 with ``Retry-After`` — or None when the exception is not the
  database's fault (a constraint, a bug: those stay what they are). The
  APIs (`lcm.api.failures`), the console (`DatabaseFaultMiddleware`),
  `/healthz` (`lcm.health`), the import (`lcm.actions.imports`) and the
  commands all ask it.
- `DatabaseFaultMiddleware` answers such a fault in a console page with a
  styled 503 page that says what failed, with ``Retry-After``, a "try again"
  link and the way back, instead of the 500 page.
- `bound_lock_waits` (on every new PostgreSQL connection, `lcm.apps`) sets
  ``lock_timeout``: no statement waits longer than the bound for a lock
  another transaction holds — the account row, the audit chain's head, an
  `Idempotency-Key` — so a frozen or stuck worker holding one costs the
  others a 503 they retry, not a wait as long as it is stuck.

A failed request has rolled back by the time any of these sees it: nothing
of it was written.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpResponse
from django.template import TemplateDoesNotExist, loader
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html

from lcm import errors
from lcm.conf import lcm_settings

logger = logging.getLogger("lcm.faults")

# PostgreSQL's SQLSTATEs (psycopg's `sqlstate`) and SQLite's primary result
# codes (the low byte of Python's `sqlite_errorcode`) for the two faults
# that are not "unavailable".
PG_DISK_FULL = "53100"  # disk_full: a relation, WAL or temporary file could not grow
PG_READ_ONLY = "25006"  # read_only_sql_transaction: a standby, default_transaction_read_only
SQLITE_FULL = 13
SQLITE_READONLY = 8


def database_fault(exc: BaseException) -> errors.DatabaseUnavailable | None:
    """The 503 error `exc` means, or None when it is not a fault of the database."""
    if isinstance(exc, errors.DatabaseUnavailable):
        return exc
    if not isinstance(exc, DatabaseError):
        return None
    cause = exc.__cause__  # Django wraps the driver's exception
    sqlstate = getattr(cause, "sqlstate", None)
    sqlite_code = getattr(cause, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int):
        sqlite_code &= 0xFF  # an extended code's primary code
    if sqlstate == PG_DISK_FULL or sqlite_code == SQLITE_FULL:
        return errors.DatabaseFull()
    if sqlstate == PG_READ_ONLY or sqlite_code == SQLITE_READONLY:
        return errors.DatabaseReadOnly()
    if isinstance(exc, OperationalError | InterfaceError):
        return errors.DatabaseUnavailable()
    return None


# --- The lock bound --------------------------------------------------------------


def bound_lock_waits(sender, connection, **kwargs) -> None:
    """`connection_created`: set this PostgreSQL session's ``lock_timeout``
    to `LCM_DATABASE_LOCK_TIMEOUT` (0: no bound). Every door — API, console,
    import, commands — opens its connections through here. A statement that
    waits longer fails with SQLSTATE 55P03, an OperationalError: a 503
    `database_unavailable` the client retries (with its Idempotency-Key).
    SQLite's writers queue on its own busy timeout (`SQLITE_TIMEOUT`)."""
    if connection.vendor != "postgresql":
        return
    milliseconds = round(lcm_settings.LCM_DATABASE_LOCK_TIMEOUT * 1000)
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, false)", [f"{milliseconds}ms"])


# --- The console's page ------------------------------------------------------------

PAGE_HEADINGS = {
    errors.ReplicaUnavailable: "The audit log cannot be read right now",
    errors.DatabaseFull: "Nothing can be saved: the database's disk is full",
    errors.DatabaseReadOnly: "Nothing can be saved: the database is read-only",
    errors.DatabaseUnavailable: "The database is unavailable",
}
# Where a host project has no 503.html template of its own.
_FALLBACK = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{}</title></head>'
    '<body><h1>{}</h1><p>{}</p><p><a href="{}">Try again</a> · <a href="/">Back</a></p>'
    "</body></html>"
)


def unavailable_page(request, fault: errors.DatabaseUnavailable) -> HttpResponse:
    """The 503 page: what failed, nothing saved, a "try again" link (the same
    address) and the way back to the console. Rendered without the request's
    context processors: they would read the session, from the database."""
    heading = next(text for kind, text in PAGE_HEADINGS.items() if isinstance(fault, kind))
    retry_url = request.get_full_path()
    context = {"heading": heading, "message": fault.message, "retry_url": retry_url}
    try:
        body = loader.render_to_string("503.html", context)
    except TemplateDoesNotExist:
        body = format_html(_FALLBACK, heading, heading, fault.message, retry_url)
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(fault.retry_after)
    add_never_cache_headers(response)
    return response


class DatabaseFaultMiddleware:
    """A database fault in a view or its template (the console's pages) is
    the 503 page, logged as a warning with its traceback; any other
    exception goes on to Django's handling (the 500 page). The APIs answer
    their own JSON before an exception gets here (`lcm.api.failures`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        fault = database_fault(exception)
        if fault is None:
            return None
        logger.warning(
            "database fault (%s) on %s %s",
            fault.code,
            request.method,
            request.path,
            exc_info=(type(exception), exception, exception.__traceback__),
        )
        return unavailable_page(request, fault)
