"""One database cursor for all the hand-written statements of a request.

Django's `connection.cursor()` costs about as much CPU as some of the
statements it runs (about 50,000 instructions: the connection checks, a new
psycopg cursor, Django's wrapper), and SetNewModeNumber opened six, one per
block of SQL (docs/benchmarks.md). Inside `shared()` — the envelope view
holds one for the whole request — `cursor()` hands out one cursor, made on
first use and closed when the block ends; outside, it is
`connection.cursor()`. Each of our statements is executed and read before
the next, so one cursor serves them all. The ORM keeps its own cursors.
"""

from __future__ import annotations

from contextvars import ContextVar

from django.db import connection

_shared: ContextVar[list | None] = ContextVar("lcm_shared_cursor", default=None)


class shared:
    """``with shared():`` — `cursor()` hands out one cursor until the end of
    the block (nested blocks use the outer one's)."""

    __slots__ = ("token",)

    def __enter__(self):
        self.token = _shared.set([None]) if _shared.get() is None else None

    def __exit__(self, *exc_info):
        if self.token is None:
            return
        box = _shared.get()
        _shared.reset(self.token)
        if box[0] is not None:
            box[0].__exit__(None, None, None)  # Django's close: errors in cleanup ignored


class _Borrowed:
    """``with cursor() as c`` on the shared cursor: the block does not close it."""

    __slots__ = ("cursor",)

    def __init__(self, cursor):
        self.cursor = cursor

    def __enter__(self):
        return self.cursor

    def __exit__(self, *exc_info):
        return False


def cursor():
    """A cursor on the default connection for ``with cursor() as c:``."""
    box = _shared.get()
    if box is None:
        return connection.cursor()
    if box[0] is None:
        box[0] = connection.cursor()
    return _Borrowed(box[0])
