"""Outcomes (spec campaign-services.md section 4): the telephony catalogue
(SetCallOutComeOffline) and the one outcome a call holds
(SetBusinessOutcomeWithComments / WithCallOutcome). The only writer of
`TelephonyOutcome` and `CallOutcome`.

A DNC outcome (telephony outcome 5, or a business outcome implying 5) is a
do-not-call block made by SetDNC's own write, `do_not_call.block`, in the
same transaction: the same identity matching, every account holding the
number, blocked at once. Its scope: `ModeID`'s number, else the whole
contact (the dialer does not tell lcm which mode a call dialled); its period
from the campaign (`dnc_period`). The request appends ONE audit entry,
action `outcome`: its `details` the call's outcome before and after, its
`do_not_call` part the block's, as SetDNC's entry has it.

The agent's comments are personal data: kept on the call's outcome (blanked
by `erase_contact`), not in the entry's `details`, which an erasure cannot
touch.
"""

from __future__ import annotations

import datetime as dt
import decimal
import zoneinfo

from django.db import transaction
from django.utils import timezone

from lcm import dialable, errors
from lcm.audit import append_entry
from lcm.conf import lcm_settings
from lcm.models import (
    Account,
    CallOutcome,
    Campaign,
    CampaignOutcome,
    ContactMode,
    ModeChange,
    TelephonyOutcome,
)

from . import RequestContext, do_not_call, modes, permissions
from .agent_requests import NO_CONTEXT, load_call_locking_account
from .dialing import zones_of

# The vendor's telephony outcomes (system rows; migration 0027 loads them).
SYSTEM_OUTCOMES = [
    (0, "Success"),
    (2, "Invalid"),
    (3, "Busy"),
    (4, "CallBack"),
    (5, "DNC"),
    (6, "Fax"),
    (7, "Answering Machine"),
    (8, "No Answer"),
    (9, "Reject"),
]


def ensure_catalogue() -> None:
    """The system rows, as the migration made them (seed_demo; idempotent)."""
    TelephonyOutcome.objects.bulk_create(
        [TelephonyOutcome(id=i, description=d, system=True) for i, d in SYSTEM_OUTCOMES],
        ignore_conflicts=True,
    )


def catalogue(*, account_number: str, actor) -> list[TelephonyOutcome]:
    """SetCallOutComeOffline: the telephony outcomes, by OutComeID, for a
    reader of the account (`permissions.require_account_reader`)."""
    account = Account.objects.filter(account_number=account_number).only("pk").first()
    if account is None:
        raise errors.UnknownAccount(f"Unknown AccountNumber: {account_number}")
    permissions.require_account_reader(actor, account.pk, account_number)
    return list(TelephonyOutcome.objects.order_by("id"))


def telephony_outcome(value: str) -> TelephonyOutcome:
    """A telephony outcome by its OutComeID (a string of digits) or its
    Description (case-insensitively); 400 `unknown_outcome` naming CallOutcome."""
    text = value.strip()
    found = None
    if text.isascii() and text.isdigit() and len(text) <= 5:
        found = TelephonyOutcome.objects.filter(id=int(text)).first()
    if found is None and text:
        found = TelephonyOutcome.objects.filter(description__iexact=text).first()
    if found is None:
        message = errors.UNKNOWN_CALL_OUTCOME.format(value=value)
        raise errors.UnknownOutcome(message, fields={"CallOutcome": [message]})
    return found


def _day_start(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=tz)


def dnc_period(
    campaign: Campaign | None,
    *,
    end: dt.date | None,
    zone: str,
    now: dt.datetime,
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """How long a DNC outcome blocks, by the campaign's rule: `Permanent`
    (no expiry); `Specific Days` (DNCDays from now; DNCEOD: to the end of the
    day it ends on; 0 days: to the end of today), days in the callee's zone
    `zone` when CustomerDNCTZEnabled, else the site's; `Agent Selection`: to
    the end of the agent's DNCBlockEndDate (SetDNC's rule, required)."""
    kind = campaign.dnc_period_type if campaign is not None else Campaign.DncPeriod.PERMANENT
    if kind == Campaign.DncPeriod.AGENT_SELECTION:
        if end is None:
            message = errors.DNC_END_DATE_REQUIRED.format(campaign=campaign.name or campaign.code)
            raise errors.InvalidInput(message, fields={"DNCBlockEndDate": [message]})
        return do_not_call.period(None, end, now=now)
    if kind != Campaign.DncPeriod.SPECIFIC_DAYS:
        return None, None
    tz = timezone.get_current_timezone()
    if campaign.customer_dnc_time_zone and zone:
        tz = zoneinfo.ZoneInfo(zone)
    days = campaign.dnc_days
    if days and not campaign.dnc_end_of_day:
        return None, now + dt.timedelta(days=days)
    last_day = (now + dt.timedelta(days=days)).astimezone(tz).date()
    return None, _day_start(last_day + dt.timedelta(days=1), tz)


def _state(outcome: CallOutcome | None) -> dict | None:
    """A call's outcome as the audit entry's `details` keep it (no comments)."""
    if outcome is None:
        return None
    return {
        "BusinessOutcome": outcome.business_outcome,
        "Description": outcome.description,
        "CallOutcome": outcome.call_outcome_id,
        "ModeID": outcome.mode_id,
        "LeadScore": outcome.lead_score,
        "TargetAmount": f"{outcome.target_amount:.2f}",
        "do_not_call": outcome.do_not_call_id,
    }


@transaction.atomic
def set_outcome(
    *,
    callid: str,
    account_number: str,
    agent_id: str,
    business_outcome: int,
    outcome_field: str = "OutcomeId",
    call_outcome: str | None = None,
    mode_id: int | None = None,
    dnc_end: dt.date | None = None,
    comments: str = "",
    lead_score: int = 0,
    target_amount: decimal.Decimal = decimal.Decimal(0),
    actor,
    context: RequestContext = NO_CONTEXT,
) -> CallOutcome:
    """Give call `callid` its outcome (replacing the one it held).

    Order of checks: input (400, the serializer), then SetDNC's call,
    identity, account, agent and pre-requisite checks (the same code,
    locking the account), then the outcomes (400 `unknown_outcome` naming the
    field), the mode (400 `unknown_mode`) and, for a DNC outcome, the
    period (400). Then the writes: the block, the call's outcome, one entry.
    The same outcome again (and, for a DNC outcome, the block standing)
    changes nothing and writes no entry."""
    if not callid or not callid.strip():
        raise errors.CallidEmpty(fields={"callid": ["This field may not be blank."]})
    try:
        call, _ = load_call_locking_account(
            callid=callid,
            mode_id=None,
            contact_number=None,
            account_number=account_number,
            agent_id=agent_id,
            actor=actor,
        )
    except errors.CallAgentMismatch as exc:  # the spec's 403 for another agent's call
        raise errors.NotAllowed(exc.message, msg=exc.msg) from None
    account = call.account
    campaign = Campaign.objects.filter(code=account.campaign_id).first()
    business = CampaignOutcome.objects.filter(
        campaign_id=account.campaign_id, outcome_id=business_outcome
    ).first()
    if business is None:
        name = campaign.name if campaign is not None else account.campaign_id
        message = errors.UNKNOWN_BUSINESS_OUTCOME.format(
            field=outcome_field, value=business_outcome, campaign=name
        )
        raise errors.UnknownOutcome(message, fields={outcome_field: [message]})
    telephony = telephony_outcome(call_outcome) if call_outcome is not None else None
    mode = None
    if mode_id is not None:
        mode = (
            ContactMode.objects.filter(account_id=account.pk, mode_type_id=mode_id, deleted_at=None)
            .select_related("mode_type")
            .first()
        )
        if mode is None:
            message = errors.DNC_NO_LIVE_MODE.format(
                account_number=account.account_number, mode_id=mode_id
            )
            raise errors.UnknownModeType(message, fields={"ModeID": [message]})
    is_dnc = TelephonyOutcome.DNC in (
        telephony.pk if telephony is not None else None,
        business.implies,
    )
    now = timezone.now()
    entry = ModeChange(
        call=call,
        callid=call.callid,
        agent=call.agent,
        agent_code=call.agent.agent_id,
        user=actor,
        username=actor.get_username(),
        source=context.source,
        client_ip=context.client_ip,
        request_id=context.request_id,
    )
    block, block_created = None, False
    if is_dnc:
        zones = zones_of(mode, account) if mode is not None else _account_zones(account)
        starts_at, expires_at = dnc_period(campaign, end=dnc_end, zone=zones.primary, now=now)
        number = modes.live_states(account).state(mode_id).clean if mode is not None else None
        block, block_created = do_not_call.block(
            account=account,
            number=number,
            mode_id=mode_id,
            campaign_specific=False,
            starts_at=starts_at,
            expires_at=expires_at,
            comments=comments,
            entry=entry,
            append=False,
        )
    held = CallOutcome.objects.select_for_update().filter(call_id=call.pk).first()
    before = _state(held)
    before_comments = held.comments if held is not None else None
    outcome = held or CallOutcome(call_id=call.pk, account_id=account.pk)
    outcome.business_outcome = business.outcome_id
    outcome.description = business.description
    outcome.call_outcome = telephony
    outcome.mode_id = mode_id
    outcome.comments = comments
    outcome.lead_score = lead_score
    outcome.target_amount = target_amount
    if block is not None:
        outcome.do_not_call_id = block.pk
    elif held is not None:
        outcome.do_not_call_id = None
    after = _state(outcome)
    if held is not None and before == after and before_comments == comments and not block_created:
        return held  # the same outcome again: nothing changes, no entry
    outcome.set_at = now
    outcome.agent_code = call.agent.agent_id
    outcome.username = actor.get_username()
    outcome.save()
    if not is_dnc:
        entry.account = account
        entry.account_number = account.account_number
        entry.mode_id = mode_id or 0
        entry.old_number = entry.new_number = mode.number if mode is not None else ""
        entry.new_number_e164 = mode.number_e164 if mode is not None else ""
        entry.deleted_modes = []
        entry.modes = []
    entry.action = ModeChange.Action.OUTCOME
    entry.details = {"outcome": {"callid": call.callid, "before": before, "after": after}}
    append_entry(entry)
    return outcome


def _account_zones(account: Account) -> dialable.Zones:
    return dialable.time_zones(
        e164="",
        account_time_zone=account.time_zone,
        account_zip=account.zip_code,
        account_country=account.country,
        default_time_zone=lcm_settings.LCM_DEFAULT_TIME_ZONE,
    )


def erase_comments(account: Account) -> int:
    """Erasure (lcm.actions.erasure): the agents' comments on the account's
    call outcomes blanked. Returns how many outcomes."""
    return CallOutcome.objects.filter(account=account).exclude(comments="").update(comments="")


def holds_comments(account: Account) -> bool:
    return CallOutcome.objects.filter(account=account).exclude(comments="").exists()
