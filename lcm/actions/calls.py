"""Call lifecycle and agent sessions: the dialer/CTI intake
(`lcm.api.intake`) and the console's legitimate actions on them.

Every state change of a call or an agent records who made it: a
`CallEvent` per call change, an `AgentSessionEvent` per login or logout.
Each action checks its permission first (`permissions`).

The agent's state (SendAgentState: READY, NOT_READY, TALKING, WORK) is kept
on the same agent session (`Agent.state`), written by `set_agent_state`:
each change one audit entry (action `agent_state`, no account).
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from lcm import errors
from lcm.audit import append_entry
from lcm.models import Account, Agent, AgentSessionEvent, AgentState, Call, CallEvent, ModeChange

from . import RequestContext, permissions


def _record(call: Call, event: str, at: datetime, actor, reason: str = "") -> CallEvent:
    return CallEvent.objects.create(
        call=call,
        event=event,
        at=at,
        user=actor if actor is not None and actor.is_authenticated else None,
        username=permissions.username(actor),
        reason=reason,
    )


REASON_MAX_LENGTH = 500


def _reason(reason: str) -> str:
    """A console action says why; the reason is kept with the event."""
    reason = " ".join((reason or "").split())
    if not reason:
        message = errors.REASON_REQUIRED
        raise errors.ReasonRequired(message, fields={"reason": [message]})
    if len(reason) > REASON_MAX_LENGTH:
        message = f"Keep the reason under {REASON_MAX_LENGTH} characters."
        raise errors.ReasonRequired(message, fields={"reason": [message]})
    return reason


def _agent(agent_id: str) -> Agent:
    agent = Agent.objects.filter(agent_id=agent_id).first()
    if agent is None:
        raise errors.UnknownAgent(errors.UNKNOWN_AGENT.format(agent_id=agent_id))
    return agent


@transaction.atomic
def register_call(
    *,
    callid: str,
    account_number: str,
    agent_id: str,
    started_at: datetime,
    actor: AbstractBaseUser | None = None,
) -> tuple[Call, bool]:
    """The dialer delivered call `callid` on an account to an agent.

    Idempotent by callid: registering it again with the same account, agent
    and start time returns the stored call (`created` False), whatever state
    it reached since. The same callid with another account, agent or start
    time is a conflict (409), and changes nothing.
    """
    permissions.require(actor, permissions.MANAGE_CALLS)
    agent = _agent(agent_id)
    account = Account.objects.filter(account_number=account_number).first()
    if account is None:
        raise errors.UnknownAccount(errors.UNKNOWN_ACCOUNT.format(account_number=account_number))

    call = Call.objects.select_related("account", "agent").filter(callid=callid).first()
    created = False
    if call is None:
        try:
            with transaction.atomic():  # a savepoint: a concurrent twin may win
                call = Call.objects.create(
                    callid=callid, account=account, agent=agent, started_at=started_at
                )
                _record(call, CallEvent.Event.REGISTERED, started_at, actor)
            created = True
        except IntegrityError:
            call = Call.objects.select_related("account", "agent").get(callid=callid)
    if not created:
        if call.account_id != account.pk:
            raise errors.CallAccountMismatch(
                errors.CALL_ACCOUNT_TAKEN.format(
                    callid=callid, account_number=call.account.account_number
                ),
                msg="This callid belongs to another account.",
            )
        if call.agent_id != agent.pk:
            raise errors.CallAgentMismatch(
                errors.CALL_AGENT_TAKEN.format(callid=callid, agent_id=call.agent.agent_id),
                msg="This callid belongs to another agent.",
            )
        if call.started_at != started_at:
            raise errors.CallStartMismatch(
                errors.CALL_START_MISMATCH.format(
                    callid=callid, started_at=call.started_at.isoformat()
                ),
                msg="This callid was registered with another start time.",
            )
    return call, created


def _locked_call(callid: str) -> Call:
    call = (
        Call.objects.select_related("account", "agent")
        .select_for_update(of=("self",))
        .filter(callid=callid)
        .first()
    )
    if call is None:
        raise errors.UnknownCall(callid)
    return call


@transaction.atomic
def wrap_up_call(*, callid: str, actor: AbstractBaseUser | None = None) -> tuple[Call, bool]:
    """The agent finished talking: an active call moves to wrap-up.

    Returns the call and whether it changed; a call already in wrap-up is
    left as it is. An ended call cannot go back (409).
    """
    permissions.require(actor, permissions.MANAGE_CALLS)
    call = _locked_call(callid)
    if call.state == Call.State.ENDED:
        raise errors.CallEnded(
            errors.CALL_ENDED.format(callid=callid, ended_at=call.ended_at.isoformat()),
            msg="The call has ended; it cannot move to wrap-up.",
        )
    if call.state == Call.State.WRAP_UP:
        return call, False
    call.state = Call.State.WRAP_UP
    call.save(update_fields=["state"])
    _record(call, CallEvent.Event.WRAP_UP, timezone.now(), actor)
    return call, True


@transaction.atomic
def end_call(
    *, callid: str, ended_at: datetime | None = None, actor: AbstractBaseUser | None = None
) -> tuple[Call, bool]:
    """The call is over (from active or wrap-up), at `ended_at` (default now).

    Ending an ended call again is harmless when it names no end time or the
    same one; another end time is a conflict (409). An end before the start
    is refused (400).
    """
    permissions.require(actor, permissions.MANAGE_CALLS)
    call = _locked_call(callid)
    if call.state == Call.State.ENDED:
        if ended_at is None or ended_at == call.ended_at:
            return call, False
        raise errors.CallEnded(
            errors.CALL_ENDED.format(callid=callid, ended_at=call.ended_at.isoformat()),
            msg="The call has already ended at another time.",
        )
    ended_at = ended_at or timezone.now()
    if ended_at < call.started_at:
        message = errors.END_BEFORE_START.format(
            ended_at=ended_at.isoformat(), started_at=call.started_at.isoformat()
        )
        raise errors.EndBeforeStart(message, fields={"EndTime": [message]})
    call.state = Call.State.ENDED
    call.ended_at = ended_at
    call.save(update_fields=["state", "ended_at"])
    _record(call, CallEvent.Event.ENDED, ended_at, actor)
    return call, True


@transaction.atomic
def end_stuck_call(*, callid: str, reason: str, actor: AbstractBaseUser | None) -> CallEvent:
    """The console's way to end a call the dialer never ended: now, with a
    reason, recorded as a `CallEvent` like the dialer's own end. A call
    that has already ended is refused (nothing changes)."""
    permissions.require(actor, permissions.END_STUCK_CALLS)
    reason = _reason(reason)
    call = _locked_call(callid)
    if call.state == Call.State.ENDED:
        raise errors.CallEnded(
            errors.CALL_ENDED.format(callid=callid, ended_at=call.ended_at.isoformat()),
            msg=errors.CALL_ALREADY_ENDED.format(
                callid=callid, ended_at=f"{timezone.localtime(call.ended_at):%Y-%m-%d %H:%M:%S %Z}"
            ),
        )
    ended_at = max(timezone.now(), call.started_at)  # a start in the future still ends after it
    call.state = Call.State.ENDED
    call.ended_at = ended_at
    call.save(update_fields=["state", "ended_at"])
    return _record(call, CallEvent.Event.ENDED, ended_at, actor, reason)


@transaction.atomic
def log_agent_out_from_console(
    *, agent_id: str, reason: str, actor: AbstractBaseUser | None
) -> AgentSessionEvent:
    """The console's way to log out an agent whose logout never arrived:
    now, with a reason, recorded as an `AgentSessionEvent`. An agent who is
    not logged in is refused (nothing changes)."""
    permissions.require(actor, permissions.LOG_AGENTS_OUT)
    reason = _reason(reason)
    agent = Agent.objects.select_for_update().filter(agent_id=agent_id).first()
    if agent is None:
        raise errors.UnknownAgent(errors.UNKNOWN_AGENT.format(agent_id=agent_id))
    if not agent.is_logged_in:
        raise errors.AgentNotLoggedIn(errors.AGENT_NOT_LOGGED_IN.format(agent_id=agent_id))
    at = timezone.now()
    if agent.logged_in_changed_at is not None:
        at = max(at, agent.logged_in_changed_at)  # a login stamped in the future
    _, event = _set_session(
        agent_id=agent_id,
        logged_in=False,
        at=at,
        actor=actor,
        reason=reason,
        context=RequestContext(source="console"),
    )
    return event


def _set_session(
    *,
    agent_id: str,
    logged_in: bool,
    at: datetime | None,
    actor: AbstractBaseUser | None,
    reason: str = "",
    context: RequestContext = RequestContext(),  # noqa: B008 (frozen, no state)
) -> tuple[Agent, AgentSessionEvent | None]:
    """Callers check the permission first. A logout ends the agent's state
    too (`_end_state`): a logged-out agent is in no state."""
    agent = Agent.objects.select_for_update().filter(agent_id=agent_id).first()
    if agent is None:
        raise errors.UnknownAgent(errors.UNKNOWN_AGENT.format(agent_id=agent_id))
    event = AgentSessionEvent.Event.LOGIN if logged_in else AgentSessionEvent.Event.LOGOUT
    at = at or timezone.now()
    if agent.is_logged_in == logged_in:
        return agent, None  # no change, no event
    if agent.logged_in_changed_at is not None and at < agent.logged_in_changed_at:
        # Delivered out of order: a later change already happened.
        raise errors.StaleSessionEvent(
            errors.STALE_SESSION_EVENT.format(
                agent_id=agent_id,
                changed_at=agent.logged_in_changed_at.isoformat(),
                event=event,
                at=at.isoformat(),
            ),
            msg="A later login or logout of this agent was already recorded.",
        )
    agent.is_logged_in = logged_in
    agent.logged_in_changed_at = at
    agent.save(update_fields=["is_logged_in", "logged_in_changed_at"])
    recorded = AgentSessionEvent.objects.create(
        agent=agent,
        event=event,
        at=at,
        user=actor if actor is not None and actor.is_authenticated else None,
        username=permissions.username(actor),
        reason=reason,
    )
    if not logged_in and agent.state:
        _end_state(agent, at=at, actor=actor, context=context)  # the audit entry, last
    return agent, recorded


def _end_state(
    agent: Agent, *, at: datetime, actor: AbstractBaseUser | None, context: RequestContext
) -> ModeChange:
    """The agent's session ended (logout): its state, as SendAgentState last
    set it, is cleared, `state_changed_at` the logout's time, and the change
    audited as SendAgentState's are (action `agent_state`, `after` null).
    The caller holds the agent's row and appends nothing after."""
    before = agent.state
    agent.state, agent.state_changed_at = "", at
    agent.save(update_fields=["state", "state_changed_at"])
    return _state_entry(agent, before=before, after=None, actor=actor, context=context)


def _state_entry(
    agent: Agent,
    *,
    before: str,
    after: str | None,
    actor: AbstractBaseUser | None,
    context: RequestContext,
) -> ModeChange:
    return append_entry(
        ModeChange(
            action=ModeChange.Action.AGENT_STATE,
            agent=agent,
            agent_code=agent.agent_id,
            user=actor if actor is not None and actor.is_authenticated else None,
            username=permissions.username(actor),
            source=context.source,
            client_ip=context.client_ip,
            request_id=context.request_id,
            mode_id=0,
            new_number="",
            created_at=timezone.now(),
            details={"agent": agent.agent_id, "before": before or None, "after": after},
        )
    )


@transaction.atomic
def log_agent_in(
    *,
    agent_id: str,
    at: datetime | None = None,
    actor: AbstractBaseUser | None = None,
    context: RequestContext = RequestContext(),  # noqa: B008 (frozen, no state)
) -> tuple[Agent, AgentSessionEvent | None]:
    """The agent logged in to the agent application at `at` (default now).

    Records an `AgentSessionEvent` and returns it; an agent already logged
    in is left as it is (no event). A login older than the agent's last
    change is refused (409): events delivered out of order cannot undo a
    later one.
    """
    permissions.require(actor, permissions.MANAGE_AGENT_SESSIONS)
    return _set_session(agent_id=agent_id, logged_in=True, at=at, actor=actor, context=context)


@transaction.atomic
def log_agent_out(
    *,
    agent_id: str,
    at: datetime | None = None,
    actor: AbstractBaseUser | None = None,
    context: RequestContext = RequestContext(),  # noqa: B008 (frozen, no state)
) -> tuple[Agent, AgentSessionEvent | None]:
    """The agent logged out at `at` (default now); as `log_agent_in`. Its
    state (SendAgentState) ends with the session: cleared, and audited."""
    permissions.require(actor, permissions.MANAGE_AGENT_SESSIONS)
    return _set_session(agent_id=agent_id, logged_in=False, at=at, actor=actor, context=context)


@transaction.atomic
def set_agent_state(
    *,
    agent_id: str,
    state: str,
    actor: AbstractBaseUser,
    context: RequestContext = RequestContext(),  # noqa: B008 (frozen, no state)
) -> ModeChange | None:
    """SendAgentState (spec campaign-services.md section 8): the agent
    `agent_id`, logged in, is now in `state` (an `AgentState`). An agent's
    token only for itself; an integration user for anyone. A change is one
    audit entry (action `agent_state`, the agent, no account); the same
    state again changes nothing and writes none (returns None)."""
    agent = Agent.objects.select_for_update().filter(agent_id=agent_id).first()
    if agent is None:
        if not permissions.may_act_for_any_agent(actor):
            raise errors.NotAllowed(f"You may not act for agent {agent_id}.")
        raise errors.UnknownAgent(errors.UNKNOWN_AGENT.format(agent_id=agent_id))
    if not permissions.may_act_for_agent(actor, agent):
        raise errors.NotAllowed(f"You may not act for agent {agent_id}.")
    if not agent.is_logged_in:
        raise errors.PrerequisiteFailed(
            f"Agent {agent_id} is not logged in.", msg="The agent must be logged in."
        )
    state = AgentState(state)
    before = agent.state
    if before == state:
        return None
    agent.state, agent.state_changed_at = state, timezone.now()
    agent.save(update_fields=["state", "state_changed_at"])
    return _state_entry(agent, before=before, after=str(state), actor=actor, context=context)
