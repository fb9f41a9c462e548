"""ComplianceCheck (spec campaign-services.md section 5), and the per-US-state
calling rules it applies (the only writer of `StateLaw` and its barred dates:
each console save one audit entry, action `state_law`).

For up to 100 contacts of one campaign, each judged on one mode (its
`ModeID`, else its lowest live mode):

- green zone: the kernel's own rule, `dialable.callable_at` over every
  candidate zone (the strictest overlap) with the window the campaign gives
  the mode (`campaigns.Rules.window_of`), as GetContactModes' `Callable`;
- state law: the state (the account's ZIP, else the number's geography) has
  no row, or now, in every candidate zone of the callee, is inside today's
  hours of a day and date the row does not bar;
- voicemail: state law passes, and the state's row (none: allowed) and the
  campaign mode both allow it;
- do-not-call, read live by identity (`do_not_call.blocking_rows`).

A read: no audit entry. It reads nothing per contact that one batch query
can read for all: the campaign and its rules, the accounts, their live
modes, the caller's calls on them (an agent), the do-not-call entries, the
state rows and their barred dates (tests/test_api_compliance.py pins the
count; bench/compliance_check.py measures 100 contacts).
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import phonenumbers
import zipcodes
from django.db import transaction
from django.utils import timezone

from lcm import dialable, errors
from lcm.models import (
    Account,
    Call,
    Campaign,
    ContactMode,
    ModeChange,
    StateLaw,
    StateLawBarredDate,
)
from lcm.outcome_models import WEEKDAYS

from . import RequestContext, campaigns, do_not_call, permissions
from .dialing import zones_of
from .settings_entries import append_settings_entry

MAX_CONTACTS = 100

OUTSIDE_WINDOW = "outside_window"
STATE_LAW = "state_law"
VOICEMAIL_NOT_ALLOWED = "voicemail_not_allowed"
DO_NOT_CALL = "do_not_call"

NOT_JUDGED = {
    "unknown_account": "Unknown lcmkey: {lcmkey}",
    "other_campaign": "Contact {lcmkey} is not in campaign {campaign}.",
    "no_live_mode": "Contact {lcmkey} has no live mode.",
    "unknown_mode": "Contact {lcmkey} has no live mode with ModeID {mode_id}.",
    "forbidden": "You have no call on contact {lcmkey}.",
}


@dataclass(frozen=True)
class ContactRequest:
    requestid: str
    lcmkey: str
    mode_id: int | None = None
    echoed: dict = field(default_factory=dict)  # uniqueid1…, as sent


@dataclass(frozen=True)
class Checks:
    greenzone: bool
    statelaw: bool
    voicemail: bool


def find_campaign(name: str) -> Campaign:
    """A campaign by CampaignID, else by CampaignName (404 `unknown_campaign`)."""
    found = Campaign.objects.filter(code=name).first()
    if found is None:
        found = Campaign.objects.filter(name=name).order_by("code").first()
    if found is None:
        raise errors.UnknownCampaign(errors.UNKNOWN_CAMPAIGN.format(name=name))
    return found


# --- where the callee is ---------------------------------------------------------


@cache
def _state_of_zip(zip_code: str) -> str:
    try:
        matches = zipcodes.matching(zip_code)
    except ValueError:
        return ""
    return matches[0]["state"] if matches else ""


@cache
def _us_prefix_states() -> tuple[dict[str, str], int]:
    """lcm/data/us_prefix_states.json (tools/us_prefix_states.py writes it
    from phonenumbers' geocoder data): read once, on the first ComplianceCheck
    that needs a number's geography, so no process holds the geocoder's
    ~100 MiB of every country's descriptions."""
    text = resources.files("lcm").joinpath("data/us_prefix_states.json").read_text()
    table = json.loads(text)["prefixes"]
    return table, max(map(len, table))


@cache
def _state_of_number(e164: str) -> str:
    """The US state of a NANP number's geography, as phonenumbers' geocoder
    describes it (the longest listed prefix of the number); "" when not a US
    number, not of a geographic type, or unknown."""
    if not e164.startswith("+1"):
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ""
    if phonenumbers.region_code_for_number(number) != "US":
        return ""
    kind = phonenumbers.number_type(number)
    if kind == phonenumbers.PhoneNumberType.UNKNOWN or not phonenumbers.is_number_type_geographical(
        kind, number.country_code
    ):
        return ""
    table, longest = _us_prefix_states()
    digits = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
    for length in range(min(longest, len(digits)), 0, -1):
        state = table.get(digits[:length])
        if state is not None:
            return state
    return ""


def state_of(account: Account, mode: ContactMode) -> str:
    """`State`: from the account's US ZIP code, else the number's geography."""
    zip_code = account.zip_code.strip()
    country = account.country.strip().upper()
    if zip_code and (not country or country in dialable.ZIP_COUNTRIES):
        state = _state_of_zip(zip_code)
        if state:
            return state
    return _state_of_number(mode.number_e164)


# --- the state rule --------------------------------------------------------------


def state_law_allows(
    law: StateLaw | None, barred: set[dt.date], zones: dialable.Zones, now: dt.datetime
) -> bool:
    """No row: allowed. Else, in every candidate zone of the callee, today is
    not barred (its weekday has hours, its date is not barred) and now is
    inside today's hours (start included, end excluded). Unknown zone: no."""
    if law is None:
        return True
    if zones.unknown:
        return False
    for name in zones.names:
        local = now.astimezone(zoneinfo.ZoneInfo(name))
        hours = law.hours(local.weekday())
        if hours is None or local.date() in barred:
            return False
        start, end = hours
        if not start <= local.time().replace(tzinfo=None) < end:
            return False
    return True


# --- the check -------------------------------------------------------------------


def _not_judged(request: ContactRequest, code: str, **words) -> dict:
    return {
        **_head(request, request.mode_id),
        "CValue": "",
        "TimeZone": "",
        "TimeZone1": "",
        "TimeZone2": "",
        "TimeZone3": "",
        "ModeDialingStartTime": "",
        "ModeDialingEndTime": "",
        "State": "",
        "greenzone": None,
        "statelaw": None,
        "voicemail": None,
        "DNC": None,
        "compliant": False,
        "reasons": [],
        "error": {
            "code": code,
            "msg": NOT_JUDGED[code].format(lcmkey=request.lcmkey, mode_id=request.mode_id, **words),
        },
    }


def _head(request: ContactRequest, mode_id: int | None) -> dict:
    return {
        "requestid": request.requestid,
        "lcmkey": request.lcmkey,
        **request.echoed,
        "ModeID": mode_id,
    }


def check(
    *,
    campaign_name: str,
    checks: Checks,
    contacts: list[ContactRequest],
    actor,
    now: dt.datetime | None = None,
) -> list[dict]:
    """ComplianceCheck: one result per contact, in request order."""
    now = now or timezone.now()
    agent_pk = None
    if not permissions.may_read_any_contact(actor):
        agent_pk = permissions.agent_pk_of(actor)
        if agent_pk is None:
            raise errors.NotAllowed("You may not check contacts' compliance.")
        permissions.require_agent_present(agent_pk)
    campaign = find_campaign(campaign_name)
    rules = campaigns.rules(campaign.code)

    # Batch reads: each once for every contact.
    keys = sorted({c.lcmkey for c in contacts})
    accounts = {a.account_number: a for a in Account.objects.filter(account_number__in=keys)}
    ids = [a.pk for a in accounts.values()]
    live: dict[int, dict[int, ContactMode]] = {}
    if ids:
        for mode in (
            ContactMode.objects.filter(account_id__in=ids, deleted_at=None)
            .select_related("mode_type")
            .order_by("account_id", "mode_type_id")
        ):
            live.setdefault(mode.account_id, {})[mode.mode_type_id] = mode
    own: set[int] | None = None
    if agent_pk is not None and ids:
        own = set(
            Call.objects.filter(agent_id=agent_pk, account_id__in=ids)
            .values_list("account_id", flat=True)
            .distinct()
        )
    elif agent_pk is not None:
        own = set()

    chosen: dict[str, tuple[Account, ContactMode] | dict] = {}
    for request in contacts:
        account = accounts.get(request.lcmkey)
        if account is None:
            chosen[request.requestid] = _not_judged(request, "unknown_account")
        elif own is not None and account.pk not in own:
            chosen[request.requestid] = _not_judged(request, "forbidden")
        elif account.campaign_id != campaign.code:
            chosen[request.requestid] = _not_judged(
                request, "other_campaign", campaign=campaign.name or campaign.code
            )
        elif not live.get(account.pk):
            chosen[request.requestid] = _not_judged(request, "no_live_mode")
        elif request.mode_id is not None and request.mode_id not in live[account.pk]:
            chosen[request.requestid] = _not_judged(request, "unknown_mode")
        else:
            modes = live[account.pk]
            mode = modes[request.mode_id if request.mode_id is not None else min(modes)]
            chosen[request.requestid] = (account, mode)
    judged = [v for v in chosen.values() if isinstance(v, tuple)]

    blocks = []
    if judged:
        blocks = do_not_call.blocking_rows(
            [do_not_call.as_clean(mode) for _, mode in judged],
            account_ids=[account.pk for account, _ in judged],
            campaigns=[campaign.code],
            now=now,
        )
    states = {pair: state_of(*pair) for pair in ((a, m) for a, m in judged)} if judged else {}
    laws: dict[str, StateLaw] = {}
    barred: dict[int, set[dt.date]] = {}
    wanted = sorted({s for s in states.values() if s})
    if wanted and (checks.statelaw or checks.voicemail):
        laws = {law.state: law for law in StateLaw.objects.filter(state__in=wanted)}
        if laws:
            days = (now - dt.timedelta(days=1)).date(), (now + dt.timedelta(days=1)).date()
            for law_id, day in StateLawBarredDate.objects.filter(
                state_law_id__in=[law.pk for law in laws.values()], date__range=days
            ).values_list("state_law_id", "date"):
                barred.setdefault(law_id, set()).add(day)

    results = []
    for request in contacts:
        value = chosen[request.requestid]
        if isinstance(value, dict):
            results.append(value)
            continue
        account, mode = value
        zones = zones_of(mode, account)
        window = rules.window_of(mode)
        today = now.astimezone(zoneinfo.ZoneInfo(zones.primary)).date() if zones.names else None
        shown = dialable.effective_window(zones, window, today) if today else window
        green = dialable.callable_at(zones, window, now).callable
        state = states[(account, mode)]
        law = laws.get(state)
        allowed = state_law_allows(law, barred.get(law.pk, set()) if law else set(), zones, now)
        voicemail = (
            allowed
            and (law is None or law.voicemail_allowed)
            and rules.mode(mode.mode_type_id).voicemail
        )
        dnc = (
            do_not_call.first_blocking(
                blocks, do_not_call.as_clean(mode), account_id=account.pk, campaign=campaign.code
            )
            is not None
        )
        asked = {
            "greenzone": green if checks.greenzone else None,
            "statelaw": allowed if checks.statelaw else None,
            "voicemail": voicemail if checks.voicemail else None,
        }
        reasons = []
        if asked["greenzone"] is False:
            reasons.append(OUTSIDE_WINDOW)
        if asked["statelaw"] is False:
            reasons.append(STATE_LAW)
        if asked["voicemail"] is False:
            reasons.append(VOICEMAIL_NOT_ALLOWED)
        if dnc:
            reasons.append(DO_NOT_CALL)
        zone, zone1, zone2, zone3 = zones.reply()
        results.append(
            {
                **_head(request, mode.mode_type_id),
                "CValue": mode.number,
                "TimeZone": zone,
                "TimeZone1": zone1,
                "TimeZone2": zone2,
                "TimeZone3": zone3,
                "ModeDialingStartTime": dialable.hhmm(shown.start) if shown else "",
                "ModeDialingEndTime": dialable.hhmm(shown.end) if shown else "",
                "State": state,
                **asked,
                "DNC": dnc,
                "compliant": not reasons,
                "reasons": reasons,
            }
        )
    return results


# --- the state rules' writer (the console) ---------------------------------------

_LAW_FIELDS = (
    "state",
    *(f"{day}_{end}" for day in WEEKDAYS for end in ("start", "end")),
    "voicemail_allowed",
    "note",
)


def snapshot(law: StateLaw | None) -> dict | None:
    """A state's rule with its barred dates, as the audit entry keeps it."""
    if law is None or law.pk is None:
        return None
    values = {}
    for name in _LAW_FIELDS:
        value = getattr(law, name)
        values[name] = dialable.hhmm(value) if isinstance(value, dt.time) else value
    values["barred_dates"] = [
        [f"{d.date:%Y-%m-%d}", d.note] for d in law.barred_dates.order_by("date")
    ]
    return values


def record_save(
    law: StateLaw,
    *,
    before: dict | None,
    actor,
    context: RequestContext = RequestContext(),  # noqa: B008 (frozen, no state)
) -> ModeChange | None:
    """The one audit entry of a console save of a state's rule (the form and
    its barred dates are saved in the same transaction). No change, no entry."""
    after = snapshot(law)
    if after == before:
        return None
    return append_settings_entry(
        ModeChange.Action.STATE_LAW,
        actor=actor,
        context=context,
        details={"state_law": law.state, "before": before, "after": after},
    )


@transaction.atomic
def delete_law(law: StateLaw, *, actor, context: RequestContext = RequestContext()) -> None:  # noqa: B008
    """A state's rule removed (the console's delete): one audit entry."""
    permissions.require(actor, "lcm.delete_statelaw")
    before = snapshot(law)
    state = law.state
    law.barred_dates.all().delete()
    law.delete()
    append_settings_entry(
        ModeChange.Action.STATE_LAW,
        actor=actor,
        context=context,
        details={"state_law": state, "before": before, "after": None},
    )


# The demo's rows (spec section 5): ILLUSTRATIVE DATA, NOT LEGAL ADVICE. The
# operator's counsel owns the real rules; seed_demo loads these for the demo.
ILLUSTRATIVE = "Illustrative demo data, not legal advice: the operator's counsel owns this rule."


def _hours(days, start: int, end: int) -> dict:
    return {
        f"{d}_{e}": t for d in days for e, t in (("start", dt.time(start)), ("end", dt.time(end)))
    }


_EIGHT_TO_EIGHT = _hours(WEEKDAYS, 8, 20)
DEMO_LAWS = {
    "FL": _EIGHT_TO_EIGHT,
    "WA": _EIGHT_TO_EIGHT,
    "TX": {
        **{
            f"{d}_{e}": t
            for d in WEEKDAYS[:6]
            for e, t in (("start", dt.time(9)), ("end", dt.time(21)))
        },
        "sun_start": dt.time(12),
        "sun_end": dt.time(21),
    },
    "OK": {**_EIGHT_TO_EIGHT, "sun_start": None, "sun_end": None},
}


def save_demo() -> None:
    """seed_demo's state rows (idempotent; not audited, as the rest of the demo)."""
    for state, hours in DEMO_LAWS.items():
        StateLaw.objects.update_or_create(
            state=state, defaults={**hours, "voicemail_allowed": True, "note": ILLUSTRATIVE}
        )
