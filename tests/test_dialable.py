"""A mode's time zones and calling window (spec dialable-modes.md sections 1-2).

Pure functions: no database, fixed aware clocks built here.
"""

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from lcm.dialable import (
    COUNTRY_EMPTY,
    COUNTRY_UNKNOWN,
    DEFAULT_WINDOW,
    HHMM_INVALID,
    REASON_CALLABLE,
    REASON_NAIVE_NOW,
    REASON_OUTSIDE,
    REASON_UNKNOWN_ZONE,
    TIME_ZONE_CASE,
    TIME_ZONE_EMPTY,
    TIME_ZONE_UNKNOWN,
    WINDOW_AWARE,
    WINDOW_NOT_TIMES,
    WINDOW_ORDER,
    Window,
    Zones,
    area_code,
    callable_at,
    effective_window,
    hhmm,
    parse_hhmm,
    time_zones,
    validate_country,
    validate_time_zone,
    validate_window,
)

NEW_YORK = ZoneInfo("America/New_York")
CHICAGO = ZoneInfo("America/Chicago")
ANCHORAGE = ZoneInfo("America/Anchorage")

EASTERN_AND_CENTRAL = Zones(("America/New_York", "America/Chicago"), "mode")
NEW_YORK_ONLY = Zones(("America/New_York",), "number")


def at(zone: ZoneInfo, *args: int) -> datetime:
    """An aware instant given as wall-clock time in ``zone``."""
    return datetime(*args, tzinfo=zone)


# --- where zones come from ----------------------------------------------------


def test_the_number_decides_over_the_server_default():
    """A Seattle number is called on Pacific time, whatever the server's zone."""
    zones = time_zones(e164="+12065550100", default_time_zone="America/New_York")

    assert zones == Zones(("America/Los_Angeles",), "number")
    assert zones.reply() == ("America/Los_Angeles", "", "", "")


def test_a_seattle_number_at_eight_in_new_york_is_not_callable_yet():
    zones = time_zones(e164="+12065550100", default_time_zone="America/New_York")

    result = callable_at(zones, DEFAULT_WINDOW, at(NEW_YORK, 2026, 6, 1, 8, 0))

    assert result.callable is False
    assert result.reason == REASON_OUTSIDE.format(
        window="08:00-21:00", zone="America/Los_Angeles", local="05:00"
    )
    assert result.local_time == at(ZoneInfo("America/Los_Angeles"), 2026, 6, 1, 5, 0)


def test_an_alaska_number_spans_two_zones_most_populous_first():
    """907 covers Anchorage and the Aleutians (Adak), an hour behind."""
    zones = time_zones(e164="+19075550100")

    assert zones == Zones(("America/Anchorage", "America/Adak"), "number")
    assert zones.primary == "America/Anchorage"
    assert zones.others == ("America/Adak",)
    assert zones.reply() == ("America/Anchorage", "America/Adak", "", "")


def test_a_south_dakota_number_puts_central_before_mountain():
    """phonenumbers lists America/Denver first (alphabetical); zone.tab's order wins."""
    zones = time_zones(e164="+16055550100")

    assert zones.names == ("America/North_Dakota/Center", "America/Denver")


def test_an_alaska_number_waits_for_eight_on_adak():
    zones = time_zones(e164="+19075550100")

    early = callable_at(zones, DEFAULT_WINDOW, at(ANCHORAGE, 2026, 6, 1, 8, 30))
    later = callable_at(zones, DEFAULT_WINDOW, at(ANCHORAGE, 2026, 6, 1, 9, 0))

    assert early.callable is False
    assert early.reason == REASON_OUTSIDE.format(
        window="08:00-21:00", zone="America/Adak", local="07:30"
    )
    assert later.callable is True
    assert later.reason == REASON_CALLABLE.format(
        window="08:00-21:00", where="all 2 candidate zones"
    )
    assert effective_window(zones, DEFAULT_WINDOW, date(2026, 6, 1)) == Window(
        time(9, 0), time(21, 0)
    )


def test_override_beats_the_number():
    zones = time_zones(
        e164="+12065550100", override="Europe/Paris", default_time_zone="America/New_York"
    )

    assert zones == Zones(("Europe/Paris",), "mode")


def test_an_unknown_override_is_ignored_not_trusted():
    """Validators refuse it on write; a stored bad name must not break a reply."""
    zones = time_zones(e164="+12065550100", override="Mars/Olympus")

    assert zones == Zones(("America/Los_Angeles",), "number")


def test_no_number_and_no_fallback_is_unknown_never_utc():
    zones = time_zones(e164="")

    assert zones == Zones((), "")
    assert zones.unknown is True
    assert zones.primary == ""
    assert zones.reply() == ("", "", "", "")


def test_an_unknown_zone_is_never_callable():
    result = callable_at(Zones(), DEFAULT_WINDOW, datetime(2026, 6, 1, 16, 0, tzinfo=UTC))

    assert result.callable is False
    assert result.reason == REASON_UNKNOWN_ZONE
    assert result.local_time is None
    assert effective_window(Zones(), DEFAULT_WINDOW, date(2026, 6, 1)) is None


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {
                "account_time_zone": "America/Denver",
                "account_zip": "98101",
                "default_time_zone": "UTC",
            },
            Zones(("America/Denver",), "account"),
        ),
        (
            {"account_zip": "98101", "account_country": "US", "default_time_zone": "UTC"},
            Zones(("America/Los_Angeles",), "zip"),
        ),
        ({"account_zip": "20500-0003"}, Zones(("America/New_York",), "zip")),
        (
            {"account_zip": "10115", "account_country": "de"},
            Zones(("Europe/Berlin", "Europe/Busingen"), "country"),
        ),
        ({"account_zip": "ABCDE", "default_time_zone": "UTC"}, Zones(("UTC",), "default")),
        ({"account_zip": "00000", "default_time_zone": "UTC"}, Zones(("UTC",), "default")),
        (
            {"account_country": "FR", "default_time_zone": "UTC"},
            Zones(("Europe/Paris",), "country"),
        ),
        ({"default_time_zone": "Europe/London"}, Zones(("Europe/London",), "default")),
        (
            {"account_time_zone": "Not/AZone", "default_time_zone": "UTC"},
            Zones(("UTC",), "default"),
        ),
    ],
    ids=[
        "account-zone",
        "zip",
        "zip+4",
        "german-postcode-is-not-a-zip",
        "malformed-zip",
        "no-such-zip",
        "country",
        "default",
        "bad-account-zone",
    ],
)
def test_without_a_number_the_account_then_the_default_decide(kwargs, expected):
    assert time_zones(e164="", **kwargs) == expected


def test_a_number_phonenumbers_cannot_place_falls_back_to_the_account():
    """555-5555 is no valid NANP number: phonenumbers answers Etc/Unknown."""
    zones = time_zones(e164="+15555555555", account_time_zone="America/Chicago")

    assert zones == Zones(("America/Chicago",), "account")


def test_digits_without_a_plus_have_no_zone_of_their_own():
    zones = time_zones(e164="2065550100", default_time_zone="America/New_York")

    assert zones == Zones(("America/New_York",), "default")


def test_a_country_with_many_zones_names_four_but_uses_all():
    """US from the account's Country: 29 zones; the reply names the first four
    (all Eastern), yet Hawaii narrows the window to 13:00-21:00 New York time."""
    zones = time_zones(e164="", account_country="US")

    assert zones.source == "country"
    assert len(zones.names) > 4
    assert "Pacific/Honolulu" in zones.names
    assert zones.reply() == (
        "America/New_York",
        "America/Detroit",
        "America/Kentucky/Louisville",
        "America/Kentucky/Monticello",
    )
    assert effective_window(zones, DEFAULT_WINDOW, date(2026, 1, 15)) == Window(
        time(13, 0), time(21, 0)
    )
    at_noon = callable_at(zones, DEFAULT_WINDOW, at(NEW_YORK, 2026, 1, 15, 12, 0))
    assert at_noon.callable is False
    assert "Pacific/Honolulu" not in zones.reply()


# --- the strictest overlap ------------------------------------------------------


def test_eastern_and_central_overlap_from_nine_new_york_time():
    window = effective_window(EASTERN_AND_CENTRAL, DEFAULT_WINDOW, date(2026, 6, 1))

    assert window == Window(time(9, 0), time(21, 0))


@pytest.mark.parametrize(
    ("on", "end"),
    [
        (date(2026, 3, 2), time(16, 0)),  # both on winter time: 5 hours apart
        (date(2026, 3, 8), time(17, 0)),  # the US springs forward this morning
        (date(2026, 3, 16), time(17, 0)),  # US on summer time, EU not yet: 4 hours
        (date(2026, 3, 30), time(16, 0)),  # both on summer time again
        (date(2026, 10, 28), time(17, 0)),  # EU back on winter time, US not yet
    ],
)
def test_new_york_and_london_across_the_march_dst_gap(on, end):
    zones = Zones(("America/New_York", "Europe/London"), "mode")

    assert effective_window(zones, DEFAULT_WINDOW, on) == Window(time(8, 0), end)


def test_the_overlap_follows_the_primary_zones_date():
    """Guam is a day ahead of New York: Guam's Thursday morning is New York's
    Wednesday evening, and that is the overlap, not nothing."""
    zones = Zones(("Pacific/Guam", "America/New_York"), "mode")
    guam = ZoneInfo("Pacific/Guam")

    assert effective_window(zones, DEFAULT_WINDOW, date(2026, 1, 15)) == Window(
        time(8, 0), time(12, 0)
    )
    assert callable_at(zones, DEFAULT_WINDOW, at(guam, 2026, 1, 15, 11, 59)).callable is True
    assert callable_at(zones, DEFAULT_WINDOW, at(guam, 2026, 1, 15, 12, 0)).callable is False


def test_zones_that_never_share_the_window_have_none():
    zones = Zones(("America/New_York", "Europe/London"), "mode")
    mornings = Window(time(9, 0), time(12, 0))

    assert effective_window(zones, mornings, date(2026, 6, 1)) is None


# --- callable now ---------------------------------------------------------------


def test_callable_from_the_first_second_of_the_window():
    assert callable_at(NEW_YORK_ONLY, DEFAULT_WINDOW, at(NEW_YORK, 2026, 6, 1, 8, 0)).callable
    before = at(NEW_YORK, 2026, 6, 1, 8, 0) - timedelta(microseconds=1)
    assert callable_at(NEW_YORK_ONLY, DEFAULT_WINDOW, before).callable is False


def test_not_callable_from_the_windows_end():
    last = at(NEW_YORK, 2026, 6, 1, 21, 0) - timedelta(microseconds=1)
    assert callable_at(NEW_YORK_ONLY, DEFAULT_WINDOW, last).callable is True

    result = callable_at(NEW_YORK_ONLY, DEFAULT_WINDOW, at(NEW_YORK, 2026, 6, 1, 21, 0))
    assert result.callable is False
    assert result.reason == REASON_OUTSIDE.format(
        window="08:00-21:00", zone="America/New_York", local="21:00"
    )


def test_the_reason_names_the_zone_where_it_is_too_early():
    result = callable_at(EASTERN_AND_CENTRAL, DEFAULT_WINDOW, at(NEW_YORK, 2026, 6, 1, 8, 30))

    assert result.callable is False
    assert (
        result.reason
        == "outside the calling window (08:00-21:00) in America/Chicago, where it is 07:30"
    )
    assert result.local_time == at(NEW_YORK, 2026, 6, 1, 8, 30)
    assert result.local_time.tzinfo == NEW_YORK


def test_the_reason_names_the_zone_where_it_is_too_late():
    result = callable_at(
        Zones(("America/Chicago", "America/New_York"), "mode"),
        DEFAULT_WINDOW,
        at(CHICAGO, 2026, 6, 1, 20, 30),
    )

    assert result.callable is False
    assert result.reason.endswith("in America/New_York, where it is 21:30")


def test_a_callable_single_zone_says_where():
    result = callable_at(NEW_YORK_ONLY, DEFAULT_WINDOW, datetime(2026, 6, 1, 16, 0, tzinfo=UTC))

    assert result.callable is True
    assert result.reason == "inside the calling window (08:00-21:00) in America/New_York"


def test_the_clock_is_read_by_instant_not_by_the_offset_it_carries():
    """The same instant given in UTC+02:00 or in New York answers the same."""
    instant = datetime(2026, 6, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))  # 08:30 NY

    assert callable_at(EASTERN_AND_CENTRAL, DEFAULT_WINDOW, instant).callable is False
    assert callable_at(NEW_YORK_ONLY, DEFAULT_WINDOW, instant).callable is True


def test_a_naive_clock_is_refused():
    with pytest.raises(ValueError, match=REASON_NAIVE_NOW):
        callable_at(NEW_YORK_ONLY, DEFAULT_WINDOW, datetime(2026, 6, 1, 12, 0))


# --- validators -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["UTC", "America/New_York", "Asia/Kolkata", "US/Eastern"])
def test_known_time_zones_pass(name):
    assert validate_time_zone(name) == name


def test_a_time_zone_is_trimmed():
    assert validate_time_zone("  Europe/Paris ") == "Europe/Paris"


@pytest.mark.parametrize("name", ["", "   ", None])
def test_an_empty_time_zone_is_refused(name):
    with pytest.raises(ValueError) as refused:
        validate_time_zone(name)
    assert str(refused.value) == TIME_ZONE_EMPTY


@pytest.mark.parametrize(
    "name",
    [
        "Mars/Olympus",
        "EST-5",
        "Etc/Unknown",
        "../etc",
        "../../etc/passwd",
        "/usr/share/zoneinfo/UTC",
        "America/../America/New_York",
        "zone.tab",
        "Factory",
        "localtime",
        "America/New_York\x00",
    ],
)
def test_garbage_and_path_tricks_are_not_time_zones(name):
    with pytest.raises(ValueError) as refused:
        validate_time_zone(name)
    assert str(refused.value) == TIME_ZONE_UNKNOWN.format(name=name.strip())


def test_a_time_zone_in_the_wrong_case_gets_a_suggestion():
    with pytest.raises(ValueError) as refused:
        validate_time_zone("america/new_york")
    assert str(refused.value) == TIME_ZONE_CASE.format(
        name="america/new_york", suggestion="America/New_York"
    )


def test_a_window_must_end_after_it_starts():
    with pytest.raises(ValueError) as refused:
        validate_window(time(21, 0), time(8, 0))
    assert str(refused.value) == WINDOW_ORDER.format(start="21:00", end="08:00")
    assert "cannot run over midnight" in str(refused.value)


def test_an_empty_window_is_refused():
    with pytest.raises(ValueError) as refused:
        Window(time(9, 0), time(9, 0))
    assert str(refused.value) == WINDOW_ORDER.format(start="09:00", end="09:00")


def test_a_window_is_local_wall_clock_time():
    with pytest.raises(ValueError) as refused:
        validate_window(time(8, 0, tzinfo=UTC), time(21, 0))
    assert str(refused.value) == WINDOW_AWARE


def test_a_window_is_made_of_times():
    with pytest.raises(ValueError) as refused:
        validate_window("08:00", "21:00")
    assert str(refused.value) == WINDOW_NOT_TIMES


def test_a_good_window_passes():
    assert validate_window(time(8, 0), time(21, 0)) == (time(8, 0), time(21, 0))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("00:00", time(0, 0)), ("08:00", time(8, 0)), ("23:59", time(23, 59))],
)
def test_hhmm_parses(text, expected):
    assert parse_hhmm(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "8:00",
        "08:0",
        "0800",
        "24:00",
        "08:60",
        "08:00:00",
        " 08:00",
        "08:00\n",
        "\u0660\u0668:\u0660\u0660",  # Arabic-Indic digits, which a regex \d would accept
        "8h",
    ],
)
def test_hhmm_is_strict(text):
    with pytest.raises(ValueError) as refused:
        parse_hhmm(text)
    assert str(refused.value) == HHMM_INVALID.format(text=text)


@pytest.mark.parametrize(("code", "expected"), [("US", "US"), ("us", "US"), (" gb ", "GB")])
def test_country_codes_phonenumbers_knows_pass_upper_cased(code, expected):
    assert validate_country(code) == expected


@pytest.mark.parametrize("code", ["XX", "ZZ", "001", "USA", "U"])
def test_unknown_country_codes_are_refused(code):
    with pytest.raises(ValueError) as refused:
        validate_country(code)
    assert str(refused.value) == COUNTRY_UNKNOWN.format(code=code)


@pytest.mark.parametrize("code", ["", "  ", None])
def test_an_empty_country_is_refused(code):
    with pytest.raises(ValueError) as refused:
        validate_country(code)
    assert str(refused.value) == COUNTRY_EMPTY


# --- area code and formatting ----------------------------------------------------


@pytest.mark.parametrize(
    ("e164", "expected"),
    [
        ("+12025550143", "202"),
        ("+12065550100", "206"),
        ("+4930123456", "30"),
        ("+442079460000", "20"),
        ("+447911123456", ""),  # a UK mobile has no area
        ("+6565123456", ""),  # Singapore has no area codes
        ("+15555555555", ""),  # not a valid number
        ("2025550143", ""),  # no country known
        ("+abc", ""),
        ("", ""),
    ],
)
def test_area_code(e164, expected):
    assert area_code(e164) == expected


def test_hhmm_pads_and_drops_seconds():
    assert hhmm(time(8, 5, 59)) == "08:05"
    assert str(DEFAULT_WINDOW) == "08:00-21:00"
    assert (DEFAULT_WINDOW.start, DEFAULT_WINDOW.end) == (time(8, 0), time(21, 0))
