"""Who may read or write a contact through a call (spec campaign-services.md
section 2, "Who may call"), for the agent's services of issue 31: the mode
catalogue, the business fields, the screen pop.

The rules themselves are lcm.actions.permissions' (`may_read_any_contact`,
`may_act_for_agent`); this module applies them, in the order the other
services do (SetNewModeNumber, SetDNC, callbacks): the call (404
`unknown_call`), who is asking (403 `forbidden`), the account (404
`unknown_account`, 409 `call_account_mismatch`), the vendor's pre-requisite
(409 `prerequisite_failed`).

- An integration user (`lcm.act_for_any_agent`), a supervisor or an auditor
  (`lcm.view_contactmode`) reads any call's contact.
- An agent's token reads only through its own calls, while that call is
  active or the agent is logged in.
- A write names its `AgentID`: an agent's token only itself, on its own
  call; an integration user any agent, on that agent's call. Supervisors
  and auditors never write through the envelope.
"""

from __future__ import annotations

from dataclasses import dataclass

from lcm import errors
from lcm.models import Account, Agent, Call

from . import permissions

NOT_YOUR_CALL = "Call {callid} is not handled by you."
NO_READER = "You may not read contacts."
PREREQUISITE_MSG = "The agent must be on an active call or logged in."


@dataclass(frozen=True)
class Access:
    call: Call
    account: Account
    agent: Agent | None  # the agent acting (a write), or the reading agent; None: integration/staff


def _agent_of(actor) -> Agent | None:
    if actor is None or not actor.is_authenticated:
        return None
    return Agent.objects.filter(user_id=actor.pk).first()


def _check_account(call: Call, callid: str, account_number: str) -> None:
    if call.account.account_number != account_number:
        if not Account.objects.filter(account_number=account_number).exists():
            raise errors.UnknownAccount(f"Unknown AccountNumber: {account_number}")
        raise errors.CallAccountMismatch(
            f"Call {callid} is not on account {account_number}.",
            msg="This call belongs to another account.",
        )


def _prerequisite(call: Call, agent: Agent) -> None:
    if call.state != Call.State.ACTIVE and not agent.is_logged_in:
        raise errors.PrerequisiteFailed(
            f"Call {call.callid} is {call.get_state_display().lower()} and agent "
            f"{agent.agent_id} is not logged in.",
            msg=PREREQUISITE_MSG,
        )


def _call(callid: str, *, lock: bool = False) -> Call:
    calls = Call.objects.select_related("agent", "account")
    if lock:
        calls = calls.select_for_update(of=("account",))
    call = calls.filter(callid=callid).first()
    if call is None:
        raise errors.UnknownCall(callid)
    return call


def for_read(*, callid: str, account_number: str, actor) -> Access:
    """The call and its account, when `actor` may read them (module doc)."""
    call = _call(callid)
    if permissions.may_read_any_contact(actor):
        _check_account(call, callid, account_number)
        return Access(call, call.account, None)
    agent = _agent_of(actor)
    if agent is None:
        raise errors.NotAllowed(NO_READER)
    if call.agent_id != agent.pk:
        raise errors.NotAllowed(NOT_YOUR_CALL.format(callid=callid))
    _check_account(call, callid, account_number)
    _prerequisite(call, agent)
    return Access(call, call.account, agent)


def for_write(*, callid: str, account_number: str, agent_id: str, actor) -> Access:
    """The call, its account (locked: a second write on the account waits)
    and the agent `agent_id`, when `actor` may write as that agent."""
    call = _call(callid, lock=True)
    agent = call.agent if call.agent.agent_id == agent_id else None
    if agent is None:
        agent = Agent.objects.filter(agent_id=agent_id).first()
    if agent is None:
        if not permissions.may_act_for_any_agent(actor):
            raise errors.NotAllowed(f"You may not act for agent {agent_id}.")
        raise errors.UnknownAgent(f"Unknown AgentID: {agent_id}")
    if not permissions.may_act_for_agent(actor, agent):
        raise errors.NotAllowed(f"You may not act for agent {agent_id}.")
    if call.agent_id != agent.pk:
        if not permissions.may_act_for_any_agent(actor):
            raise errors.NotAllowed(NOT_YOUR_CALL.format(callid=callid))
        raise errors.CallAgentMismatch(
            f"Call {callid} is not handled by agent {agent_id}.",
            msg="This call belongs to another agent.",
        )
    _check_account(call, callid, account_number)
    _prerequisite(call, agent)
    return Access(call, call.account, agent)


def reader_agent(actor) -> Agent | None:
    """For a read without a call (the inbound lookup): None for an
    integration user, a supervisor or an auditor; the agent of an agent's
    token, which must be logged in (409 `prerequisite_failed`); anyone else
    is refused (403)."""
    if permissions.may_read_any_contact(actor):
        return None
    agent = _agent_of(actor)
    if agent is None:
        raise errors.NotAllowed(NO_READER)
    if not agent.is_logged_in:
        raise errors.PrerequisiteFailed(
            f"Agent {agent.agent_id} is not logged in.", msg="The agent must be logged in."
        )
    return agent
