"""Campaigns (spec campaign-services.md section 1): the one place that says
which modes an account may be dialled on, in which window, with which length
bounds, and whether written consent is required; and the only writer of the
campaign tables (each save one audit entry).

Every door asks here: the kernel's dialable view (`lcm.actions.dialing`),
SetNewModeNumber's hot path (`lcm.actions.agent_requests`, which reads the
same columns in its one query and hands them to `enables` and `lengths`),
the import (`ensure`) and the console (`save`).

A mode's window, first that is set: the mode's own override, the campaign
mode's, the campaign's, the mode type's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from lcm import dialable, errors
from lcm.models import Campaign, CampaignMode, ContactMode, ModeChange, ModeType

from . import RequestContext
from .settings_entries import append_settings_entry

DEFAULT_CAMPAIGN = ""  # the CampaignID of the accounts that had none (migration 0020)
DEFAULT_NAME = "Default"

NOT_ENABLED = "mode {mode_id} is not enabled by campaign {campaign}"
NO_CONSENT = "no written consent (PEWC), which campaign {campaign} requires"
MODE_NOT_ENABLED = "ModeID {mode_id} is not enabled by campaign {campaign}."


@dataclass(frozen=True)
class ModeRule:
    """What a campaign says of one mode type it lists."""

    channel_type: str = ""
    min_length: int | None = None
    max_length: int | None = None
    window: dialable.Window | None = None
    callback: bool = False
    voicemail: bool = False


@dataclass(frozen=True)
class Rules:
    """A campaign's dialing rules, read once per request (`rules`)."""

    code: str = DEFAULT_CAMPAIGN
    name: str = DEFAULT_NAME
    every_mode_type: bool = True
    window: dialable.Window | None = None
    requires_consent: bool = False
    modes: dict[int, ModeRule] = field(default_factory=dict)

    @property
    def shown(self) -> str:
        return self.name or self.code

    def enables(self, mode_id: int) -> bool:
        return enables(every_mode_type=self.every_mode_type, listed=mode_id in self.modes)

    def mode(self, mode_id: int) -> ModeRule:
        return self.modes.get(mode_id) or ModeRule()

    def window_of(self, mode: ContactMode) -> dialable.Window:
        """The mode's window: its override, the campaign mode's, the
        campaign's, the mode type's (first that is set)."""
        if mode.window_start and mode.window_end:
            return dialable.Window(mode.window_start, mode.window_end)
        own = self.mode(mode.mode_type_id).window
        if own is not None:
            return own
        if self.window is not None:
            return self.window
        return dialable.Window(mode.mode_type.window_start, mode.mode_type.window_end)

    def channel_type(self, mode_type: ModeType) -> str:
        return self.mode(mode_type.id).channel_type or mode_type.channel_type

    def refusal(self, mode: ContactMode) -> str | None:
        """Why the campaign forbids dialling this mode now, in a supervisor's
        words; None when it does not (the clock and do-not-call are the kernel's)."""
        if not self.enables(mode.mode_type_id):
            return NOT_ENABLED.format(mode_id=mode.mode_type_id, campaign=self.shown)
        if self.requires_consent and not mode.has_consent:
            return NO_CONSENT.format(campaign=self.shown)
        return None


#: A campaign that refuses nothing (every mode type, no window, no consent rule).
NO_RULES = Rules()


def enables(*, every_mode_type: bool | None, listed: bool) -> bool:
    """Whether a campaign enables a mode type: it enables every type, or
    lists this one. A campaign that is not there (None) refuses nothing."""
    return every_mode_type is None or bool(every_mode_type) or listed


def lengths(
    mode_type: ModeType, min_length: int | None, max_length: int | None
) -> tuple[int | None, int | None]:
    """The length bounds of a mode: the campaign mode's, else the type's."""
    return (
        min_length if min_length is not None else mode_type.min_length,
        max_length if max_length is not None else mode_type.max_length,
    )


def not_enabled(mode_id: int, campaign: str) -> errors.UnknownModeType:
    message = MODE_NOT_ENABLED.format(mode_id=mode_id, campaign=campaign or DEFAULT_NAME)
    return errors.UnknownModeType(message, fields={"ModeID": [message]})


_RULE_COLUMNS = (
    "code",
    "name",
    "every_mode_type",
    "window_start",
    "window_end",
    "requires_consent",
    "modes__mode_type_id",
    "modes__channel_type",
    "modes__min_length",
    "modes__max_length",
    "modes__window_start",
    "modes__window_end",
    "modes__callback",
    "modes__voicemail",
)


def rules(code: str) -> Rules:
    """The campaign's rules in one query (the campaign and its listed modes)."""
    rows = list(Campaign.objects.filter(code=code).values_list(*_RULE_COLUMNS))
    if not rows:
        return Rules(code=code, name=code or DEFAULT_NAME)
    first = rows[0]
    modes = {
        row[6]: ModeRule(
            channel_type=row[7],
            min_length=row[8],
            max_length=row[9],
            window=dialable.Window(row[10], row[11]) if row[10] and row[11] else None,
            callback=row[12],
            voicemail=row[13],
        )
        for row in rows
        if row[6] is not None
    }
    return Rules(
        code=first[0],
        name=first[1],
        every_mode_type=first[2],
        window=dialable.Window(first[3], first[4]) if first[3] and first[4] else None,
        requires_consent=first[5],
        modes=modes,
    )


def ensure(codes: Iterable[str]) -> list[str]:
    """The campaigns an import names, created when unknown as the migration
    made them (every mode type, no consent rule, permanent do-not-call).
    Returns the CampaignIDs created, sorted, for the import's summary."""
    wanted = set(codes)
    missing = sorted(
        wanted - set(Campaign.objects.filter(code__in=wanted).values_list("code", flat=True))
    )
    if missing:
        Campaign.objects.bulk_create(
            [Campaign(code=code, name=code or DEFAULT_NAME) for code in missing],
            ignore_conflicts=True,
        )
    return missing


# --- the console's writes ----------------------------------------------------

_CAMPAIGN_FIELDS = (
    "code",
    "name",
    "category",
    "time_zone",
    "window_start",
    "window_end",
    "every_mode_type",
    "requires_consent",
    "disposition_required",
    "dnc_period_type",
    "dnc_days",
    "dnc_end_of_day",
    "customer_dnc_time_zone",
)


def _plain(value):
    if isinstance(value, dt.time):
        return dialable.hhmm(value)
    return value


def snapshot(campaign: Campaign | None) -> dict | None:
    """A campaign with its modes, outcomes and fields, as the audit entry keeps it."""
    if campaign is None or campaign.pk is None:
        return None
    return {
        **{name: _plain(getattr(campaign, name)) for name in _CAMPAIGN_FIELDS},
        "modes": [
            {
                "ModeID": m.mode_type_id,
                "ChannelType": m.channel_type,
                "MinLength": m.min_length,
                "MaxLength": m.max_length,
                "window": [_plain(m.window_start), _plain(m.window_end)]
                if m.window_start
                else None,
                "callback": m.callback,
                "voicemail": m.voicemail,
            }
            for m in CampaignMode.objects.filter(campaign_id=campaign.code).order_by("mode_type_id")
        ],
        "outcomes": [
            [o.outcome_id, o.description, o.implies]
            for o in campaign.outcomes.order_by("outcome_id")
        ],
        "fields": [
            [
                f.name,
                f.data_type,
                f.format,
                f.mandatory,
                f.agent_editable,
                f.dnc_field,
                f.screen_pop,
            ]
            for f in campaign.fields.order_by("id")
        ],
    }


def record_save(
    campaign: Campaign,
    *,
    before: dict | None,
    actor: AbstractBaseUser,
    reason: str = "",
    context: RequestContext = RequestContext(),  # noqa: B008 (frozen, no state)
) -> ModeChange | None:
    """The one audit entry of a campaign save (the console saves the form and
    its inlines in one transaction, then calls this in it). No change, no entry."""
    after = snapshot(campaign)
    if after == before:
        return None
    return append_settings_entry(
        ModeChange.Action.CAMPAIGN,
        actor=actor,
        context=context,
        details={"campaign": campaign.code, "before": before, "after": after, "reason": reason},
    )


@transaction.atomic
def save_demo(
    *,
    code: str,
    values: dict,
    modes: dict[int, dict],
    outcomes: list[tuple[int, str, int | None]],
    fields: list[dict],
) -> Campaign:
    """Create or refresh a campaign as given (seed_demo): its settings, exactly
    these enabled modes, outcomes and fields (others are removed). Idempotent."""
    campaign, _ = Campaign.objects.update_or_create(code=code, defaults=values)
    CampaignMode.objects.filter(campaign_id=code).exclude(mode_type_id__in=modes).delete()
    for mode_id, settings in modes.items():
        CampaignMode.objects.update_or_create(
            campaign_id=code, mode_type_id=mode_id, defaults=settings
        )
    campaign.outcomes.exclude(outcome_id__in=[o for o, *_ in outcomes]).delete()
    for outcome_id, description, implies in outcomes:
        campaign.outcomes.update_or_create(
            outcome_id=outcome_id, defaults={"description": description, "implies": implies}
        )
    campaign.fields.exclude(name__in=[f["name"] for f in fields]).delete()
    for spec in fields:
        campaign.fields.update_or_create(
            name=spec["name"], defaults={k: v for k, v in spec.items() if k != "name"}
        )
    return campaign
