"""Time zones and calling windows of a dialable mode: pure functions, no database.

The contract is ``shared/spec/dialable-modes.md`` sections 1 and 2. Nothing here
reads Django settings or the database: the caller passes the account's values
and the configured default, so the same code serves the API, the admin, the
import and start-up checks, and is tested with fixed clocks.

Where a mode's candidate zones come from (``time_zones``), first that yields:

1. ``mode``    the per-mode override, one zone name;
2. ``number``  phonenumbers' time-zone data for the E.164 number (its
   ``Etc/Unknown`` means unknown); several when the number's area spans zones;
3. ``account`` the account's ``TimeZone``;
4. ``zip``     the account's US ZIP code, through the ``zipcodes`` package's
   offline data, only while the account's country is unknown or one that uses
   US ZIP codes (a German ``10115`` is not a New York ZIP code);
5. ``country`` every zone the tz database (``zone.tab`` of the ``tzdata``
   package) lists for the account's country: errs on the safe side, a window
   must hold in all of them;
6. ``default`` ``LCM_DEFAULT_TIME_ZONE``, passed in;
7. ``""``      none: the zone is unknown and the mode is not callable. Never
   silently UTC.

A name that ``zoneinfo`` does not know is skipped at every level: the
validators refuse such names when they are written, and one bad stored value
must not break a reply.

Rules:

- Primary zone: the candidate the tz database's ``zone.tab`` lists first for
  the number's (or account's) country, where the tz maintainers put the most
  populous zone first; candidates it does not list follow in phonenumbers'
  order (alphabetical). So ``+1 605`` (South Dakota) gives
  ``America/North_Dakota/Center`` before ``America/Denver``.
- More than four candidates: the reply names only the first four
  (``TimeZone``, ``TimeZone1..3``), but the window and ``Callable`` are
  still computed over ALL candidates.
- A window is local wall-clock time, start inclusive, end exclusive
  (08:00-21:00 allows 08:00:00 up to 20:59:59.999999), start strictly before
  end: no window runs over midnight.
- With several zones the window holds only while it holds in every one (the
  strictest overlap), computed on real UTC instants for the date, so
  daylight-saving switches on different dates are honoured.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from importlib import resources
from typing import Literal

import phonenumbers
import zipcodes
from phonenumbers import timezone as phone_timezone

Source = Literal["mode", "number", "account", "zip", "country", "default", ""]

#: How many zones the GetContactModes reply can name: TimeZone, TimeZone1..3.
REPLY_ZONES = 4

#: phonenumbers' answer for a number whose zone it does not know.
UNKNOWN_PHONE_ZONE = "Etc/Unknown"

#: Countries whose addresses use US ZIP codes (the ``zipcodes`` data covers them).
ZIP_COUNTRIES = frozenset({"US", "PR", "VI", "GU", "AS", "MP", "FM", "MH", "PW"})

#: Files in the tz data directories that are not zones a person means.
NOT_ZONES = frozenset({"Factory", "localtime", "posixrules"})

# Messages shown next to a field: constants, so tests import them rather than
# retype them.
TIME_ZONE_EMPTY = "Enter a time zone, such as America/New_York."
TIME_ZONE_UNKNOWN = '"{name}" is not a time zone; use an IANA name such as America/New_York or UTC.'
TIME_ZONE_CASE = '"{name}" is not a time zone; did you mean {suggestion}?'
WINDOW_NOT_TIMES = "The calling window's start and end must both be times of day."
WINDOW_AWARE = "The calling window is local time at the callee; give times without a time zone."
WINDOW_ORDER = (
    "The calling window must end after it starts ({start}-{end} does not); "
    "a window cannot run over midnight."
)
HHMM_INVALID = '"{text}" is not a time; use HH:MM on the 24-hour clock, such as 08:00 or 21:00.'
COUNTRY_EMPTY = "Enter a country as a two-letter ISO 3166 code, such as US."
COUNTRY_UNKNOWN = '"{code}" is not a country code we know; use two letters such as US, GB or DE.'

REASON_CALLABLE = "inside the calling window ({window}) in {where}"
REASON_UNKNOWN_ZONE = "time zone unknown"
REASON_OUTSIDE = "outside the calling window ({window}) in {zone}, where it is {local}"
REASON_NAIVE_NOW = "the current time must carry a time zone"

_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


@dataclass(frozen=True)
class Zones:
    """A mode's candidate zones, primary first, and the level they came from."""

    names: tuple[str, ...] = ()
    source: Source = ""

    @property
    def unknown(self) -> bool:
        """No zone at all: the mode cannot be called, whatever the clock says."""
        return not self.names

    @property
    def primary(self) -> str:
        """The zone the window is expressed in (the reply's ``TimeZone``)."""
        return self.names[0] if self.names else ""

    @property
    def others(self) -> tuple[str, ...]:
        """The other named candidates (``TimeZone1..3``); more are used, not named."""
        return self.names[1:REPLY_ZONES]

    def reply(self) -> tuple[str, str, str, str]:
        """``TimeZone``, ``TimeZone1``, ``TimeZone2``, ``TimeZone3``, ``""`` where none."""
        named = [*self.names[:REPLY_ZONES], "", "", "", ""]
        return (named[0], named[1], named[2], named[3])


@dataclass(frozen=True)
class Window:
    """A local calling window, start inclusive, end exclusive, never over midnight."""

    start: time
    end: time

    def __post_init__(self) -> None:
        validate_window(self.start, self.end)

    def __str__(self) -> str:
        return f"{hhmm(self.start)}-{hhmm(self.end)}"

    def holds_at(self, local: time) -> bool:
        """Whether a local wall-clock time is inside; the end minute itself is not."""
        return self.start <= local < self.end


@dataclass(frozen=True)
class Callability:
    """Whether a mode may be dialled now as far as the clock goes (DNC is the caller's).

    ``local_time`` is the current time in the primary zone (``None`` when the
    zone is unknown), for the admin's "local time now".
    """

    callable: bool
    reason: str
    local_time: datetime | None


# --- validators ---------------------------------------------------------------


def validate_time_zone(name: str) -> str:
    """Return ``name`` if it is an IANA zone ``zoneinfo`` knows, else refuse it.

    Checked against the list of available zones rather than by opening the
    name, so that paths (``../etc``), data files (``zone.tab``) and the
    tz database's placeholders (``Factory``) can never pass.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(TIME_ZONE_EMPTY)
    name = name.strip()
    if name in _available_zones():
        return name
    suggestion = _zones_by_lower_name().get(name.lower())
    if suggestion:
        raise ValueError(TIME_ZONE_CASE.format(name=name, suggestion=suggestion))
    raise ValueError(TIME_ZONE_UNKNOWN.format(name=name))


def validate_window(start: time, end: time) -> tuple[time, time]:
    """Refuse a window that is not two naive times with the end after the start.

    Overnight windows are refused rather than guessed: 21:00-08:00 is far
    more often a typo than a night shift, and the TCPA forbids it anyway.
    """
    if not isinstance(start, time) or not isinstance(end, time):
        raise ValueError(WINDOW_NOT_TIMES)
    if start.tzinfo is not None or end.tzinfo is not None:
        raise ValueError(WINDOW_AWARE)
    if not start < end:
        raise ValueError(WINDOW_ORDER.format(start=hhmm(start), end=hhmm(end)))
    return start, end


def parse_hhmm(text: str) -> time:
    """Parse strict ``HH:MM`` (24 h, two digits each), as the vendor's fields are.

    ``8:00``, ``24:00``, ``08:00:00`` and non-ASCII digits are refused so that
    what is stored is exactly what the reply will print.
    """
    match = _HHMM.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(HHMM_INVALID.format(text=text))
    return time(int(match.group(1)), int(match.group(2)))


def validate_country(code: str) -> str:
    """Return the ISO 3166 alpha-2 code upper-cased if phonenumbers knows the region."""
    if not isinstance(code, str) or not code.strip():
        raise ValueError(COUNTRY_EMPTY)
    upper = code.strip().upper()
    if upper not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(COUNTRY_UNKNOWN.format(code=code.strip()))
    return upper


#: The TCPA's 8 a.m.-9 p.m., the default of every mode type.
DEFAULT_WINDOW = Window(time(8, 0), time(21, 0))


# --- formatting and numbers --------------------------------------------------


def hhmm(value: time) -> str:
    """``08:00``: the reply's time format (seconds are never part of a window)."""
    return f"{value.hour:02d}:{value.minute:02d}"


def area_code(e164: str) -> str:
    """The number's geographical area code, ``""`` when it has none or is unknown.

    The area code (phonenumbers' ``length_of_geographical_area_code``), not
    the national destination code: the field is ``AreaCode`` and tells a
    supervisor where the callee is. ``+1 202`` gives ``202`` (every NANP
    number has one), ``+49 30`` gives ``30``; a UK or German mobile, or any
    number in a plan without areas (Singapore), gives ``""``, where the
    destination code would be a mobile range or just the first digit group.
    Only valid numbers get one: for others the metadata cannot vouch for
    where the code ends.
    """
    number = _parse(e164)
    if number is None or not phonenumbers.is_valid_number(number):
        return ""
    length = phonenumbers.length_of_geographical_area_code(number)
    if length <= 0:
        return ""
    return phonenumbers.national_significant_number(number)[:length]


# --- zones -------------------------------------------------------------------


def time_zones(
    *,
    e164: str,
    override: str = "",
    account_time_zone: str = "",
    account_zip: str = "",
    account_country: str = "",
    default_time_zone: str = "",
) -> Zones:
    """The mode's candidate zones by the precedence in the module docstring."""
    country = account_country.strip().upper()
    levels: tuple[tuple[Source, Callable[[], Iterable[str]]], ...] = (
        ("mode", lambda: (override,)),
        ("number", lambda: _zones_for_number(e164)),
        ("account", lambda: (account_time_zone,)),
        ("zip", lambda: _zones_for_zip(account_zip, country)),
        ("country", lambda: _country_zones(country)),
        ("default", lambda: (default_time_zone,)),
    )
    for source, candidates in levels:
        names = _known(candidates())
        if names:
            return Zones(names, source)
    return Zones()


def effective_window(zones: Zones, window: Window, on: date) -> Window | None:
    """The strictest overlap on the primary zone's date ``on``, in its local time.

    Each zone's window is turned into real UTC intervals for the local dates
    around ``on`` (a zone ahead of the primary may be a day ahead), the
    intervals are intersected, and the part that lies inside the primary's
    window of ``on`` is returned. ``None`` when the zones never share a
    moment that day, or when the zone is unknown.

    Only zones 11 to 13 hours apart can split the overlap into two pieces in
    one day; then the earliest piece is returned (``callable_at`` stays exact).
    """
    if zones.unknown:
        return None
    tz_primary = zoneinfo.ZoneInfo(zones.primary)
    pieces = [_utc_interval(window, on, tz_primary)]
    for name in zones.names[1:]:
        tz = zoneinfo.ZoneInfo(name)
        theirs = [_utc_interval(window, on + timedelta(days=d), tz) for d in (-1, 0, 1)]
        pieces = [
            (max(start, other_start), min(end, other_end))
            for start, end in pieces
            for other_start, other_end in theirs
            if max(start, other_start) < min(end, other_end)
        ]
        if not pieces:
            return None
    start, end = min(pieces)
    return Window(
        start.astimezone(tz_primary).time().replace(fold=0),
        end.astimezone(tz_primary).time().replace(fold=0),
    )


def callable_at(zones: Zones, window: Window, now: datetime) -> Callability:
    """Whether ``now`` is inside ``window`` in every candidate zone.

    Do-not-call is the caller's to check. The reason names the first zone,
    in candidate order, where the window does not hold, with its local time.
    ``now`` must be aware: a naive clock would silently be the server's zone.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(REASON_NAIVE_NOW)
    if zones.unknown:
        return Callability(False, REASON_UNKNOWN_ZONE, None)
    local_primary = now.astimezone(zoneinfo.ZoneInfo(zones.primary))
    for name in zones.names:
        local = now.astimezone(zoneinfo.ZoneInfo(name))
        if not window.holds_at(local.time()):
            reason = REASON_OUTSIDE.format(window=window, zone=name, local=hhmm(local.time()))
            return Callability(False, reason, local_primary)
    where = zones.primary if len(zones.names) == 1 else f"all {len(zones.names)} candidate zones"
    return Callability(True, REASON_CALLABLE.format(window=window, where=where), local_primary)


# --- helpers -----------------------------------------------------------------


def _parse(e164: str) -> phonenumbers.PhoneNumber | None:
    """Parse a ``+``-prefixed number; anything else has no known country here."""
    if not e164 or not e164.startswith("+"):
        return None
    try:
        return phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None


def _zones_for_number(e164: str) -> tuple[str, ...]:
    number = _parse(e164)
    if number is None:
        return ()
    names = phone_timezone.time_zones_for_number(number)
    if not names or UNKNOWN_PHONE_ZONE in names:
        return ()
    region = phonenumbers.region_code_for_number(number) or ""
    return _in_tz_order(names, region)


def _zones_for_zip(zip_code: str, country: str) -> tuple[str, ...]:
    """Zones of a US ZIP (``#####`` or ``#####-####``); ``()`` when it is not one."""
    zip_code = zip_code.strip()
    if not zip_code or (country and country not in ZIP_COUNTRIES):
        return ()
    try:
        matches = zipcodes.matching(zip_code)
    except ValueError:
        return ()
    names = tuple(dict.fromkeys(m.get("timezone") or "" for m in matches))
    return _in_tz_order(names, "US")


def _in_tz_order(names: Iterable[str], region: str) -> tuple[str, ...]:
    """Order zones as ``zone.tab`` lists them for ``region``; unlisted ones after."""
    listed = _country_zones(region)
    rank = {name: i for i, name in enumerate(listed)}
    names = tuple(names)
    return tuple(sorted(names, key=lambda n: (rank.get(n, len(rank)), names.index(n))))


def _known(names: Iterable[str]) -> tuple[str, ...]:
    """Drop empty names and names ``zoneinfo`` does not know, keep order, no repeats."""
    available = _available_zones()
    return tuple(dict.fromkeys(n.strip() for n in names if n and n.strip() in available))


@cache
def _available_zones() -> frozenset[str]:
    """Scanned once: ``available_timezones`` walks the tz directories each call."""
    return frozenset(zoneinfo.available_timezones()) - NOT_ZONES


@cache
def _zones_by_lower_name() -> dict[str, str]:
    return {name.lower(): name for name in _available_zones()}


@cache
def _country_zones(country: str) -> tuple[str, ...]:
    """Zones the tz database's ``zone.tab`` lists for a country, in its order.

    ``zone.tab`` (not ``zone1970.tab``) because it keeps one line per country
    and zone, so each country gets its own zones, and the ``tzdata`` package
    ships it whatever the operating system has.
    """
    if not country:
        return ()
    text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text("utf-8")
    zones = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) >= 3 and fields[0] == country:
            zones.append(fields[2])
    return tuple(zones)


def _utc_interval(window: Window, on: date, tz: zoneinfo.ZoneInfo) -> tuple[datetime, datetime]:
    """The window of local date ``on`` in ``tz`` as UTC instants."""
    start = datetime.combine(on, window.start, tzinfo=tz).astimezone(UTC)
    end = datetime.combine(on, window.end, tzinfo=tz).astimezone(UTC)
    return start, end
