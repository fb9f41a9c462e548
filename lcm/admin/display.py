"""How the console writes a number and a time: one way, on every page.

- **A number**: the national format of its country, `(202) 555-0143`, with
  its E.164 form on hover (`+12025550143`); a number whose country is not
  known (no `+`, no country on the account, not valid in the default
  region) as stored, `6491462346`, saying so on hover
  (`lcm.numbers.shown`). Lists, pages, messages and the audit views all
  write it so; the number as typed appears only where it is the subject
  ("typed as …": a mode's own page, an import's rejected row).
- **A moment**: in the floor's zone (`LCM_FLOOR_TIME_ZONE`, default
  `TIME_ZONE`), `2026-12-06 19:47:12 EST`, with UTC on hover. The callee's
  local time is written in the callee's zone where the callee is the
  subject (a mode's "local time now", a callback's window).
- **An end day**: a period that ends at a midnight of the floor's zone (a
  block "until 31/12" ends at 1 January's first moment) is written by its
  last day, as the user gave it: `to 2026-12-31 (inclusive)`.

`FloorTimeZoneMiddleware` makes the floor's zone the current one for the
admin's pages, so that Django's own dates and the dates typed in filters
and forms agree with these.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from lcm.conf import lcm_settings
from lcm.numbers import shown

EMPTY = "—"
COUNTRY_UNKNOWN = "As stored: its country is not known"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S %Z"


# --- Numbers -------------------------------------------------------------------


def number_text(number: str, e164: str = "", *, country: str = "") -> str:
    """The number as the console writes it in running text (messages, titles)."""
    return shown(number, e164, region=country)[0] or EMPTY


def number(number: str, e164: str = "", *, country: str = "", typed: str = "") -> SafeString:
    """The number as the console writes it in a page: national format, the
    E.164 form on hover (and "typed as …" when `typed` is given and differs)."""
    text, identity = shown(number, e164, region=country)
    if not text:
        return format_html("{}", EMPTY)
    hover = f"E.164 {identity}" if identity else COUNTRY_UNKNOWN
    if typed and typed != number:
        hover += f"; typed as {typed}"
    return format_html('<span class="lcm-number" title="{}">{}</span>', hover, text)


# --- Moments -------------------------------------------------------------------


def floor_zone() -> zoneinfo.ZoneInfo:
    """The supervisors' floor's zone: `LCM_FLOOR_TIME_ZONE`, else `TIME_ZONE`."""
    return zoneinfo.ZoneInfo(lcm_settings.LCM_FLOOR_TIME_ZONE or settings.TIME_ZONE)


def when_text(value: dt.datetime | None) -> str:
    """A moment in the floor's zone: 2026-12-06 19:47:12 EST."""
    if value is None:
        return EMPTY
    return timezone.localtime(value, floor_zone()).strftime(TIME_FORMAT)


def _utc(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def when(value: dt.datetime | None) -> SafeString:
    """A moment in a page: the floor's time, UTC on hover; the day and the
    time each kept on one line, so a narrow column wraps it in two at most."""
    if value is None:
        return format_html("{}", EMPTY)
    local = timezone.localtime(value, floor_zone())
    return format_html(
        '<time class="lcm-time" datetime="{}" title="{}"><span>{}</span> <span>{}</span></time>',
        value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        _utc(value),
        local.strftime("%Y-%m-%d"),
        local.strftime("%H:%M:%S %Z"),
    )


def callee_clock(value: dt.datetime | None) -> SafeString:
    """The callee's local time now, in the callee's own zone (`value` carries
    it): 23:47, with the floor's time and UTC on hover."""
    if value is None:
        return format_html("{}", EMPTY)
    return format_html(
        '<time class="lcm-time" datetime="{}" title="{}; {}">{}</time>',
        value.isoformat(),
        when_text(value),
        _utc(value),
        value.strftime("%H:%M"),
    )


def callee_window(start: dt.datetime, end: dt.datetime, zone: str) -> SafeString:
    """A callback's window in the callee's zone: 2026-12-09 10:00-12:00
    America/New_York (the floor's times on hover)."""
    tz = zoneinfo.ZoneInfo(zone)
    first, last = start.astimezone(tz), end.astimezone(tz)
    shown_end = f"{last:%H:%M}" if last.date() == first.date() else f"{last:%Y-%m-%d %H:%M}"
    return format_html(
        '<span class="lcm-window" title="{} to {}">{}-{} {}</span>',
        when_text(start),
        when_text(end),
        f"{first:%Y-%m-%d %H:%M}",
        shown_end,
        zone,
    )


def _midnight(value: dt.datetime) -> dt.datetime | None:
    local = timezone.localtime(value, floor_zone())
    return local if local.time() == dt.time() else None


def period(start: dt.datetime | None, end: dt.datetime | None) -> SafeString:
    """A block's period: from its start (a day when it starts at midnight)
    to its end, by its last day when it ends at a midnight ("to 2026-12-31
    (inclusive)"), or "permanent"."""
    if start is not None and _midnight(start):
        first = format_html("{}", _midnight(start).strftime("%Y-%m-%d"))
    else:
        first = when(start)
    if end is None or end.year == dt.MAXYEAR:
        return format_html("{} → permanent", first)
    midnight = _midnight(end)
    if midnight is not None:
        last_day = (midnight - dt.timedelta(days=1)).strftime("%Y-%m-%d")
        return format_html(
            '{} → <span title="until {}">{} (inclusive)</span>', first, _utc(end), last_day
        )
    return format_html("{} → {}", first, when(end))


class FloorTimeZoneMiddleware:
    """The floor's zone is the current one on the admin's pages (Django's
    own dates, the dates typed in filters and forms); the API keeps
    `TIME_ZONE`, as its contract says."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            admin_root = reverse("admin:index")
        except NoReverseMatch:
            return self.get_response(request)
        if not request.path.startswith(admin_root):
            return self.get_response(request)
        with timezone.override(floor_zone()):
            return self.get_response(request)
