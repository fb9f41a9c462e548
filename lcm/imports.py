"""Reading account imports: CSV and JSON Lines, one account per row.

This module parses and validates; it writes nothing. `read_csv` and
`read_jsonl` stream the file (one line in memory at a time) and yield, in
file order, an `ImportRow` for every valid row and a `Rejected` for every
bad one, naming its line. A problem with the file itself (empty, binary, a
bad header, broken CSV quoting) raises `ImportFileError`; rows already
yielded stay valid. `lcm.actions.imports.import_accounts` writes the rows.

Columns (CSV header, or JSON Lines keys), matched case-insensitively:

- ``AccountNumber`` (required): the LCM key;
- ``FirstName``, ``LastName``, ``Campaign``, ``Country``, ``TimeZone``,
  ``ZipCode`` (optional): when the file has the column, the account's field
  is set to it (empty included). ``Country`` is an ISO 3166 code (``US``),
  ``TimeZone`` an IANA zone (``America/New_York``);
- one column per mode: ``Mode<ModeID>`` (``Mode1``) or the mode type's name
  (``Home``). A number is checked exactly as SetNewModeNumber checks
  ContactNumber (`lcm.numbers.clean_for_mode`). An empty cell leaves that
  mode as it is: an import adds and changes numbers, it never deletes one;
- one consent column per mode: the mode's column name followed by ``PEWC``
  (``Mode1PEWC``, ``Home PEWC``): ``true``/``false`` (also ``yes``/``no``,
  ``1``/``0``) grants or withdraws prior express written consent for the
  mode's number, recorded with source ``import``; empty leaves it as it is.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import phonenumbers

from . import inputs
from .conf import lcm_settings
from .dialable import validate_time_zone
from .errors import InvalidNumber
from .models import ModeType
from .numbers import CleanNumber, clean_for_mode, normalise_region

ACCOUNT_NUMBER = "AccountNumber"
NAME_COLUMNS = {
    "FirstName": "first_name",
    "LastName": "last_name",
    "Campaign": "campaign_id",  # a CampaignID; unknown ones are created (lcm.actions.campaigns)
    "Country": "country",
    "TimeZone": "time_zone",
    "ZipCode": "zip_code",
}
MAX_ACCOUNT_NUMBER = 128
MAX_NAME = 100
MAX_ZIP_CODE = 16
CONSENT_VALUES = {"true": True, "yes": True, "y": True, "1": True,
                  "false": False, "no": False, "n": False, "0": False}  # fmt: skip
MAX_NUMBER_AS_GIVEN = 64
SNIFF_BYTES = 8192

_MODE_COLUMN = re.compile(r"mode\s*(\d+)", re.IGNORECASE)
_CONSENT_COLUMN = re.compile(r"(.+?)[\s_-]*pewc", re.IGNORECASE)
_UNDECODABLE = re.compile(r"[\udc80-\udcff]")

# Texts of file-level errors and row rejections (tests import them).
EMPTY_FILE = "The file is empty: expected a header line starting with AccountNumber."
NO_ROWS = "The file has no rows to import."
BINARY_FILE = (
    "The file contains NUL bytes: it is binary, or UTF-16 text. "
    "Save it as CSV (UTF-8) or JSON Lines (UTF-8)."
)
NO_ACCOUNT_COLUMN = "The header has no AccountNumber column."
UNNAMED_COLUMN = "Column {n} of the header has no name."
DUPLICATE_COLUMN = "Column {name!r} names the same field as column {other!r}."
UNKNOWN_COLUMN = "Unknown column {name!r}. Columns are: {known}."
UNDEFINED_MODE = "Column {name!r}: ModeID {mode_id} is not a defined mode type."
BAD_CSV = "Line {line}: malformed CSV ({error}); reading stopped here."
CELL_TOO_LONG = "a cell is longer than {limit:,} characters; the row is skipped"
WRONG_FIELD_COUNT = "has {n} fields; the header has {expected}"
MISSING_ACCOUNT = "AccountNumber is empty"
TOO_LONG = "{column}: longer than {max} characters"
UNDECODABLE = "{column}: not valid {encoding} text (save the file as UTF-8, or pass --encoding)"
NOT_JSON = "not valid JSON ({error})"
NOT_AN_OBJECT = "not a JSON object"
NOT_A_STRING = "{column}: must be a JSON string or null"
BAD_CONSENT = "{column}: {value!r} is not a consent value; use true or false (or leave it empty)"
BAD_COUNTRY = "{column}: {reason}"
BAD_TIME_ZONE = "{column}: {reason}"


class ImportFileError(Exception):
    """The file cannot be read (further): nothing after this point imports."""


@dataclass(frozen=True)
class ImportMode:
    mode_type: ModeType
    clean: CleanNumber
    as_given: str
    column: str = ""  # the file's name of the column ("Home", "Mode1"); "" for Mode<ModeID>

    @property
    def label(self) -> str:
        """The column as a rejection names it: as the file named it."""
        return self.column or f"Mode{self.mode_type.id}"


@dataclass(frozen=True)
class ImportRow:
    """One valid row: the account's key, the name fields the file sets, and
    the modes it gives a number for, by ModeID."""

    line: int
    account_number: str
    names: dict[str, str] = field(default_factory=dict)
    modes: dict[int, ImportMode] = field(default_factory=dict)
    consent: dict[int, bool] = field(default_factory=dict)
    consent_columns: dict[int, str] = field(default_factory=dict)  # the file's names of them
    fingerprint: str = ""  # of its cells (`cells_fingerprint`); "" for a row built by hand

    def mode_column(self, mode_id: int) -> str:
        """Mode `mode_id`'s number column, as the file named it."""
        return self.modes[mode_id].label if mode_id in self.modes else f"Mode{mode_id}"

    def consent_column(self, mode_id: int) -> str:
        """Mode `mode_id`'s consent column, as the file named it."""
        return self.consent_columns.get(mode_id) or f"Mode{mode_id}PEWC"


@dataclass(frozen=True)
class Rejected:
    line: int
    account_number: str
    reason: str

    def __str__(self) -> str:
        key = f" (AccountNumber {self.account_number})" if self.account_number else ""
        # Undecodable bytes show as U+FFFD: the report itself must be printable.
        return _UNDECODABLE.sub("\ufffd", f"line {self.line}{key}: {self.reason}")


@dataclass(frozen=True)
class Column:
    """What a header cell or JSON key means: a name field or a mode."""

    label: str
    field: str | None = None  # "account_number", "first_name", …
    mode_type: ModeType | None = None
    consent: bool = False  # the mode's PEWC column, not its number

    @property
    def key(self) -> bytes:
        """What the column means to validation, for `cells_fingerprint`: its
        field, or its mode type's id and bounds (and PEWC)."""
        key = self.__dict__.get("_key")
        if key is None:
            if self.mode_type is None:
                key = f"f:{self.field}"
            else:
                m = self.mode_type
                key = f"m:{m.id}:{m.min_length}:{m.max_length}:{m.name}:{int(self.consent)}"
            key = key.encode("utf-8", "surrogateescape")
            object.__setattr__(self, "_key", key)
        return key


FINGERPRINT_VERSION = b"lcm-import-cells-2"


def _context() -> bytes:
    """What validation depends on beyond a row's cells: the default region
    (numbers without + are read there, strictly) and the phone-number
    metadata's version."""
    return b"%s|%s|%s" % (
        FINGERPRINT_VERSION,
        lcm_settings.LCM_DEFAULT_REGION.upper().encode(),
        phonenumbers.__version__.encode(),
    )


def cells_fingerprint(values: list[tuple[Column, str | None]]) -> str:
    """A digest of a row's cells as validation reads them (each stripped,
    with what its column means; not the key) and of `_context`: two rows with one print
    validate alike, so a row whose print its account stored is the row it
    was last imported from (`lcm.actions.imports`), known before validating
    it (`Deferred`)."""
    digest = hashlib.blake2b(_context(), digest_size=16)
    for column, raw in values:
        if column.field == "account_number":
            continue  # the key the print is stored under
        digest.update(column.key)
        digest.update(b"=")
        digest.update((raw or "").strip().encode("utf-8", "surrogateescape"))
        digest.update(b"\x1f")
    return digest.hexdigest()


class Deferral:
    """Whether a reader may hand over rows unvalidated (`Deferred`): the
    importer turns it on while the rows it gets are mostly unchanged ones,
    whose validation it then skips. Shared by the reader's thread and the
    importer's."""

    def __init__(self) -> None:
        self._on = threading.Event()

    def __bool__(self) -> bool:
        return self._on.is_set()

    def set(self, on: bool) -> None:
        if on:
            self._on.set()
        else:
            self._on.clear()


@dataclass(frozen=True)
class Deferred:
    """A row not validated yet, with what the importer needs to recognise
    it unchanged: its key and print, the name cells (stripped, by field),
    and the ModeIDs it gives a number for with their columns' labels.
    `validated()` is the `ImportRow` or `Rejected` the reader would have
    yielded."""

    line: int
    account_number: str
    fingerprint: str
    names: dict[str, str]
    mode_columns: dict[int, str]
    values: list[tuple[Column, str | None]]
    encoding: str

    def validated(self) -> ImportRow | Rejected:
        return validate_row(self.line, self.values, encoding=self.encoding)

    def mode_column(self, mode_id: int) -> str:
        return self.mode_columns.get(mode_id) or f"Mode{mode_id}"


def deferred_row(line: int, values: list[tuple[Column, str | None]], *, encoding: str) -> Deferred:
    """The row as `Deferred`: its cells read, none checked."""
    account_number, names, mode_columns = "", {}, {}
    for column, raw in values:
        text = (raw or "").strip()
        if column.field == "account_number":
            account_number = text
        elif column.field:
            names[column.field] = text
        elif text and not column.consent:
            mode_columns[column.mode_type.id] = column.label
    return Deferred(line, account_number, cells_fingerprint(values), names, mode_columns,
                    values, encoding)  # fmt: skip


class Columns:
    """Resolves column names against the fields and the defined mode types."""

    def __init__(self, mode_types: Iterable[ModeType]):
        self.mode_types = {m.id: m for m in mode_types}
        self._by_name = {m.name.casefold(): m for m in self.mode_types.values()}
        self._fields = {ACCOUNT_NUMBER.casefold(): "account_number"} | {
            name.casefold(): attr for name, attr in NAME_COLUMNS.items()
        }

    def known(self) -> str:
        modes = ", ".join(f"Mode{m.id} or {m.name}" for m in self.mode_types.values())
        consent = " (each followed by PEWC for its consent, e.g. Mode1PEWC)" if modes else ""
        return f"{ACCOUNT_NUMBER}, {', '.join(NAME_COLUMNS)}" + (
            f", {modes}{consent}" if modes else ""
        )

    def resolve(self, name: str) -> Column:
        """The column called `name`; raises ValueError with the reason."""
        label = name.strip()
        consent = _CONSENT_COLUMN.fullmatch(label)
        if consent and consent.group(1).casefold() not in self._fields:
            mode = self.resolve(consent.group(1))
            if mode.mode_type is not None:
                return Column(label, mode_type=mode.mode_type, consent=True)
        key = label.casefold()
        if key in self._fields:
            return Column(label, field=self._fields[key])
        if key in self._by_name:
            return Column(label, mode_type=self._by_name[key])
        match = _MODE_COLUMN.fullmatch(key)
        if match:
            mode_id = int(match.group(1))
            if mode_id not in self.mode_types:
                raise ValueError(UNDEFINED_MODE.format(name=label, mode_id=mode_id))
            return Column(label, mode_type=self.mode_types[mode_id])
        raise ValueError(UNKNOWN_COLUMN.format(name=label, known=self.known()))


def validate_row(
    line: int, values: list[tuple[Column, str | None]], *, encoding: str
) -> ImportRow | Rejected:
    """Check one row's cells; every problem of the row is reported at once."""
    problems: list[str] = []
    account_number = ""
    names: dict[str, str] = {}
    modes: dict[int, ImportMode] = {}
    consent: dict[int, bool] = {}
    consent_columns: dict[int, str] = {}
    country = ""
    for column, raw in values:
        if column.field == "country":
            country = (raw or "").strip().upper()
    for column, raw in values:
        text = (raw or "").strip()
        if _UNDECODABLE.search(text):
            problems.append(UNDECODABLE.format(column=column.label, encoding=encoding))
            continue
        problem = inputs.text_problem(text)  # a NUL, or a "\ud800" in JSON Lines
        if problem:
            problems.append(f"{column.label}: {problem}")
            continue
        if column.field == "account_number":
            account_number = text
            if len(text) > MAX_ACCOUNT_NUMBER:
                problems.append(TOO_LONG.format(column=column.label, max=MAX_ACCOUNT_NUMBER))
        elif column.field == "country":
            try:
                names["country"] = normalise_region(text)
            except ValueError as exc:
                problems.append(BAD_COUNTRY.format(column=column.label, reason=exc))
        elif column.field == "time_zone":
            try:
                names["time_zone"] = validate_time_zone(text) if text else ""
            except ValueError as exc:
                problems.append(BAD_TIME_ZONE.format(column=column.label, reason=exc))
        elif column.field:
            limit = MAX_ZIP_CODE if column.field == "zip_code" else MAX_NAME
            if len(text) > limit:
                problems.append(TOO_LONG.format(column=column.label, max=limit))
            names[column.field] = text
        elif column.consent:
            if text:
                value = CONSENT_VALUES.get(text.casefold())
                if value is None:
                    problems.append(BAD_CONSENT.format(column=column.label, value=text[:20]))
                else:
                    consent[column.mode_type.id] = value
                    consent_columns[column.mode_type.id] = column.label
        elif text:
            if len(text) > MAX_NUMBER_AS_GIVEN:
                problems.append(TOO_LONG.format(column=column.label, max=MAX_NUMBER_AS_GIVEN))
                continue
            try:
                clean = clean_for_mode(text, column.mode_type, country=country)
            except InvalidNumber as exc:
                problems.append(f"{column.label}: {exc.message}")
                continue
            modes[column.mode_type.id] = ImportMode(column.mode_type, clean, text, column.label)
    if not account_number:
        problems.insert(0, MISSING_ACCOUNT)
    if problems:
        shown = account_number if len(account_number) <= MAX_ACCOUNT_NUMBER else ""
        return Rejected(line, shown, "; ".join(problems))
    return ImportRow(
        line, account_number, names, modes, consent, consent_columns, cells_fingerprint(values)
    )


def _sniff(stream: BinaryIO) -> None:
    sample = stream.read(SNIFF_BYTES)
    stream.seek(0)
    if not sample.strip():
        raise ImportFileError(EMPTY_FILE)
    if b"\0" in sample:
        raise ImportFileError(BINARY_FILE)


def _decoded_lines(stream: BinaryIO, encoding: str) -> Iterator[str]:
    """The file's lines as text, one at a time. Bytes that do not decode
    become lone surrogates, which `validate_row` rejects with the line."""
    first = True
    for raw in stream:
        if first and raw.startswith(b"\xef\xbb\xbf") and encoding.lower().startswith("utf"):
            raw = raw[3:]  # the byte-order mark Excel writes
        first = False
        yield raw.decode(encoding, errors="surrogateescape")


def read_csv(
    stream: BinaryIO,
    *,
    mode_types: Iterable[ModeType],
    encoding: str = "utf-8",
    delimiter: str = ",",
    defer: Deferral | None = None,
) -> Iterator[ImportRow | Rejected | Deferred]:
    """Rows of a CSV file with a header line (see the module docstring).
    While `defer` is on, well-formed rows come as `Deferred`."""
    _sniff(stream)
    columns = Columns(mode_types)
    lines = _RecordLines(_decoded_lines(stream, encoding), delimiter)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    header = _read_header(reader, columns, encoding)
    rows = 0
    while True:
        start = lines.count + 1
        lines.begin_record()
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if not str(exc).startswith("field larger than field limit"):
                raise ImportFileError(BAD_CSV.format(line=start, error=exc)) from None
            # One over-long cell costs its row only: the reader starts
            # afresh on the next line, once past the rest of that row.
            rows += 1
            lines.skip_rest_of_record()
            yield Rejected(start, "", CELL_TOO_LONG.format(limit=csv.field_size_limit()))
            continue
        if not any(cell.strip() for cell in cells):
            continue  # a blank line, or a spreadsheet's trailing ",,,"
        rows += 1
        if len(cells) != len(header):
            key = (
                cells[header.index_of_account].strip()
                if header.index_of_account < len(cells)
                else ""
            )
            yield Rejected(start, key, WRONG_FIELD_COUNT.format(n=len(cells), expected=len(header)))
            continue
        values = list(zip(header.columns, cells, strict=True))
        if defer:
            yield deferred_row(start, values, encoding=encoding)
        else:
            yield validate_row(start, values, encoding=encoding)
    if not rows:
        raise ImportFileError(NO_ROWS)


# Where a CSV line leaves the parser (the `csv` module's default dialect:
# `"` quotes, doubled inside a quoted cell): outside a quoted cell, inside
# one, or just after a quote inside one.
_OUT, _QUOTED, _QUOTE_SEEN = range(3)


def _scan(state: int, line: str, delimiter: str) -> int:
    """The parser's state after `line` (with its line break), from `state`."""
    field_start, previous = 0, -2
    for match in re.finditer(f'["\r\n{re.escape(delimiter)}]', line):
        char, pos = match.group(), match.start()
        if state == _QUOTED:
            if char == '"':
                state, previous = _QUOTE_SEEN, pos
            continue
        if state == _QUOTE_SEEN:
            if char == '"' and pos == previous + 1:
                state = _QUOTED  # a doubled quote inside the cell
                continue
            state = _OUT
        if char == '"':
            if pos == field_start:
                state = _QUOTED
        else:
            field_start = pos + 1
    return state


class _RecordLines:
    """The decoded lines the CSV reader reads, counted, keeping those of the
    record being read so that a rejected record can be skipped to its end
    (a quoted cell may span lines)."""

    def __init__(self, lines: Iterator[str], delimiter: str):
        self._lines = lines
        self._delimiter = delimiter
        self._record: list[str] = []
        self._skipping = _OUT
        self.count = 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        while True:
            line = next(self._lines)
            self.count += 1
            if self._skipping == _OUT:
                self._record.append(line)
                return line
            self._skipping = _scan(self._skipping, line, self._delimiter)

    def begin_record(self) -> None:
        self._record = []

    def skip_rest_of_record(self) -> None:
        state = _OUT
        for line in self._record:
            state = _scan(state, line, self._delimiter)
        self._skipping = _OUT if state == _OUT else _QUOTED
        self._record = []


@dataclass(frozen=True)
class _Header:
    columns: list[Column]
    index_of_account: int

    def __len__(self) -> int:
        return len(self.columns)


def _read_header(reader, columns: Columns, encoding: str) -> _Header:
    try:
        cells = next((row for row in reader if any(c.strip() for c in row)), None)
    except csv.Error as exc:
        raise ImportFileError(BAD_CSV.format(line=reader.line_num, error=exc)) from None
    if cells is None:
        raise ImportFileError(EMPTY_FILE)
    resolved: list[Column] = []
    problems: list[str] = []
    seen: dict[object, str] = {}
    for n, name in enumerate(cells, start=1):
        if _UNDECODABLE.search(name):
            problems.append(UNDECODABLE.format(column=f"header column {n}", encoding=encoding))
            continue
        if not name.strip():
            problems.append(UNNAMED_COLUMN.format(n=n))
            continue
        column = _claim(columns, name, seen, problems)
        if column is not None:
            resolved.append(column)
    if "account_number" not in seen and not problems:
        problems.append(NO_ACCOUNT_COLUMN)
    if problems:
        raise ImportFileError(f"Line {reader.line_num} (the header): " + " ".join(problems))
    index = next(i for i, c in enumerate(resolved) if c.field == "account_number")
    return _Header(resolved, index)


def _claim(columns: Columns, name: str, seen: dict[object, str], problems: list[str]):
    """The column a CSV header cell or a JSON key names, once per target:
    None (and the reason in `problems`) for an unknown name or a second
    name for a target already `seen`."""
    try:
        column = columns.resolve(name)
    except ValueError as exc:
        problems.append(str(exc))
        return None
    target = column.field or (column.mode_type.id, column.consent)
    if target in seen:
        problems.append(DUPLICATE_COLUMN.format(name=column.label, other=seen[target]))
        return None
    seen[target] = column.label
    return column


def read_jsonl(
    stream: BinaryIO,
    *,
    mode_types: Iterable[ModeType],
    encoding: str = "utf-8",
    defer: Deferral | None = None,
) -> Iterator[ImportRow | Rejected | Deferred]:
    """Rows of a JSON Lines file: one object per line, keyed like the CSV
    columns, values strings (or null for an empty cell). While `defer` is
    on, well-formed rows come as `Deferred`."""
    _sniff(stream)
    columns = Columns(mode_types)
    rows = 0
    for line, text in enumerate(_decoded_lines(stream, encoding), start=1):
        if not text.strip():
            continue
        rows += 1
        try:
            obj = json.loads(text)
        except ValueError as exc:
            reason = (
                UNDECODABLE.format(column="the line", encoding=encoding)
                if _UNDECODABLE.search(text)
                else NOT_JSON.format(error=exc)
            )
            yield Rejected(line, "", reason)
            continue
        if not isinstance(obj, dict):
            yield Rejected(line, "", NOT_AN_OBJECT)
            continue
        yield _validate_object(line, obj, columns, encoding, defer)
    if not rows:
        raise ImportFileError(NO_ROWS)


def _validate_object(line: int, obj: dict, columns: Columns, encoding: str, defer=None):
    values: list[tuple[Column, str | None]] = []
    problems: list[str] = []
    seen: dict[object, str] = {}
    for key, value in obj.items():
        column = _claim(columns, key, seen, problems)
        if column is None:
            continue
        if value is not None and not isinstance(value, str):
            problems.append(NOT_A_STRING.format(column=column.label))
            continue
        values.append((column, value))
    account = obj.get(ACCOUNT_NUMBER)
    account = account.strip() if isinstance(account, str) else ""
    if problems:
        return Rejected(line, account[:MAX_ACCOUNT_NUMBER], "; ".join(problems))
    if defer:
        return deferred_row(line, values, encoding=encoding)
    return validate_row(line, values, encoding=encoding)
