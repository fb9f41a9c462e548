"""Callbacks bound to a mode (dialable-modes.md section 4): scheduling them
(SetCallbackWithComments, SetPersonalCallbackWithComments), asking about
them (ScheduledCallBackOverlap, GetPersonalCallbackList), the dialer
closing them, and the supervisors reassigning or cancelling them.

Every change runs in one transaction and appends one audit entry to the
ModeChange chain (`action = "callback"`, the event in `ModeChange.callback`,
`modes = []`: a callback changes no mode; `old_number`/`new_number` are the
number the mode holds at that moment, so the log still replays).

A callback is bound to the account's ModeID *and* the number's identity at
scheduling time. Its status (`attention`) is read live, as do-not-call is:
a callback whose mode was deleted, holds another number or went on the
do-not-call list is not due, and is shown to supervisors as needing
attention.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from lcm import dialable, errors
from lcm.audit import append_entry
from lcm.conf import lcm_settings
from lcm.models import Account, Agent, Callback, ContactMode, ModeChange, ModeType
from lcm.numbers import CleanNumber

from . import RequestContext, agent_requests, dialing, do_not_call, permissions

MANAGE_CALLBACKS = permissions.MANAGE_CALLBACKS
CHANGE_CALLBACKS = permissions.CHANGE_CALLBACKS

MAX_DAYS_AHEAD = 31
MAX_WINDOW = dt.timedelta(hours=8)
MAX_PAGE = 100
NO_CONTEXT = RequestContext()

# --- Texts (tests import them) ---------------------------------------------------

NO_LIVE_MODE = "Account {account} has no live mode {mode_id}: a callback needs a live number."
ON_DNC = "Mode {mode_id} ({number}) is on the do-not-call list: it may not be called back."
ZONE_UNKNOWN = "Mode {mode_id} has no known time zone: its calling window cannot be placed."
END_BEFORE_START = "The end ({end}) must be after the start ({start})."
IN_THE_PAST = "The start ({start}) is in the past (it is {now} in {zone})."
TOO_FAR = f"The start ({{start}}) is more than {MAX_DAYS_AHEAD} days ahead."
TOO_LONG = "The window ({start} to {end}) is longer than 8 hours."
OUTSIDE_WINDOW = (
    "Mode {mode_id} may be called only {window} ({zone}); {start} to {end} never overlaps it."
)
OVERLAP = "Agent {agent} already has personal callback #{other} from {start} to {end}."
UNKNOWN_CALLBACK = "There is no callback {ref}."
CLOSED = "Callback #{pk} is already {state}."
CLOSED_OTHERWISE = "Callback #{pk} is already done with outcome {outcome!r}."
NOT_SCHEDULED = "Callback #{pk} is {state}: only a scheduled callback can be changed."
SAME_AGENT = "Callback #{pk} is already assigned to {agent}."

ATTENTION_DELETED = "mode {mode_id} was deleted"
ATTENTION_CHANGED = "mode {mode_id} now holds {number}, not {was}"
ATTENTION_DNC = "{number} is on the do-not-call list"
ATTENTION_CONTACT_DNC = "the whole contact is on the do-not-call list"


class CallbackRefused(errors.InvalidInput):
    code = "invalid_callback_window"


class CallbackInPast(errors.InvalidInput):
    code = "callback_in_past"


class CallbackTooFar(errors.InvalidInput):
    code = "callback_too_far"


class CallbackTooLong(errors.InvalidInput):
    code = "callback_too_long"


class OutsideCallingWindow(errors.Conflict):
    code = "outside_calling_window"


class CallbackOverlap(errors.Conflict):
    code = "callback_overlap"


class UnknownCallback(errors.NotFound):
    code = "unknown_callback"


class CallbackClosed(errors.Conflict):
    code = "callback_closed"


# --- Local windows -----------------------------------------------------------------


@dataclass(frozen=True)
class LocalWindow:
    """Dates and times as the agent typed them, in the callee's local time.
    `fields` names the data parameters, for refusals."""

    start_date: dt.date
    start_time: dt.time
    end_date: dt.date
    end_time: dt.time
    fields: tuple[str, str, str, str] = ("StartDate", "StartTime", "EndDate", "EndTime")

    def aware(self, zone: str) -> tuple[dt.datetime, dt.datetime]:
        tz = zoneinfo.ZoneInfo(zone)
        return (
            dt.datetime.combine(self.start_date, self.start_time, tzinfo=tz),
            dt.datetime.combine(self.end_date, self.end_time, tzinfo=tz),
        )


def ddmmyyyy(moment: dt.datetime) -> str:
    return moment.strftime("%d/%m/%Y")


def _shown(moment: dt.datetime) -> str:
    return moment.strftime("%d/%m/%Y %H:%M")


def _check_order(local: LocalWindow, start: dt.datetime, end: dt.datetime) -> None:
    if end <= start:
        field = local.fields[2] if local.end_date < local.start_date else local.fields[3]
        text = END_BEFORE_START.format(start=_shown(start), end=_shown(end))
        raise errors.EndBeforeStart(text, fields={field: [text]})


def check_window(
    local: LocalWindow, zone: str, now: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    """The callback's window as aware datetimes in `zone`, or the refusal:
    end before start, a start in the past (the current minute is not past),
    more than 31 days ahead, longer than 8 hours."""
    start, end = local.aware(zone)
    _check_order(local, start, end)
    local_now = now.astimezone(zoneinfo.ZoneInfo(zone))
    if start < local_now.replace(second=0, microsecond=0):
        text = IN_THE_PAST.format(start=_shown(start), now=_shown(local_now), zone=zone)
        field = local.fields[0] if start.date() < local_now.date() else local.fields[1]
        raise CallbackInPast(text, fields={field: [text]})
    if start > now + dt.timedelta(days=MAX_DAYS_AHEAD):
        text = TOO_FAR.format(start=_shown(start))
        raise CallbackTooFar(text, fields={local.fields[0]: [text]})
    if end - start > MAX_WINDOW:
        text = TOO_LONG.format(start=_shown(start), end=_shown(end))
        raise CallbackTooLong(text, fields={local.fields[3]: [text]})
    return start, end


def overlaps_calling_window(channel: dialing.DialableMode, start, end) -> bool:
    """Whether [start, end) shares a moment with the mode's calling window
    (the strictest overlap of its candidate zones) on some day."""
    tz = zoneinfo.ZoneInfo(channel.zones.primary)
    day = start.astimezone(tz).date() - dt.timedelta(days=1)
    last = end.astimezone(tz).date() + dt.timedelta(days=1)
    while day <= last:
        window = dialable.effective_window(channel.zones, channel.window, day)
        if window is not None:
            opens = dt.datetime.combine(day, window.start, tzinfo=tz)
            closes = dt.datetime.combine(day, window.end, tzinfo=tz)
            if opens < end and start < closes:
                return True
        day += dt.timedelta(days=1)
    return False


def personal_overlaps(agent: Agent, start: dt.datetime, end: dt.datetime):
    """The agent's scheduled personal callbacks sharing a moment with
    [start, end): one rule for SetPersonalCallbackWithComments' refusal and
    ScheduledCallBackOverlap's answer."""
    return Callback.objects.filter(
        agent=agent,
        kind=Callback.Kind.PERSONAL,
        state=Callback.State.SCHEDULED,
        window_start__lt=end,
        window_end__gt=start,
    ).order_by("window_start", "pk")


# --- Audit -------------------------------------------------------------------------


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _entry(
    callback: Callback,
    event: str,
    *,
    actor,
    context: RequestContext,
    call=None,
    agent: Agent | None = None,
    **details,
) -> ModeChange:
    """The audit entry of one callback event, appended last in the transaction."""
    live = (
        ContactMode.objects.filter(
            account_id=callback.account_id, mode_type_id=callback.mode_id, deleted_at=None
        )
        .values_list("number", "number_e164")
        .first()
    )
    number, e164 = live or ("", "")
    user = actor if actor is not None and actor.is_authenticated else None
    return append_entry(
        ModeChange(
            action=ModeChange.Action.CALLBACK,
            account_id=callback.account_id,
            account_number=callback.account.account_number,
            call=call,
            callid=call.callid if call is not None else "",
            agent=agent,
            agent_code=agent.agent_id if agent is not None else "",
            user=user,
            username=permissions.username(actor),
            source=context.source,
            mode_id=callback.mode_id,
            old_number=number,
            new_number=number,
            new_number_e164=e164,
            deleted_modes=[],
            modes=[],
            callback={
                "event": event,
                "id": callback.pk,
                "kind": callback.kind,
                "number": callback.number,
                "start": _iso(callback.window_start),
                "end": _iso(callback.window_end),
                "time_zone": callback.time_zone,
                "agent": callback.agent.agent_id,
                "comments": callback.comments,
                "state": callback.state,
                "outcome": callback.outcome,
                **details,
            },
            client_ip=context.client_ip,
            request_id=context.request_id,
        )
    )


# --- Scheduling --------------------------------------------------------------------


def _load(*, callid, account_number, user_id, actor, personal: bool):
    """The envelope's checks of SetNewModeNumber (agent_requests), then the
    full account row (locked by the load) and the UserID's agent."""
    if not callid or not callid.strip():
        raise errors.CallidEmpty(fields={"callid": ["This field may not be blank."]})
    call, _ = agent_requests.load_call_locking_account(
        callid=callid,
        mode_id=None,
        contact_number=None,
        account_number=account_number,
        agent_id=user_id,
        actor=actor,
        call_of_agent=not (personal and permissions.may_act_for_any_agent(actor)),
    )
    account = Account.objects.get(pk=call.account_id)
    agent = call.agent if call.agent.agent_id == user_id else Agent.objects.get(agent_id=user_id)
    return call, account, agent


def _account_zone(account: Account) -> str:
    zones = dialable.time_zones(
        e164="",
        account_time_zone=account.time_zone,
        account_zip=account.zip_code,
        account_country=account.country,
        default_time_zone=lcm_settings.LCM_DEFAULT_TIME_ZONE,
    )
    return zones.primary


@transaction.atomic
def schedule(
    *,
    kind: str,
    callid: str,
    account_number: str,
    mode_id: int,
    user_id: str,
    local: LocalWindow,
    comments: str = "",
    actor,
    context: RequestContext = NO_CONTEXT,
    now: dt.datetime | None = None,
) -> Callback:
    """SetCallbackWithComments / SetPersonalCallbackWithComments.

    Checks, in order: the call, identity and pre-requisite (as
    SetNewModeNumber), the mode live and not on the do-not-call list, its
    zone known, the window (`check_window`), the mode's calling window
    overlapping it, and for a personal callback no other of that agent's
    overlapping it. The same request repeated answers the same callback
    and writes nothing.
    """
    now = now or timezone.now()
    personal = kind == Callback.Kind.PERSONAL
    call, account, agent = _load(
        callid=callid, account_number=account_number, user_id=user_id, actor=actor,
        personal=personal,
    )  # fmt: skip
    field = "CallbackModeId"
    mode = (
        ContactMode.objects.filter(account=account, mode_type_id=mode_id, deleted_at=None)
        .select_related("mode_type")
        .first()
    )
    if mode is None:
        text = NO_LIVE_MODE.format(account=account.account_number, mode_id=mode_id)
        raise errors.NoLiveMode(text, fields={field: [text]})
    channel = dialing.dialable_modes(account, [mode], now=now)[0]
    if channel.do_not_call:
        text = ON_DNC.format(mode_id=mode_id, number=mode.number)
        raise errors.DoNotCall(text, fields={field: [text]})
    if channel.zones.unknown:
        text = ZONE_UNKNOWN.format(mode_id=mode_id)
        raise OutsideCallingWindow(text, fields={field: [text]})
    zone = channel.zones.primary
    start, end = check_window(local, zone, now)
    if not overlaps_calling_window(channel, start, end):
        text = OUTSIDE_WINDOW.format(
            mode_id=mode_id, window=channel.window, zone=zone, start=_shown(start),
            end=_shown(end),
        )  # fmt: skip
        raise OutsideCallingWindow(text, fields={"StartTime": [text]})

    same = Callback.objects.filter(
        kind=kind, account=account, mode_id=mode_id, number=mode.number, agent=agent,
        window_start=start, window_end=end, comments=comments, state=Callback.State.SCHEDULED,
    ).first()  # fmt: skip
    if same is not None:
        return same
    if personal:
        Agent.objects.select_for_update().filter(pk=agent.pk).first()  # one agent's at a time
        other = personal_overlaps(agent, start, end).first()
        if other is not None:
            text = OVERLAP.format(
                agent=agent.agent_id, other=other.pk,
                start=_shown(other.window_start.astimezone(zoneinfo.ZoneInfo(other.time_zone))),
                end=_shown(other.window_end.astimezone(zoneinfo.ZoneInfo(other.time_zone))),
            )  # fmt: skip
            raise CallbackOverlap(text, fields={"StartTime": [text]})
    callback = Callback.objects.create(
        kind=kind,
        account=account,
        mode_id=mode_id,
        number=mode.number,
        number_e164=mode.number_e164,
        number_national=mode.number_national,
        time_zone=zone,
        window_start=start,
        window_end=end,
        start_date=start.date(),
        agent=agent,
        call_id=call.pk,
        callid=call.callid,
        comments=comments,
        created_at=now,
        created_by=permissions.username(actor, agent.agent_id),
    )
    _entry(callback, "scheduled", actor=actor, context=context, call=call, agent=agent)
    return callback


@transaction.atomic
def overlap(*, callid, account_number, user_id, local: LocalWindow, actor) -> bool:
    """ScheduledCallBackOverlap: whether agent `user_id` already has a
    scheduled personal callback sharing a moment with the window. The
    dates and times are the callee's local time: the account's zone (its
    TimeZone, else by ZIP code or country, else LCM_DEFAULT_TIME_ZONE)."""
    _, account, agent = _load(
        callid=callid, account_number=account_number, user_id=user_id, actor=actor,
        personal=True,
    )  # fmt: skip
    zone = _account_zone(account)
    if not zone:
        text = "The account has no known time zone: set its TimeZone."
        raise errors.InvalidInput(text, fields={"AccountNumber": [text]})
    start, end = local.aware(zone)
    _check_order(local, start, end)
    return personal_overlaps(agent, start, end).exists()


def _agent_for_reading(user_id: str, actor) -> Agent:
    agent = Agent.objects.filter(agent_id=user_id).first()
    if agent is None:
        if not permissions.may_act_for_any_agent(actor):
            raise errors.NotAllowed(f"You may not act for agent {user_id}.")
        raise errors.UnknownAgent(errors.UNKNOWN_AGENT.format(agent_id=user_id))
    if not permissions.may_act_for_agent(actor, agent):
        raise errors.NotAllowed(f"You may not act for agent {user_id}.")
    return agent


@dataclass(frozen=True)
class Page:
    callbacks: list[Callback]
    total: int
    first_row: int


def personal_list(
    *, user_id: str, from_date: dt.date, to_date: dt.date, first: int, count: int, actor
) -> Page:
    """GetPersonalCallbackList: the agent's scheduled personal callbacks
    starting (callee's local date) from `from_date` to `to_date` inclusive,
    soonest first; `first` is 1-based, `count` at most 100."""
    agent = _agent_for_reading(user_id, actor)
    if to_date < from_date:
        text = f"ToDate ({to_date:%d/%m/%Y}) is before FromDate ({from_date:%d/%m/%Y})."
        raise errors.EndBeforeStart(text, fields={"ToDate": [text]})
    rows = Callback.objects.filter(
        agent=agent,
        kind=Callback.Kind.PERSONAL,
        state=Callback.State.SCHEDULED,
        start_date__gte=from_date,
        start_date__lte=to_date,
    ).select_related("account")
    total = rows.count()
    page = list(rows.order_by("window_start", "pk")[first - 1 : first - 1 + count])
    return Page(page, total, first)


def mode_names() -> dict[int, str]:
    return dict(ModeType.objects.values_list("id", "name"))


# --- Status: due, overdue, needing attention ----------------------------------------


def attention(callbacks: list[Callback], *, now: dt.datetime) -> dict[int, str]:
    """Why each scheduled callback may not be dialled as scheduled (pk →
    reason): its mode deleted, holding another number, or its number (or
    the whole contact) on the do-not-call list now, by the same rules as
    `dialing.dialable_modes`. Callbacks absent from the result are fine."""
    if not callbacks:
        return {}
    live = {
        (row.account_id, row.mode_type_id): row
        for row in ContactMode.objects.filter(
            account_id__in={cb.account_id for cb in callbacks}, deleted_at=None
        ).only("account_id", "mode_type_id", "number", "number_e164", "number_national")
    }
    numbers = {
        cb.pk: CleanNumber(cb.number, cb.number_e164, cb.number_national) for cb in callbacks
    }
    rows = do_not_call.blocking_rows(
        set(numbers.values()),
        account_ids={cb.account_id for cb in callbacks},
        campaigns={cb.account.campaign_id for cb in callbacks},
        now=now,
    )
    reasons = {}
    for cb in callbacks:
        mode = live.get((cb.account_id, cb.mode_id))
        if mode is None:
            reasons[cb.pk] = ATTENTION_DELETED.format(mode_id=cb.mode_id)
        elif (mode.number_e164 or mode.number) != cb.identity:
            reasons[cb.pk] = ATTENTION_CHANGED.format(
                mode_id=cb.mode_id, number=mode.number, was=cb.number
            )
        else:
            row = do_not_call.first_blocking(
                rows, numbers[cb.pk], account_id=cb.account_id, campaign=cb.account.campaign_id
            )
            if row is not None and row.scope == row.Scope.CONTACT:
                reasons[cb.pk] = ATTENTION_CONTACT_DNC
            elif row is not None:
                reasons[cb.pk] = ATTENTION_DNC.format(number=cb.number)
    return reasons


def due(*, actor, now: dt.datetime | None = None, offset: int = 0, limit: int = MAX_PAGE):
    """The dialer's list: scheduled callbacks whose window is open now and
    that need no attention, oldest first. Returns (page, total)."""
    permissions.require(actor, MANAGE_CALLBACKS)
    ready = due_now(now or timezone.now())
    return ready[offset : offset + limit], len(ready)


def due_now(now: dt.datetime) -> list[Callback]:
    """Scheduled callbacks whose window is open at `now` and that need no
    attention, oldest first: the dialer's due list, the console's "Due now"
    filter and the dashboard's figure. Reads only; callers check who asks."""
    open_now = list(
        Callback.objects.filter(
            state=Callback.State.SCHEDULED, window_start__lte=now, window_end__gt=now
        )
        .select_related("account", "agent")
        .order_by("window_start", "pk")
    )
    flagged = attention(open_now, now=now)
    return [cb for cb in open_now if cb.pk not in flagged]


def overdue(now: dt.datetime):
    """Scheduled callbacks whose window has passed (a queryset)."""
    return Callback.objects.filter(state=Callback.State.SCHEDULED, window_end__lte=now)


# --- Closing and changing ------------------------------------------------------------


def _locked(callback_id: int) -> Callback:
    callback = (
        Callback.objects.select_for_update()
        .filter(pk=callback_id)
        .select_related("account", "agent")
        .first()
    )
    if callback is None:
        raise UnknownCallback(UNKNOWN_CALLBACK.format(ref=callback_id))
    return callback


@transaction.atomic
def close(
    *,
    callback_id: int,
    state: str,
    outcome: str = "",
    actor,
    context: RequestContext = NO_CONTEXT,
    now: dt.datetime | None = None,
) -> tuple[Callback, bool]:
    """The dialer closes a callback as done (with an outcome) or cancelled.
    Repeating the same close answers the callback as it is (False: nothing
    changed); closing it otherwise is refused (409)."""
    permissions.require(actor, MANAGE_CALLBACKS)
    callback = _locked(callback_id)
    if callback.state == state and (state != Callback.State.DONE or callback.outcome == outcome):
        return callback, False
    if callback.state == Callback.State.DONE and state == Callback.State.DONE:
        raise CallbackClosed(CLOSED_OTHERWISE.format(pk=callback.pk, outcome=callback.outcome))
    if callback.state != Callback.State.SCHEDULED:
        raise CallbackClosed(CLOSED.format(pk=callback.pk, state=callback.state))
    callback.state = state
    callback.outcome = outcome
    callback.closed_at = now or timezone.now()
    callback.closed_by = permissions.username(actor)
    callback.save(update_fields=["state", "outcome", "closed_at", "closed_by"])
    _entry(callback, state, actor=actor, context=context)
    return callback, True


@transaction.atomic
def cancel_as_supervisor(
    *, callback_id: int, reason: str, actor, context: RequestContext = NO_CONTEXT
) -> Callback:
    permissions.require(actor, CHANGE_CALLBACKS)
    callback = _locked(callback_id)
    if callback.state != Callback.State.SCHEDULED:
        raise CallbackClosed(NOT_SCHEDULED.format(pk=callback.pk, state=callback.state))
    callback.state = Callback.State.CANCELLED
    callback.outcome = reason
    callback.closed_at = timezone.now()
    callback.closed_by = permissions.username(actor)
    callback.save(update_fields=["state", "outcome", "closed_at", "closed_by"])
    _entry(callback, "cancelled", actor=actor, context=context, reason=reason)
    return callback


@transaction.atomic
def reassign(
    *, callback_id: int, agent_id: str, actor, context: RequestContext = NO_CONTEXT
) -> Callback:
    """A supervisor gives a scheduled callback to another agent. A personal
    callback must not then overlap that agent's own."""
    permissions.require(actor, CHANGE_CALLBACKS)
    callback = _locked(callback_id)
    if callback.state != Callback.State.SCHEDULED:
        raise CallbackClosed(NOT_SCHEDULED.format(pk=callback.pk, state=callback.state))
    agent = Agent.objects.select_for_update().filter(agent_id=agent_id).first()
    if agent is None:
        text = errors.UNKNOWN_AGENT.format(agent_id=agent_id)
        raise errors.UnknownAgent(text, fields={"agent": [text]})
    if agent.pk == callback.agent_id:
        raise errors.NothingChanged(SAME_AGENT.format(pk=callback.pk, agent=agent.agent_id))
    if callback.kind == Callback.Kind.PERSONAL:
        other = personal_overlaps(agent, callback.window_start, callback.window_end).first()
        if other is not None:
            text = OVERLAP.format(
                agent=agent.agent_id, other=other.pk, start=_shown(other.window_start),
                end=_shown(other.window_end),
            )  # fmt: skip
            raise CallbackOverlap(text, fields={"agent": [text]})
    was = callback.agent.agent_id
    callback.agent = agent
    callback.save(update_fields=["agent"])
    _entry(callback, "reassigned", actor=actor, context=context, from_agent=was)
    return callback


def erase_for_account(account, *, by: str, now) -> int:
    """Erasure (lcm.actions.erasure): the account's scheduled callbacks
    cancelled (outcome "erased"), and the numbers and comments of all its
    callbacks blanked. Returns how many were blanked."""
    rows = Callback.objects.filter(account=account)
    rows.filter(state=Callback.State.SCHEDULED).update(
        state=Callback.State.CANCELLED, outcome="erased", closed_at=now, closed_by=by
    )
    return rows.update(number="", number_e164="", number_national="", comments="")
