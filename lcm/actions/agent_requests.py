"""What an agent app asks through the envelope: SetNewModeNumber and
GetContactModes (`lcm.api.handlers` calls these).

SetNewModeNumber is the hot path: its reads are hand-written SQL, portable
to SQLite and PostgreSQL. The ORM would issue the same statements, but
building them costs several times the CPU that PostgreSQL spends running
them (profile in docs/benchmarks.md); with server-side binding
(config/settings.py) each is a prepared statement after its first uses on
a connection. `tests/test_query_budget.py` pins every statement.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from lcm import bulk, cursors, errors
from lcm.models import Account, Agent, Call, ContactMode, DoNotCallNumber, ModeChange, ModeType
from lcm.numbers import clean_for_mode

from . import RequestContext, campaigns, do_not_call, modes, permissions
from .dialing import DialableMode, dialable_modes

# The call with its agent and account, and the ModeID's type, in one round
# trip. On PostgreSQL `FOR UPDATE OF ac` locks the account row only (not the
# call, the agent or the mode type); SQLite has no row locks: its IMMEDIATE
# transaction already holds the database's write lock.
_CALL_AGENT_ACCOUNT = """
    SELECT c.id, c.callid, c.account_id, c.agent_id, c.state,
           ag.agent_id, ag.user_id, ag.is_logged_in,
           ac.account_number, ac.country, ac.campaign,
           mt.id, mt.name, mt.min_length, mt.max_length,
           cp.every_mode_type, cm.id, cm.min_length, cm.max_length
    FROM lcm_call c
    JOIN lcm_agent ag ON ag.id = c.agent_id
    JOIN lcm_account ac ON ac.id = c.account_id
    LEFT JOIN lcm_modetype mt ON mt.id = %s
    LEFT JOIN lcm_campaign cp ON cp.code = ac.campaign
    LEFT JOIN lcm_campaignmode cm ON cm.campaign_id = ac.campaign AND cm.mode_type_id = mt.id
    WHERE c.callid = %s"""
_LOCK_ACCOUNT = " FOR UPDATE OF ac"
NO_CONTEXT = RequestContext()


def _refuse_bad_input_of_unknown_call(
    *, callid: str, mode_id: int | None, contact_number: str | None
):
    """The call does not exist: still answer a bad ModeID or number first
    (400 before 404, as the checks run in that order). The error path may
    spend queries the happy path does not."""
    if mode_id is not None and contact_number is not None:
        mode_type = modes.mode_type(mode_id)
        modes.clean_for(contact_number, mode_type, Account(country=""))
    raise errors.UnknownCall(callid)


def _load_call_locking_account(
    *,
    callid: str,
    mode_id: int | None,
    contact_number: str | None,
    account_number: str,
    agent_id: str,
    actor,
    call_of_agent: bool = True,
):
    """Read call, agent, account and mode type in one query, locking the
    account row: a second request on the same account waits here, then
    sees the first one's modes. Then the checks, in the spec's order.

    `mode_id` and `contact_number` None (SetDNC): no mode type to read and
    no number to clean; the call, identity and pre-requisite checks are the
    same. Returns the call and the cleaned number (None without one).

    Callbacks (`lcm.actions.callbacks`) call it without a number too and, for the
    integration account reserving a callback for another agent,
    `call_of_agent=False`: the call may then be any agent's, and the
    pre-requisite is that agent's."""
    sql = _CALL_AGENT_ACCOUNT
    if connection.features.has_select_for_update_of:
        sql += _LOCK_ACCOUNT
    with cursors.cursor() as cursor:
        cursor.execute(sql, [mode_id, callid])
        row = cursor.fetchone()
    if row is None:
        if contact_number is None:
            raise errors.UnknownCall(callid)
        _refuse_bad_input_of_unknown_call(
            callid=callid, mode_id=mode_id, contact_number=contact_number
        )
    (call_pk, call_callid, account_pk, agent_pk, state, agent_code, user_pk, logged_in,
     call_account_number, country, campaign, type_id, type_name, min_length,
     max_length, every_mode_type, campaign_mode, campaign_min, campaign_max) = row  # fmt: skip
    if type_id is None and mode_id is not None:
        raise modes.unknown_mode_type(mode_id)
    # The campaign's rule (lcm.actions.campaigns), on the columns read above.
    if type_id is not None and not campaigns.enables(
        every_mode_type=every_mode_type, listed=campaign_mode is not None
    ):
        raise campaigns.not_enabled(mode_id, campaign)
    db = connection.alias
    call = Call.from_db(
        db, ["id", "callid", "account_id", "agent_id", "state"],
        [call_pk, call_callid, account_pk, agent_pk, state],
    )  # fmt: skip
    call.agent = Agent.from_db(
        db, ["id", "agent_id", "user_id", "is_logged_in"],
        [agent_pk, agent_code, user_pk, bool(logged_in)],
    )  # fmt: skip
    call.account = Account.from_db(
        db,
        ["id", "account_number", "campaign_id", "country"],  # the model's order (from_db)
        [account_pk, call_account_number, campaign, country],
    )
    clean = None
    if contact_number is not None:
        type_bounds = ModeType(min_length=min_length, max_length=max_length)
        mode_type = ModeType.from_db(
            db,
            ["id", "name", "min_length", "max_length"],
            [type_id, type_name, *campaigns.lengths(type_bounds, campaign_min, campaign_max)],
        )
        clean = modes.clean_for(contact_number, mode_type, call.account)

    if call.agent.agent_id == agent_id:
        agent = call.agent
    else:
        agent = Agent.objects.filter(agent_id=agent_id).first()
    if agent is None:
        if not permissions.may_act_for_any_agent(actor):
            raise errors.NotAllowed(f"You may not act for agent {agent_id}.")
        raise errors.UnknownAgent(f"Unknown AgentID: {agent_id}")
    if not permissions.may_act_for_agent(actor, agent):
        raise errors.NotAllowed(f"You may not act for agent {agent_id}.")

    if call.account.account_number != account_number:
        if not Account.objects.filter(account_number=account_number).exists():
            raise errors.UnknownAccount(f"Unknown AccountNumber: {account_number}")
        raise errors.CallAccountMismatch(
            f"Call {callid} is not on account {account_number}.",
            msg="This call belongs to another account.",
        )
    if call.agent_id != agent.pk:
        if call_of_agent:
            raise errors.CallAgentMismatch(
                f"Call {callid} is not handled by agent {agent_id}.",
                msg="This call belongs to another agent.",
            )
        agent = call.agent
    if call.state != Call.State.ACTIVE and not agent.is_logged_in:
        raise errors.PrerequisiteFailed(
            f"Call {callid} is {call.get_state_display().lower()} and agent {agent.agent_id} "
            "is not logged in.",
            msg="The agent must be on an active call or logged in.",
        )
    return call, clean


@transaction.atomic
def set_new_mode_number(
    *,
    callid: str,
    account_number: str,
    mode_id: int,
    contact_number: str,
    delete_other_modes: bool,
    agent_id: str,
    actor: AbstractBaseUser,
    context: RequestContext = NO_CONTEXT,
) -> ModeChange:
    """SetNewModeNumber: store `contact_number` in mode `mode_id` of the
    account, optionally soft-deleting its other live modes, and audit it.

    Order of checks: input (400), call, identity, account, agent and
    pre-requisite (404/403/409), do-not-call (409, in the kernel); then the
    writes. Any refusal raises an `errors.LcmError` and the transaction
    writes nothing.
    """
    if not callid or not callid.strip():
        raise errors.CallidEmpty(fields={"callid": ["This field may not be blank."]})
    call, clean = _load_call_locking_account(
        callid=callid,
        mode_id=mode_id,
        contact_number=contact_number,
        account_number=account_number,
        agent_id=agent_id,
        actor=actor,
    )
    live = modes.live_states(call.account, checking=clean)
    return modes.write(
        live=live,
        targets=modes.number_targets(
            live, mode_id, clean, contact_number, delete_other_modes=delete_other_modes
        ),
        main_mode_id=mode_id,
        by=call.agent.agent_id,
        entry=bulk.instance(
            ModeChange,
            action=ModeChange.Action.SET,
            # The keys, not the rows: nothing reads them back from the entry,
            # and a relation's descriptor costs on the hot path.
            call_id=call.pk,
            callid=call.callid,
            agent_id=call.agent_id,
            agent_code=call.agent.agent_id,
            user_id=actor.pk,
            username=actor.get_username(),
            source=context.source,
            client_ip=context.client_ip,
            request_id=context.request_id,
        ),
    )


@transaction.atomic
def set_dnc(
    *,
    callid: str,
    account_number: str,
    agent_id: str,
    whole_contact: bool,
    mode_id: int | None,
    start: dt.date | None,
    end: dt.date | None,
    campaign_specific: bool,
    comments: str,
    actor: AbstractBaseUser,
    context: RequestContext = NO_CONTEXT,
) -> tuple[DoNotCallNumber, bool]:
    """SetDNC (dialable-modes.md section 3): the customer on the line asks
    not to be called on mode `mode_id`'s number or, `whole_contact`, on any.

    Order of checks: input and period (400), then the call, identity,
    account, agent and pre-requisite checks of SetNewModeNumber (the same
    code, locking the account), then the mode (400 `unknown_mode`); then
    the block and its audit entry (`do_not_call.block`). Returns the entry
    and whether it is new (False: the same block already stood).
    """
    if not callid or not callid.strip():
        raise errors.CallidEmpty(fields={"callid": ["This field may not be blank."]})
    if not whole_contact and mode_id is None:
        raise errors.InvalidInput(
            errors.DNC_MODE_ID_REQUIRED, fields={"ModeID": [errors.DNC_MODE_ID_REQUIRED]}
        )
    starts_at, expires_at = do_not_call.period(start, end)
    call, _ = _load_call_locking_account(
        callid=callid,
        mode_id=None,
        contact_number=None,
        account_number=account_number,
        agent_id=agent_id,
        actor=actor,
    )
    number = None
    if not whole_contact:
        state = modes.live_states(call.account).state(mode_id)
        if state is None:
            message = errors.DNC_NO_LIVE_MODE.format(
                account_number=call.account.account_number, mode_id=mode_id
            )
            raise errors.UnknownModeType(message, fields={"ModeID": [message]})
        number = state.clean
    return do_not_call.block(
        account=call.account,
        number=number,
        mode_id=mode_id,
        campaign_specific=campaign_specific,
        starts_at=starts_at,
        expires_at=expires_at,
        comments=comments,
        entry=ModeChange(
            call=call,
            callid=call.callid,
            agent=call.agent,
            agent_code=call.agent.agent_id,
            user=actor,
            username=actor.get_username(),
            source=context.source,
            client_ip=context.client_ip,
            request_id=context.request_id,
        ),
    )


def contact_modes(
    *, account_number: str, callid: str | None, actor, now: dt.datetime | None = None
) -> list[DialableMode]:
    """GetContactModes: the live modes of an account, by ModeID, each as a
    dialable channel (zones, window, consent, do-not-call, callable now).

    When a callid is given it must exist and be on that account. An agent
    reads the accounts of its own calls only: the call named must be its
    own, or without a callid it must have had a call on the account.
    Integrations and users allowed to view contact modes read any account;
    anyone else is refused.
    """
    agent_pk = Agent.objects.filter(user_id=actor.pk).values_list("pk", flat=True).first()
    if agent_pk is None and not permissions.may_read_any_contact(actor):
        raise errors.NotAllowed("You may not read contact modes.")
    account = Account.objects.filter(account_number=account_number).first()
    if callid:
        call = Call.objects.filter(callid=callid).only("account_id", "agent_id").first()
        if call is None:
            raise errors.UnknownCall(callid)
        if (
            agent_pk is not None
            and call.agent_id != agent_pk
            and not permissions.may_read_any_contact(actor)
        ):
            raise errors.NotAllowed(f"Call {callid} is not handled by you.")
        if account is not None and call.account_id != account.pk:
            raise errors.CallAccountMismatch(
                f"Call {callid} is not on account {account_number}.",
                msg="This call belongs to another account.",
            )
    if account is None:
        raise errors.UnknownAccount(f"Unknown AccountNumber: {account_number}")
    if (
        agent_pk is not None
        and not callid
        and not Call.objects.filter(account=account, agent_id=agent_pk).exists()
        and not permissions.may_read_any_contact(actor)
    ):
        raise errors.NotAllowed(f"You have no call on account {account_number}.")
    live = (
        ContactMode.objects.filter(account=account, deleted_at=None)
        .select_related("mode_type")
        .order_by("mode_type_id")
    )
    return dialable_modes(account, list(live), now=now or timezone.now())


load_call_locking_account = _load_call_locking_account  # for lcm.actions.callbacks

__all__ = [
    "clean_for_mode",
    "contact_modes",
    "load_call_locking_account",
    "set_dnc",
    "set_new_mode_number",
]
