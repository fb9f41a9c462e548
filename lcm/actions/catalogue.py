"""The mode catalogue an agent desktop reads (spec campaign-services.md
section 3): GetCampaignModes, GetCallBackModes, GetModeInformation. Reads,
never audited. Which modes a campaign enables, their lengths, channel and
callback flag come from `lcm.actions.campaigns` (the one place); who may
read from `lcm.actions.call_access`.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils import timezone

from lcm.models import Campaign, ContactMode, ModeType
from lcm.numbers import DEFAULT_MAX_LENGTH, DEFAULT_MIN_LENGTH

from . import call_access, campaigns


def _enabled_types(rules: campaigns.Rules) -> list[ModeType]:
    types = ModeType.objects.order_by("id")
    if not rules.every_mode_type:
        types = types.filter(id__in=list(rules.modes))
    return list(types)


def _live(account) -> dict[int, ContactMode]:
    return {
        mode.mode_type_id: mode
        for mode in ContactMode.objects.filter(account=account, deleted_at=None)
    }


def campaign_modes(*, callid: str, account_number: str, actor, callbacks_only: bool = False):
    """GetCampaignModes (every mode the contact's campaign enables, by ModeID)
    or, `callbacks_only`, GetCallBackModes (the campaign's callback modes that
    hold a live number)."""
    access = call_access.for_read(callid=callid, account_number=account_number, actor=actor)
    rules = campaigns.rules(access.account.campaign_id)
    live = _live(access.account)
    result = []
    for mode_type in _enabled_types(rules):
        rule = rules.mode(mode_type.id)
        mode = live.get(mode_type.id)
        if callbacks_only and not (rule.callback and mode is not None):
            continue
        low, high = campaigns.lengths(mode_type, rule.min_length, rule.max_length)
        result.append(
            {
                "ModeID": str(mode_type.id),
                "Description": mode_type.name,
                "ChannelType": rules.channel_type(mode_type),
                "MinLength": str(DEFAULT_MIN_LENGTH if low is None else low),
                "MaxLength": str(DEFAULT_MAX_LENGTH if high is None else high),
                "Cvalue": mode.number if mode is not None else None,
                "PEWC": bool(mode is not None and mode.has_consent),
                "CampaignPEWC": rules.requires_consent,
            }
        )
    return result


def gmt_deviation(time_zone: str, now: dt.datetime) -> int | float:
    """The zone's UTC offset at `now`, in hours (DST included): an integer
    when whole (-5), else a fraction (5.5). An unknown or empty zone: 0."""
    try:
        zone = zoneinfo.ZoneInfo(time_zone) if time_zone else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = None
    if zone is None:
        return 0
    hours = now.astimezone(zone).utcoffset().total_seconds() / 3600
    return int(hours) if hours.is_integer() else hours


def mode_information(*, callid: str, account_number: str, actor, now: dt.datetime | None = None):
    """GetModeInformation: one element per live mode of the contact, with its
    campaign's zone, disposition and do-not-call period rules."""
    access = call_access.for_read(callid=callid, account_number=account_number, actor=actor)
    account = access.account
    campaign = Campaign.objects.get(code=account.campaign_id)
    deviation = gmt_deviation(campaign.time_zone, now or timezone.now())
    modes = (
        ContactMode.objects.filter(account=account, deleted_at=None)
        .select_related("mode_type")
        .order_by("mode_type_id")
    )
    return [
        {
            "ModeID": mode.mode_type_id,
            "CampaignId": campaign.code,
            "ModeName": mode.mode_type.name,
            "ContactID": str(account.pk),
            "Timezone": campaign.time_zone,
            "ContactNumber": mode.number,
            "CampaignCategoryName": campaign.category,
            "CallId": access.call.callid,
            "GMTDeviation": deviation,
            "DispositionRequired": campaign.disposition_required,
            "DNCPeriodType": campaign.dnc_period_type,
            "DNCDays": campaign.dnc_days,
            "DNCEOD": campaign.dnc_end_of_day,
            "CustomerDNCTZEnabled": campaign.customer_dnc_time_zone,
        }
        for mode in modes
    ]
