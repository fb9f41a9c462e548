"""What every door checks in what a client sends: text, integers, moments.

One rule, one place. The envelope (`source` and every data field), the
intake API (bodies and path parameters), the audit log's filters (API,
CSV export, admin), the console's list filters and account imports all
call these, so a value that one door refuses no other door lets through.
(The admin's forms are Django form fields, which refuse a NUL themselves;
a browser's form or URL cannot carry a lone surrogate.)

- **text** (`text_problem`): at most a length; no NUL character (PostgreSQL
  cannot store one, and SQLite cuts or keeps it depending on the path); no
  unpaired UTF-16 surrogate (`"\\ud800"` in JSON: not encodable as UTF-8,
  so neither the database nor the audit hash can take it). Other control
  and format characters are stored as given (a tab or a newline in a
  callid is the dialer's business), and shown escaped where it matters.
- **integers given as text** (`bounded_int`): the digits are counted
  *before* the conversion (Python refuses to convert more than 4,300
  digits, with an exception that was a 500), then the value is bounded to
  what the column holds.
- **moments** (`moment_problem`): a date-time must lie, in UTC, between
  `0001-01-01T00:00:00Z` and `9999-12-31T23:59:59.999999Z`: what Python's
  datetime (hence SQLite through Django) holds; PostgreSQL holds more.
  `0001-01-01T00:00:00+14:00` is before that range in UTC.

The texts are constants; tests import them.
"""

from __future__ import annotations

import datetime as dt
import re

# --- Messages (a field name or the form's label goes in front) ----------------

NUL_CHARACTER = "must not contain a NUL character (\\u0000)."
UNPAIRED_SURROGATE = "must be valid Unicode text: it holds an unpaired surrogate ({codepoint})."
TOO_LONG = "must be at most {max} characters."
NOT_WHOLE_NUMBER = "must be a whole number, e.g. 1."
OUT_OF_RANGE = "must be between {min} and {max}."
EARLIEST = "0001-01-01T00:00:00Z"
LATEST = "9999-12-31T23:59:59.999999Z"
MOMENT_OUT_OF_RANGE = f"must lie between {EARLIEST} and {LATEST} (in UTC)."

# The widest integer columns (BigAutoField, seq): signed 64 bits.
MAX_BIGINT = 2**63 - 1

_SURROGATE = re.compile(r"[\ud800-\udfff]")
_DIGITS = re.compile(r"\s*\+?0*([0-9]+)\s*", re.ASCII)


def text_problem(value: str, *, max_length: int | None = None) -> str | None:
    """Why `value` cannot be stored as given (one of the messages above), or None."""
    if "\x00" in value:
        return NUL_CHARACTER
    surrogate = _SURROGATE.search(value)
    if surrogate:
        return UNPAIRED_SURROGATE.format(codepoint=f"U+{ord(surrogate.group()):04X}")
    if max_length is not None and len(value) > max_length:
        return TOO_LONG.format(max=max_length)
    return None


def printable(value: str) -> str:
    """`value` safe to echo in a message: NUL and surrogates escaped."""
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", value).replace("\x00", "\\u0000")


class OutOfBounds(ValueError):
    """A value refused by `bounded_int`; its text is one of the messages above."""


def bounded_int(text: str, *, minimum: int, maximum: int) -> int:
    """`text` (ASCII digits, an optional `+`, surrounding spaces) as an int
    within [minimum, maximum]; raises OutOfBounds with the reason.

    Leading zeros are dropped and the digits counted before `int()` runs,
    so no length of input reaches Python's digit limit.
    """
    match = _DIGITS.fullmatch(text)
    if match is None:
        raise OutOfBounds(NOT_WHOLE_NUMBER)
    digits = match.group(1)
    if len(digits) > len(str(maximum)):
        raise OutOfBounds(OUT_OF_RANGE.format(min=minimum, max=maximum))
    value = int(digits)
    if not minimum <= value <= maximum:
        raise OutOfBounds(OUT_OF_RANGE.format(min=minimum, max=maximum))
    return value


def moment_problem(moment: dt.datetime) -> str | None:
    """Why an aware datetime cannot be stored or compared on both databases."""
    try:
        moment.astimezone(dt.UTC)
    except OverflowError:
        return MOMENT_OUT_OF_RANGE
    return None


def after(moment: dt.datetime, delta: dt.timedelta) -> dt.datetime | None:
    """`moment + delta`, or None when that is past the end of the calendar
    (an upper bound past `LATEST` bounds nothing)."""
    try:
        later = moment + delta
        later.astimezone(dt.UTC)
    except OverflowError:
        return None
    return later


# --- The vendor's dates (DD/MM/YYYY) ---------------------------------------------

VENDOR_DATE = "must be a date as DD/MM/YYYY, e.g. 31/12/2026."
NO_SUCH_DAY = "is not a day of the calendar ({text})."
# DD/MM/YYYY with the days each month can have (29/02 included: whether a
# year has it is the calendar's business, `vendor_date`). The OpenAPI
# schema publishes this very pattern.
VENDOR_DATE_PATTERN = (
    r"^\s*(?:(?:0[1-9]|1[0-9]|2[0-9])/(?:0[1-9]|1[0-2])|30/(?:0[13-9]|1[0-2])"
    r"|31/(?:0[13578]|1[02]))/[0-9]{4}\s*$"
)
_VENDOR_DATE = re.compile(VENDOR_DATE_PATTERN, re.ASCII)


class NoSuchDay(ValueError):
    """A well-formed DD/MM/YYYY the calendar lacks (29/02/2027, year 0000)."""


def vendor_date(text: str) -> dt.date:
    """`text` as the vendor's `DD/MM/YYYY` (two digits, two digits, four;
    surrounding spaces allowed). Not that shape: ValueError(`VENDOR_DATE`);
    that shape but no such day: NoSuchDay(`NO_SUCH_DAY`)."""
    if _VENDOR_DATE.fullmatch(text) is None:
        raise ValueError(VENDOR_DATE)
    day, month, year = (int(part) for part in text.strip().split("/"))
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise NoSuchDay(NO_SUCH_DAY.format(text=text.strip())) from None
