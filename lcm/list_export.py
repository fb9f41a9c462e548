"""CSV export of the console's lists (accounts, the do-not-call list),
streamed in constant memory like the audit log's (`lcm.audit.export`):
rows are read in chunks and written as they come, cells a spreadsheet would
run as formulas are defused, times are UTC ISO 8601."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from .audit import streaming_reads
from .audit.export import _FORMULA, _FORMULA_START, CHUNK_SIZE, _chunks, _Line
from .models import ContactMode

ACCOUNT_COLUMNS = [
    "account_number",
    "first_name",
    "last_name",
    "campaign",
    "country",
    "time_zone",
    "zip_code",
    "created_at",
]
DO_NOT_CALL_COLUMNS = [
    "scope",
    "number",
    "number_e164",
    "account_number",
    "campaign",
    "reason",
    "comments",
    "added_at",
    "added_by",
    "agent_code",
    "callid",
    "starts_at",
    "expires_at",
    "lifted_at",
    "lifted_by",
    "lift_reason",
]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = str(value)
    if text.startswith(_FORMULA_START) and _FORMULA.match(text):
        return "'" + text
    return text


def _batches(rows, size: int = CHUNK_SIZE):
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _keyset_pages(rows: QuerySet, size: int = CHUNK_SIZE) -> Iterator[list]:
    """`rows` (a values_list whose first column is the pk) page by page, in pk
    order, each page its own short query (`pk > last`): constant memory on
    every database, and no transaction held open for the whole list, so a
    background job can record its progress between pages."""
    last = None
    ordered = rows.order_by("pk")
    while True:
        page = ordered if last is None else ordered.filter(pk__gt=last)
        batch = list(page[:size])
        if not batch:
            return
        yield batch
        last = batch[-1][0]


def _streamed(rows: QuerySet) -> Iterator[list]:
    """`rows` in batches from one server-side cursor (PostgreSQL, in a
    transaction: `streaming_reads`), as a request streams them."""
    with streaming_reads(rows.db):
        yield from _batches(rows.iterator(chunk_size=CHUNK_SIZE))


def account_lines(queryset: QuerySet, *, paged: bool = False) -> Iterator[str]:
    """One line per account, with its live modes ("1:6491462346; 2:…"):
    one query for the modes of each chunk of accounts. `paged`: in pk order,
    page by page (`_keyset_pages`, the background export); otherwise in the
    queryset's order from one cursor (the console's filtered download)."""
    writer = csv.writer(_Line())
    yield writer.writerow([*ACCOUNT_COLUMNS, "modes"])
    rows = queryset.values_list("pk", *ACCOUNT_COLUMNS)
    for batch in _keyset_pages(rows) if paged else _streamed(rows):
        modes: dict[int, list[str]] = {}
        live = (
            ContactMode.objects.filter(account_id__in=[row[0] for row in batch], deleted_at=None)
            .order_by("account_id", "mode_type_id")
            .values_list("account_id", "mode_type_id", "number")
        )
        for account_id, mode_id, number in live:
            modes.setdefault(account_id, []).append(f"{mode_id}:{number}")
        for pk, *cells in batch:
            yield writer.writerow([*map(_cell, cells), "; ".join(modes.get(pk, []))])


def do_not_call_lines(queryset: QuerySet, *, paged: bool = False) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(DO_NOT_CALL_COLUMNS)
    rows = queryset.values_list("pk", *DO_NOT_CALL_COLUMNS)
    for batch in _keyset_pages(rows) if paged else _streamed(rows):
        for _pk, *row in batch:
            yield writer.writerow([_cell(value) for value in row])


def download(lines: Iterator[str], name: str) -> StreamingHttpResponse:
    """A streamed CSV attachment; its first chunk is made in the view, so a
    failure of the query is the view's own error (as the audit export)."""
    stamp = timezone.now().astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    chunks = _chunks(lines)
    first = next(chunks)
    response = StreamingHttpResponse(
        itertools.chain([first], chunks), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response
