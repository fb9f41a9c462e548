"""CSV export of the audit log: one writer for the admin and the API.

Streamed: rows are read with `.iterator(chunk_size=…)` (a server-side
cursor on PostgreSQL) and written as they come, so a million entries
export in constant memory. The hashes are included, so an export can be
checked against the chain (docs/audit.md).
"""

from __future__ import annotations

import csv
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from .chain import streaming_reads

CHUNK_SIZE = 2000

# (CSV header, ModeChange value path)
COLUMNS = [
    ("seq", "seq"),
    ("created_at", "created_at"),
    ("action", "action"),
    ("account", "account_number"),
    ("callid", "callid"),
    ("agent", "agent_code"),
    ("username", "username"),
    ("source", "source"),
    ("mode", "mode_id"),
    ("old_number", "old_number"),
    ("new_number", "new_number"),
    ("new_number_e164", "new_number_e164"),
    ("deleted_modes", "deleted_modes"),
    ("reverts_seq", "reverts__seq"),
    ("client_ip", "client_ip"),
    ("request_id", "request_id"),
    ("prev_hash", "prev_hash"),
    ("hash", "hash"),
    # Appended after the hash, so the columns before keep their positions:
    # the whole entry, as JSON text (empty when null).
    ("modes", "modes"),
    ("do_not_call", "do_not_call"),
    ("callback", "callback"),
    # Erased entries: "erased on <date> by <user> (entry #<seq>): <reason>" in
    # place of their (now empty) personal fields; on an erase entry, its record.
    ("erased", "erasure"),
    # Appended after `erased` (the columns before keep their positions), JSON
    # text, empty when null: a campaign, state law, outcome or agent state
    # entry's before and after (kept by an erasure), and a business fields
    # entry's fields (the contact's personal data: empty once erased).
    ("details", "details"),
    ("business_fields", "business_fields"),
]
# Read with each row to write the `erased` cell (lcm.actions.erasure.marker).
_ERASED_BY = ["erased_by__seq", "erased_by__created_at", "erased_by__username",
              "erased_by__erasure"]  # fmt: skip

# A cell a spreadsheet would run as a formula (CSV injection), unless it is
# a plain signed number such as +34961084836.
_FORMULA = re.compile(r"^[=@\t\r]|^[+-](?![0-9]+$)")
_FORMULA_START = tuple("=@\t\r+-")
_JSON = [
    i
    for i, (_, path) in enumerate(COLUMNS)
    if path in {"modes", "do_not_call", "callback", "details", "business_fields"}
]
_TEXT = [
    i
    for i, (_, path) in enumerate(COLUMNS)
    if path not in {"seq", "created_at", "mode_id", "deleted_modes", "reverts__seq", "erasure"}
    and i not in _JSON  # an object or a list: never starts as a formula
]
_CREATED_AT = [path for _, path in COLUMNS].index("created_at")
_DELETED_MODES = [path for _, path in COLUMNS].index("deleted_modes")
_ERASED = [path for _, path in COLUMNS].index("erasure")


class _Line:
    """A write-only file for csv.writer that hands back what it was given."""

    def write(self, value: str) -> str:
        return value


def _erased_cell(own: dict | None, by_seq, by_at, by_user, by_record) -> str:
    from ..actions.erasure import erase_text, erased_text

    if by_seq is not None:
        return erased_text(by_seq, by_at, by_user, by_record)
    return erase_text(own) if own is not None else ""


def _cells(row: tuple) -> list:
    cells = list(row[: len(COLUMNS)])
    cells[_ERASED] = _erased_cell(cells[_ERASED], *row[len(COLUMNS) :])
    cells[_CREATED_AT] = cells[_CREATED_AT].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    cells[_DELETED_MODES] = "; ".join(
        f"{m['mode_id']}:{m['number']}" for m in cells[_DELETED_MODES]
    )
    for i in _JSON:
        if cells[i] is not None:
            cells[i] = json.dumps(cells[i], separators=(",", ":"), ensure_ascii=False)
    for i in _TEXT:
        text = cells[i]
        if text and text.startswith(_FORMULA_START) and _FORMULA.match(text):
            cells[i] = "'" + text
    return cells


def csv_lines(queryset: QuerySet) -> Iterator[str]:
    """The header, then one CSV line per entry of `queryset`, in its order."""
    writer = csv.writer(_Line())
    yield writer.writerow([header for header, _ in COLUMNS])
    rows = queryset.values_list(*[path for _, path in COLUMNS], *_ERASED_BY)
    with streaming_reads(queryset.db):
        for row in rows.iterator(chunk_size=CHUNK_SIZE):
            yield writer.writerow(_cells(row))


def _chunks(lines: Iterable[str], size: int = 64 * 1024) -> Iterator[bytes]:
    """Group lines into ~64 KiB writes: one per line would cost a syscall each."""
    buffer, length = [], 0
    for line in lines:
        buffer.append(line)
        length += len(line)
        if length >= size:
            yield "".join(buffer).encode()
            buffer, length = [], 0
    if buffer:
        yield "".join(buffer).encode()


def csv_response(queryset: QuerySet, *, name: str = "mode-changes") -> StreamingHttpResponse:
    """A streamed CSV download of `queryset` (already filtered and ordered).

    The first chunk is made here, in the view: the query runs and its first
    rows are read before the answer starts, so a failure then (the database
    gone, an entry that cannot be written) is the view's own error — JSON
    under /api/ — instead of gunicorn's plain-text 500. A failure further
    on can only cut the download short; gunicorn logs it (gunicorn.conf.py).
    """
    stamp = timezone.now().astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    chunks = _chunks(csv_lines(queryset))
    first = next(chunks)
    response = StreamingHttpResponse(
        itertools.chain([first], chunks), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response
