"""A live mode as a dialable channel: what GetContactModes and the
supervisors' account page show for each mode.

Read-only. Puts together the mode's time zones and calling window
(`lcm.dialable`, pure functions), its do-not-call status, read live from
the list by identity (`do_not_call`), what its campaign allows (enabled
mode types, window, consent rule: `campaigns.rules`, the one place), and
whether it may be dialled now.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from lcm import dialable
from lcm.conf import lcm_settings
from lcm.models import Account, ContactMode

from . import campaigns, do_not_call

ON_DO_NOT_CALL = "on the do-not-call list"
ON_DO_NOT_CALL_AS = "on the do-not-call list (as {listed})"
ON_DO_NOT_CALL_CONTACT = "on the do-not-call list (the whole contact)"


@dataclass(frozen=True)
class DialableMode:
    mode: ContactMode
    account: Account
    zones: dialable.Zones
    window: dialable.Window  # its override, the campaign mode's, the campaign's, its type's
    effective: dialable.Window | None  # the strictest overlap today, in the primary zone
    area_code: str
    blocked_as: str | None  # the listed number that blocks it ("": the whole contact), or None
    clock: dialable.Callability
    rules: campaigns.Rules = campaigns.NO_RULES

    @property
    def do_not_call(self) -> bool:
        return self.blocked_as is not None

    @property
    def campaign_refusal(self) -> str | None:
        """The campaign's objection (mode not enabled, consent required), or None."""
        return self.rules.refusal(self.mode)

    @property
    def callable(self) -> bool:
        return not self.do_not_call and self.campaign_refusal is None and self.clock.callable

    @property
    def reason(self) -> str:
        """Why it may or may not be dialled now, in a supervisor's words."""
        if self.do_not_call:
            if not self.blocked_as:
                return ON_DO_NOT_CALL_CONTACT
            if self.blocked_as == self.mode.number:
                return ON_DO_NOT_CALL
            return ON_DO_NOT_CALL_AS.format(listed=self.blocked_as)
        return self.campaign_refusal or self.clock.reason

    @property
    def shown_window(self) -> dialable.Window | None:
        """The window to show: the overlap of every candidate zone when the
        zone is known (None: they never overlap today), else the window as
        configured, in the callee's local time."""
        return self.window if self.zones.unknown else self.effective

    def element(self) -> dict:
        """The GetContactModes element (dialable-modes.md section 2), plus
        the two fields replies carried before it: `E164` and `ChannelType`."""
        zone, zone1, zone2, zone3 = self.zones.reply()
        window = self.shown_window
        return {
            "ModeID": self.mode.mode_type_id,
            "ModeDesc": self.mode.mode_type.name,
            "CampaignID": self.account.campaign_id,
            "CValue": self.mode.number,
            "ModeDialingStartTime": dialable.hhmm(window.start) if window else "",
            "ModeDialingEndTime": dialable.hhmm(window.end) if window else "",
            "TimeZone": zone,
            "TimeZone1": zone1,
            "TimeZone2": zone2,
            "TimeZone3": zone3,
            "PEWC": self.mode.has_consent,
            "AreaCode": self.area_code,
            "ZipCode": self.account.zip_code,
            "DNC": self.do_not_call,
            "Callable": self.callable,
            "E164": self.mode.number_e164,
            "ChannelType": self.rules.channel_type(self.mode.mode_type),
        }


def zones_of(mode: ContactMode, account: Account) -> dialable.Zones:
    return dialable.time_zones(
        e164=mode.number_e164,
        override=mode.time_zone,
        account_time_zone=account.time_zone,
        account_zip=account.zip_code,
        account_country=account.country,
        default_time_zone=lcm_settings.LCM_DEFAULT_TIME_ZONE,
    )


def dialable_modes(
    account: Account,
    modes: list[ContactMode],
    *,
    now: dt.datetime,
    rules: campaigns.Rules | None = None,
) -> list[DialableMode]:
    """Each live mode of `account` (with `mode_type` loaded) as a channel,
    at the instant `now`. One query for the do-not-call status of all, one
    for the campaign's rules (`rules`: given, when the caller read them)."""
    if rules is None:
        rules = campaigns.rules(account.campaign_id)
    blocked = do_not_call.blocking_entries(
        [do_not_call.as_clean(mode) for mode in modes], now=now, account=account
    )
    result = []
    for mode in modes:
        zones = zones_of(mode, account)
        window = rules.window_of(mode)
        today = now.astimezone(zoneinfo.ZoneInfo(zones.primary)).date() if zones.names else None
        entry = blocked.get(do_not_call.as_clean(mode))
        result.append(
            DialableMode(
                mode=mode,
                account=account,
                zones=zones,
                window=window,
                effective=dialable.effective_window(zones, window, today) if today else None,
                area_code=dialable.area_code(mode.number_e164),
                blocked_as=entry.number if entry is not None else None,
                clock=dialable.callable_at(zones, window, now),
                rules=rules,
            )
        )
    return result
